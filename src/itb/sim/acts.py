"""Emergency and clinic acts in a scenario's timeline (issues 16.4, 16.17, 16.9).

- `stop`, `resume`: the pump's own acts. After a long gap without drug the simulated
  clinic does not restart the old dose: the labeling's overdose section asks for special
  attention "during re-introduction of intrathecal baclofen after a period of interruption
  in therapy" (Lioresal Intrathecal labeling, Overdosage; devices.md lists the overdose
  signs), and tolerance fades without drug (docs/physiology.md). It restarts at
  RESTART_SHARE of the old daily dose and steps up by RETITRATE_STEP_PERCENT a day, the
  labeled titration step for spinal origin (10-30 % once every 24 h, devices.md), until
  the old dose is reached.
- `empty_reservoir`: the labeling's first overdose step, "residual intrathecal baclofen
  solution should be removed from the pump as soon as possible" (same section). It uses
  the pump's own refill act (withdraw all, add nothing).
- `access_port_bolus`: drug injected through the catheter access port goes straight into
  the CSF, for restoring intrathecal baclofen in withdrawal (the boxed warning's
  treatment; oral baclofen alone is unreliable, issue 16.17).
- `patient_call`: symptoms reported by phone; the summary triages them.

Sans-IO like the runner: these functions act on the run's pump and record events.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from itb.sim.programs import build_program, scaled_program
from itb.sim.scenario import (
    AccessPortBolusEvent,
    EmptyReservoirEvent,
    PatientCallEvent,
    ResumeEvent,
    StopEvent,
)
from itb.therapy.units import NL_PER_ML, display

if TYPE_CHECKING:
    from itb.sim.runner import _Run

ACT_EVENTS = (StopEvent, ResumeEvent, EmptyReservoirEvent, AccessPortBolusEvent,
              PatientCallEvent)
# A gap this long without drug makes the clinic re-titrate (*unconfirmed*: tolerance fades
# with the 7-day adaptation time constant of the patient model, so after 4 days over 40 %
# of it is gone).
RETITRATE_AFTER_S = 4 * 86_400
# Restart at half the old daily dose (*unconfirmed* clinic choice), then the labeled spinal
# step of 20 % (within 10-30 %, devices.md) once every 24 h.
RESTART_SHARE = Fraction(1, 2)
RETITRATE_STEP_PERCENT = Fraction(20)
DAY_S = 86_400


def handle(run: _Run, when: int, event: Any) -> None:
    """Carry out one act event (the pump may refuse: ItbError, reported by the caller)."""
    pump = run.pump
    assert pump is not None
    if isinstance(event, StopEvent):
        pump.stop()
        run.gap_since_s = when if run.gap_since_s is None else run.gap_since_s
        run.note(when, "clinic", "pump_stopped", "the pump runs at its minimum rate")
    elif isinstance(event, EmptyReservoirEvent):
        left_nl = pump.physical.reservoir_nl  # what the syringe draws out
        pump.refill(added_nl=0, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
        run.gap_since_s = when if run.gap_since_s is None else run.gap_since_s
        run.note(when, "clinic", "reservoir_emptied",
                 f"{display(Fraction(left_nl, NL_PER_ML))} mL withdrawn and discarded")
    elif isinstance(event, ResumeEvent):
        resume(run, when, event)
    elif isinstance(event, AccessPortBolusEvent):
        run.history.access_port.append((when, event.dose_mcg))
        run.program_changes_s.append(when)
        run.note(when, "clinic", "access_port_bolus",
                 f"{display(event.dose_mcg)} mcg injected through the catheter access port "
                 "into the CSF")
    elif isinstance(event, PatientCallEvent):
        run.calls.append((when, tuple(event.symptoms)))
        run.note(when, "patient", "patient_call", ", ".join(event.symptoms))


def resume(run: _Run, when: int, event: ResumeEvent) -> None:
    pump = run.pump
    assert pump is not None and run.built is not None
    gap = None if run.gap_since_s is None else when - run.gap_since_s
    retitrate = event.retitrate == "yes" or (
        event.retitrate == "auto" and gap is not None and gap >= RETITRATE_AFTER_S)
    run.gap_since_s = None
    conc = pump.concentration_mcg_per_ml
    target = run.built if event.program is None else build_program(
        event.program, pump.model, conc, when)
    if not retitrate:
        if event.program is None:
            pump.resume()
        else:
            pump.program(target.program)  # a new program also ends the stop
            run.built = target
            run.last_dose_change_s = when
            run.program_changes_s.append(when)
            run.plan(when)
        run.note(when, "clinic", "pump_resumed",
                 f"{display(target.daily_dose_mcg)} mcg/day at once")
        return
    start_spec = scaled_program(target.spec, (RESTART_SHARE - 1) * 100, conc)
    built = build_program(start_spec, pump.model, conc, when)
    pump.program(built.program)  # a new program also ends the stop
    run.retitrate_target = target
    run.built = built
    run.last_dose_change_s = when
    run.program_changes_s.append(when)
    days = "" if gap is None else f" after {display(Fraction(gap, DAY_S), 1)} days without drug"
    run.note(when, "clinic", "restart_retitrated",
             f"{display(built.daily_dose_mcg)} mcg/day{days}, stepping up "
             f"{display(RETITRATE_STEP_PERCENT)} % a day to {display(target.daily_dose_mcg)}")
    run.plan(when)
    run.push(when + DAY_S, 2, "retitrate_step", None)


def retitrate_step(run: _Run, when: int) -> None:
    """One daily step of the restart toward the old dose (rounded down by the firmware)."""
    pump = run.pump
    target = run.retitrate_target
    assert pump is not None and run.built is not None
    if target is None:
        return
    current = run.built.daily_dose_mcg
    conc = pump.concentration_mcg_per_ml
    step = min(RETITRATE_STEP_PERCENT, (target.daily_dose_mcg / current - 1) * 100)
    spec = target.spec if step < RETITRATE_STEP_PERCENT else scaled_program(
        run.built.spec, step, conc)
    built = build_program(spec, pump.model, conc, when)
    pump.program(built.program)
    run.built = built
    run.last_dose_change_s = when
    run.program_changes_s.append(when)
    run.note(when, "clinic", "program", f"{display(built.daily_dose_mcg)} mcg/day (restart "
             "titration step)")
    if built.daily_dose_mcg >= target.daily_dose_mcg:
        run.retitrate_target = None
        run.plan(when)
        return
    run.plan(when)
    run.push(when + DAY_S, 2, "retitrate_step", None)
