"""Faults from the scenario's timeline, put into the pump where the truth lives.

A fault happens in the physical layer (the catheter, the motor, the memory, the battery);
the firmware learns of it only through real signals (alarms, the residual at a refill,
the patient's symptoms). Each fault is recorded for the report with its detail.
"""

from __future__ import annotations

from fractions import Fraction

from itb.sim.agenda import StallEnds
from itb.sim.clinic import Clinic
from itb.sim.records import FaultRecord
from itb.sim.schema import FaultEvent
from itb.therapy.units import display


def inject(clinic: Clinic, when: int, event: FaultEvent, label: str) -> None:
    pump = clinic.pump
    detail = event.fault
    if event.fault == "catheter_occlusion":
        pump.faults.occlude_catheter(event.flow_fraction)
        detail += "" if event.flow_fraction == 0 else \
            f" (partial: {display(event.flow_fraction)} of each stroke passes)"
    elif event.fault == "catheter_disconnection":
        pump.faults.disconnect_catheter(Fraction(1))
    elif event.fault == "catheter_leak":
        assert event.leak_fraction is not None
        pump.faults.disconnect_catheter(event.leak_fraction)
        detail += f" ({display(event.leak_fraction)} of the outflow)"
    elif event.fault == "motor_stall":
        pump.faults.start_motor_stall(event.cause)
        detail += f" ({event.cause})"
        if event.duration_h is not None:
            clinic.agenda.schedule(when + int(event.duration_h * 3600), StallEnds(event.cause))
            detail += f" for {display(event.duration_h)} h"
    elif event.fault == "memory_error":
        # The stored program fails its check. The pump keeps two copies and recovers a
        # single flipped copy from the other (an established pump has both), so the
        # fault flips the same bit in the second copy too when the first is recovered.
        pump.faults.corrupt_memory()
        if pump.safe_state is None:
            active = pump.nvm.active()
            pump.faults.corrupt_memory(slot=active.slot if active else 0)
    elif event.fault == "low_battery_reset":
        pump.faults.inject_low_battery_reset()
    clinic.journal.faults.append(FaultRecord(when, event.fault, detail))
    clinic.note(when, "scenario", "fault", detail)


def stall_ends(clinic: Clinic, when: int, cause: str) -> None:
    """A timed motor stall ends (the MRI scan is over)."""
    clinic.pump.faults.clear_motor_stall()
    clinic.note(when, "scenario", "motor_stall_ends", cause)
