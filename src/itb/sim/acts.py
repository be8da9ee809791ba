"""The clinic's acts in a scenario's timeline, one function per kind of entry (issues
16.4, 16.17, 16.9); refills are `itb.sim.refill_visit`, programs `Clinic.reprogram`.

- `bolus`, `catheter_revision`, `acknowledge_alarms`: the pump's own acts.
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
  treatment; oral baclofen alone is unreliable, issue 16.17). The catheter's dead volume
  (the implant record's catheter volume) is aspirated and discarded first (issue 16.16),
  as the programmer's `emergency cap-bolus` says, so the pump's drug in the catheter is
  not pushed in as an unplanned bolus; CSF fills the catheter in its place, and the next
  refill of an emptied pump primes it out (`refill_visit`).
- `patient_call`: symptoms reported by phone; the summary triages them.

Sans-IO like the runner: each function takes the clinic, the time and the entry (and the
entry's label for messages), acts on the pump and records events; the pump may refuse
(`ItbError`, reported by the runner).
"""

from __future__ import annotations

from fractions import Fraction

from itb.sim.agenda import RetitrateStep
from itb.sim.clinic import Clinic
from itb.sim.programs import BuiltProgram, build_program, scaled_program
from itb.sim.schema import (
    AccessPortBolusEvent,
    AcknowledgeEvent,
    BolusEvent,
    CatheterRevisionEvent,
    EmptyReservoirEvent,
    PatientCallEvent,
    ProgramEvent,
    ResumeEvent,
    StopEvent,
    TitrateEvent,
)
from itb.therapy.units import NL_PER_ML, display

# A gap this long without drug makes the clinic re-titrate (*unconfirmed*: tolerance fades
# with the 7-day adaptation time constant of the patient model, so after 4 days over 40 %
# of it is gone).
RETITRATE_AFTER_S = 4 * 86_400
# Restart at half the old daily dose (*unconfirmed* clinic choice), then the labeled spinal
# step of 20 % (within 10-30 %, devices.md) once every 24 h.
RESTART_SHARE = Fraction(1, 2)
RETITRATE_STEP_PERCENT = Fraction(20)
DAY_S = 86_400


def reprogram(clinic: Clinic, when: int, event: ProgramEvent | TitrateEvent, label: str) -> None:
    clinic.reprogram(when, event)


def bolus(clinic: Clinic, when: int, event: BolusEvent, label: str) -> None:
    clinic.pump.give_bolus(event.dose_mcg, event.duration_min * 60)
    clinic.journal.program_changes_s.append(when)
    clinic.note(when, "clinic", "bolus",
                f"{display(event.dose_mcg)} mcg over {event.duration_min} min")


def revise_catheter(clinic: Clinic, when: int, event: CatheterRevisionEvent,
                    label: str) -> None:
    volume_ml = event.catheter_volume_ml or clinic.spec.implant.catheter_volume_ml
    clinic.pump.revise_catheter(int(volume_ml * NL_PER_ML))
    # Prime the new catheter's volume only: the pump tubing still holds drug, and priming
    # it too would push it out as an unintended bolus.
    clinic.pump.prime(int(volume_ml * NL_PER_ML))
    clinic.note(when, "clinic", "catheter_revision",
                f"new catheter {display(volume_ml)} mL, primed")


def acknowledge(clinic: Clinic, when: int, event: AcknowledgeEvent, label: str) -> None:
    count = clinic.pump.acknowledge_alarm()
    clinic.note(when, "clinic", "alarms_acknowledged", f"{count} silenced")


def stop(clinic: Clinic, when: int, event: StopEvent, label: str) -> None:
    clinic.pump.stop()
    clinic.gap_since_s = when if clinic.gap_since_s is None else clinic.gap_since_s
    clinic.note(when, "clinic", "pump_stopped", "the pump runs at its minimum rate")


def empty_reservoir(clinic: Clinic, when: int, event: EmptyReservoirEvent, label: str) -> None:
    pump = clinic.pump
    left_nl = pump.physical.reservoir_nl  # what the syringe draws out
    pump.refill(added_nl=0, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
    clinic.gap_since_s = when if clinic.gap_since_s is None else clinic.gap_since_s
    clinic.note(when, "clinic", "reservoir_emptied",
                f"{display(Fraction(left_nl, NL_PER_ML))} mL withdrawn and discarded")


def access_port_bolus(clinic: Clinic, when: int, event: AccessPortBolusEvent,
                      label: str) -> None:
    history = clinic.recorder.history
    drawn_nl, drawn_mcg = clinic.pump.physical.aspirate_catheter(
        clinic.pump.catheter_volume_nl)
    history.aspirated.append((when, drawn_nl, drawn_mcg))
    clinic.catheter_aspirated_nl += drawn_nl
    clinic.note(when, "clinic", "catheter_aspirated",
                f"{display(Fraction(drawn_nl, NL_PER_ML))} mL (the catheter's dead volume, "
                f"{display(drawn_mcg)} mcg of the pump's drug) aspirated and discarded "
                "before the injection")
    history.access_port.append((when, event.dose_mcg))
    clinic.journal.program_changes_s.append(when)
    clinic.note(when, "clinic", "access_port_bolus",
                f"{display(event.dose_mcg)} mcg injected through the catheter access port "
                "into the CSF")


def patient_call(clinic: Clinic, when: int, event: PatientCallEvent, label: str) -> None:
    clinic.journal.calls.append((when, tuple(event.symptoms)))
    clinic.note(when, "patient", "patient_call", ", ".join(event.symptoms))


def resume(clinic: Clinic, when: int, event: ResumeEvent, label: str) -> None:
    pump = clinic.pump
    gap = None if clinic.gap_since_s is None else when - clinic.gap_since_s
    retitrate = event.retitrate == "yes" or (
        event.retitrate == "auto" and gap is not None and gap >= RETITRATE_AFTER_S)
    clinic.gap_since_s = None
    conc = pump.concentration_mcg_per_ml
    target = clinic.program if event.program is None else build_program(
        event.program, pump.model, conc, when)
    if not retitrate:
        if event.program is None:
            pump.resume()
        else:
            _enter(clinic, when, target)  # a new program also ends the stop
            clinic.plan(when)
        clinic.note(when, "clinic", "pump_resumed",
                    f"{display(target.daily_dose_mcg)} mcg/day at once")
        return
    start_spec = scaled_program(target.spec, (RESTART_SHARE - 1) * 100, conc)
    built = build_program(start_spec, pump.model, conc, when)
    _enter(clinic, when, built)  # a new program also ends the stop
    clinic.retitrate_target = target
    days = "" if gap is None else f" after {display(Fraction(gap, DAY_S), 1)} days without drug"
    clinic.note(when, "clinic", "restart_retitrated",
                f"{display(built.daily_dose_mcg)} mcg/day{days}, stepping up "
                f"{display(RETITRATE_STEP_PERCENT)} % a day to {display(target.daily_dose_mcg)}")
    clinic.plan(when)
    clinic.agenda.schedule(when + DAY_S, RetitrateStep())


def retitrate_step(clinic: Clinic, when: int) -> None:
    """One daily step of the restart toward the old dose (rounded down by the firmware)."""
    target = clinic.retitrate_target
    if target is None:
        return
    current = clinic.program
    conc = clinic.pump.concentration_mcg_per_ml
    step = min(RETITRATE_STEP_PERCENT, (target.daily_dose_mcg / current.daily_dose_mcg - 1) * 100)
    spec = target.spec if step < RETITRATE_STEP_PERCENT else scaled_program(
        current.spec, step, conc)
    built = build_program(spec, clinic.pump.model, conc, when)
    _enter(clinic, when, built)
    clinic.note(when, "clinic", "program", f"{display(built.daily_dose_mcg)} mcg/day (restart "
                "titration step)")
    if built.daily_dose_mcg >= target.daily_dose_mcg:
        clinic.retitrate_target = None
        clinic.plan(when)
        return
    clinic.plan(when)
    clinic.agenda.schedule(when + DAY_S, RetitrateStep())


def _enter(clinic: Clinic, when: int, built: BuiltProgram) -> None:
    """A restart's program: sent, and counted as a dose change whatever its dose."""
    clinic.enter(when, built)
    clinic.last_dose_change_s = when
