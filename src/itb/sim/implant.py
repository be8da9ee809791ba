"""Pumps coming into service: the implant, an established patient's pump history before the
scenario start, and a pump replacement.

An established patient's pump at the scenario's start already runs with drug at the
catheter tip (issue 16.7), and a pump implanted before the start has been refilled on the
planned dates, as a well-run clinic would have done. Both are simulated out of the record
(the journal is off), so the report covers the scenario's own span.
"""

from __future__ import annotations

from fractions import Fraction

from itb.errors import InvalidInput
from itb.pump import Pump
from itb.pump.catalogue import MODELS, PumpModel
from itb.pump.records import to_datetime
from itb.sim.clinic import Clinic, ml
from itb.sim.programs import build_program
from itb.sim.schema import ProgramSpec, ReplacePumpEvent
from itb.therapy.units import NL_PER_ML, display

# An established patient's pump is primed this long before the scenario starts (16.7).
PRIMED_BEFORE_S = 86_400


def _fill_nl(clinic: Clinic, model: PumpModel) -> int:
    """The implant's fill: the stated volume, or the reservoir's capacity."""
    fill_ml = clinic.spec.implant.fill_ml
    return model.reservoir_capacity_nl if fill_ml is None else int(fill_ml * NL_PER_ML)


def implant(clinic: Clinic, program_spec: ProgramSpec, at_s: int, *,
            model: PumpModel | None = None, seed: int | None = None,
            fill_nl: int | None = None, concentration: Fraction | None = None) -> None:
    """A new pump, filled, programmed and (by default) primed, goes into service."""
    spec, journal = clinic.spec, clinic.journal
    model = model or clinic.model
    conc = concentration or spec.implant.concentration_mcg_per_ml
    clinic.built = build_program(program_spec, model, conc, at_s)
    if fill_nl is None:
        fill_nl = _fill_nl(clinic, model)
    alarm = None if spec.pump.low_reservoir_alarm_ml is None else int(
        spec.pump.low_reservoir_alarm_ml * NL_PER_ML)
    clinic.pump_count += 1
    serial = spec.pump.serial if clinic.pump_count == 1 else \
        f"{spec.pump.serial}-{clinic.pump_count}"
    pump = Pump.implant(
        model, serial=serial, at=to_datetime(at_s), fill_nl=fill_nl,
        concentration_mcg_per_ml=conc, program=clinic.built.program,
        seed=spec.pump.seed if seed is None else seed,
        catheter_volume_nl=int(spec.implant.catheter_volume_ml * NL_PER_ML),
        low_reservoir_alarm_nl=alarm)
    clinic.recorder.attach(pump)
    if spec.implant.prime:
        pump.prime()
    journal.implant_times_s.append(at_s)
    journal.program_changes_s.append(at_s)
    clinic.last_dose_change_s = at_s
    journal.refill_times_s.append(at_s)
    clinic.note(at_s, "clinic", "pump_implanted",
                f"{model.name}, {display(ml(fill_nl))} mL at {display(conc)} mcg/mL, "
                f"{display(clinic.built.daily_dose_mcg)} mcg/day")
    clinic.recorder.collect_log()
    clinic.plan(at_s)


def implant_primed(clinic: Clinic, program_spec: ProgramSpec, at_s: int) -> None:
    """An established patient's pump: implanted and primed a day before the start, out of
    the record, and refilled to the implant's fill at the start, so the patient's delivery
    does not stop while saline is pushed out of a new catheter."""
    journal = clinic.journal
    journal.recording = False
    implant(clinic, program_spec, at_s - PRIMED_BEFORE_S)
    pump = clinic.pump
    clinic.recorder.advance(at_s)
    fill_nl = _fill_nl(clinic, pump.model)
    pump.refill(added_nl=fill_nl, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
    clinic.recorder.collect_log()
    clinic.agenda.clear()
    journal.plans.clear()
    journal.recording = True
    for times in (journal.implant_times_s, journal.program_changes_s, journal.refill_times_s):
        times[-1] = at_s
    clinic.last_dose_change_s = at_s
    clinic.note(at_s, "clinic", "pump_implanted",
                f"{pump.model.name}, {display(ml(fill_nl))} mL at "
                f"{display(pump.concentration_mcg_per_ml)} mcg/mL, "
                f"{display(clinic.program.daily_dose_mcg)} mcg/day (established patient: "
                "catheter already primed with drug)")
    clinic.plan(at_s)


def pre_history(clinic: Clinic, start_s: int) -> None:
    """The pump ran before the scenario start (an established patient): refills on the
    planned dates, to the implant fill, as a well-run clinic would have done."""
    journal = clinic.journal
    journal.recording = False
    pump = clinic.pump
    fill_nl = _fill_nl(clinic, pump.model)
    while True:
        plan = clinic.plan(pump.now_s)
        clinic.agenda.clear()
        if plan is None:
            break
        due = max(int(plan.refill_by.timestamp()), pump.now_s + 1)
        if due >= start_s:
            break
        clinic.recorder.advance(due)
        if pump.end_of_service:
            break  # a battery that ran out early (high flow): reported below
        pump.refill(added_nl=fill_nl, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
        journal.refill_times_s.append(due)
    clinic.recorder.advance(start_s)
    if pump.end_of_service:
        raise InvalidInput("implant.date", to_datetime(clinic.scenario.implant_s).isoformat(),
                           "a pump still in service at scenario.start (this one reached end "
                           "of service before it at this program's flow)")
    clinic.recorder.collect_log()
    clinic.agenda.clear()
    journal.recording = True
    clinic.plan(start_s)  # the plan in force at the start (and the next planned refill)


def replace(clinic: Clinic, when: int, event: ReplacePumpEvent, label: str) -> None:
    """The old pump is explanted with its remaining drug; a new one goes into service with
    the program in force."""
    old = clinic.pump
    recorder = clinic.recorder
    recorder.collect_log()
    recorder.close_alarms(when)
    recorder.anchor()
    model = MODELS[event.model] if event.model else old.model
    conc = event.concentration_mcg_per_ml or old.concentration_mcg_per_ml
    fill_nl = model.reservoir_capacity_nl if event.fill_ml is None else int(
        event.fill_ml * NL_PER_ML)
    clinic.note(when, "clinic", "pump_explanted",
                f"{old.serial}: {display(ml(old.physical.reservoir_nl))} mL left, battery "
                f"{old.status().battery_state}")
    implant(clinic, clinic.program.spec, when, model=model,
            seed=(event.seed if event.seed is not None else clinic.spec.pump.seed + 1),
            fill_nl=fill_nl, concentration=conc)
    recorder.anchor()
