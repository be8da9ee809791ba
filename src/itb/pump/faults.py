"""Fault injection: the physical pump's failures, and what the firmware's sensors see of them.

A fault changes the truth (`physical.PhysicalPump`, the non-volatile memory's bits, the
power supply) and, where the pump has a sensor for it, the firmware hears of it through
that sensor only: the motor's stall detector, the memory's self-test, a power-on reset. An
occlusion or a disconnection has no sensor: the firmware goes on believing its stroke
count until a refill's syringe reading shows the difference.

Use it as `pump.faults.occlude_catheter(...)`; the simulator and the tests are its callers.
"""

from __future__ import annotations

from fractions import Fraction

from itb.errors import InvalidInput
from itb.pump.acts import ClinicalActs

STALL_CAUSES = ("mri", "mechanical", "corrosion")


class Faults:
    """The failures one can inject into one pump."""

    def __init__(self, pump: ClinicalActs) -> None:
        self._pump = pump

    def occlude_catheter(self, flow_fraction: Fraction = Fraction(0)) -> None:
        """Occlude the catheter: `flow_fraction` of each stroke still gets through (0 = full)."""
        if not isinstance(flow_fraction, Fraction) or not 0 <= flow_fraction < 1:
            raise InvalidInput("flow_fraction", flow_fraction, "0 (full) to less than 1 (partial)")
        self._pump.physical.occlude_catheter(flow_fraction)
        self._pump._sense_physical_change()

    def disconnect_catheter(self, leak_fraction: Fraction = Fraction(1)) -> None:
        """Disconnect (1) or fracture (<1) the catheter: that share of the outflow leaks."""
        if not isinstance(leak_fraction, Fraction) or not 0 < leak_fraction <= 1:
            raise InvalidInput("leak_fraction", leak_fraction, "more than 0 to 1")
        self._pump.physical.disconnect_catheter(leak_fraction)
        self._pump._sense_physical_change()

    def start_motor_stall(self, cause: str = "mechanical") -> None:
        """Stall the motor ("mri", "mechanical", "corrosion"): delivery stops, alarm."""
        if cause not in STALL_CAUSES:
            raise InvalidInput("cause", cause, "mri, mechanical or corrosion")
        self._pump._sense_motor_stall(cause)

    def clear_motor_stall(self) -> None:
        """The stall clears (e.g. out of the MRI field): the motor turns, the alarm clears."""
        self._pump._sense_motor_turning()

    def corrupt_memory(self, slot: int | None = None, bit: int = 0) -> None:
        """Flip a stored bit (default: in the active slot); the self-test runs at once."""
        nvm = self._pump.nvm
        active = nvm.active()
        target = (active.slot if active else 0) if slot is None else slot
        if target not in (0, 1):
            raise InvalidInput("slot", slot, "0 or 1")
        if isinstance(bit, bool) or not isinstance(bit, int) or bit < 0:
            raise InvalidInput("bit", bit, "a bit position ≥ 0")
        nvm.flip_bit(target, bit)
        self._pump.memory_self_test()

    def inject_low_battery_reset(self) -> None:
        """A low battery reset (devices.md: battery fault pre-2011): flow drops to minimum rate."""
        self._pump._sense_low_battery_reset()

    def overinfuse(self, excess_ppm: int) -> None:
        """The pump starts to deliver more than it counts, or more than before: its true
        stroke grows by `excess_ppm` parts per million of nominal (ECRI 2014: overinfusion,
        whose rate can keep rising once it starts). The firmware has no sensor for it; only
        a residual below its estimate at a refill, or the patient, shows it."""
        if isinstance(excess_ppm, bool) or not isinstance(excess_ppm, int) or \
                not 0 < excess_ppm <= 3_000_000:
            raise InvalidInput("excess_ppm", excess_ppm, "a whole number from 1 to 3000000")
        physical = self._pump.physical
        physical.calibration_ppm += excess_ppm
        physical.stroke_nl = physical.true_stroke_nl_at(self._pump.now_s)
        self._pump._sense_physical_change()
