"""Ledger checks shared by the pump tests."""

from __future__ import annotations

from fractions import Fraction

from itb.pump import Pump


def assert_conserved(pump: Pump, initial_dead_volume_nl: int) -> None:
    """Exact conservation in both layers (integer nL; exact mcg in the physical layer)."""
    phys = pump.physical
    assert phys.reservoir_nl >= 0 and all(v > 0 for v, _c in phys.fifo)
    assert phys.filled_nl + initial_dead_volume_nl == (
        phys.csf_nl + phys.leak_nl + phys.withdrawn_nl + phys.pocket_nl
        + phys.reservoir_nl + phys.dead_volume_nl)
    assert phys.filled_mcg == (phys.csf_mcg + phys.leak_mcg + phys.withdrawn_mcg
                               + phys.pocket_mcg + phys.reservoir_mcg + phys.fifo_mcg)
    # Firmware: what it was told it received = what it counted out + withdrawn + its estimate.
    assert pump.fw_filled_nl == pump.commanded_nl + pump.fw_withdrawn_nl \
        + pump.reservoir_estimate_nl


def ideal_schedule_nl(pump: Pump, from_s: int, to_s: int) -> Fraction:
    assert pump.schedule is not None
    return Fraction(pump.schedule.volume_ideal_units(from_s + pump.clock_error_s,
                                                     to_s + pump.clock_error_s), 86_400)
