"""The checks across a scenario's tables, made before anything runs.

Each table was validated alone (`itb.sim.schema`); here the tables are checked against
each other: a fill must fit the chosen pump, the implant date must suit the patient
(new or established), the timeline must fall within the scenario, the patient's
parameters must be within the model's ranges, and every program must fit the pump at the
concentration in force and follow the labeled titration steps. The last two build the
patient and the programs (`itb.sim.patients`, `itb.sim.programs`) to check them: that is
why these checks live apart from the schema.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.pump.catalogue import MODELS, PumpModel
from itb.pump.records import to_datetime
from itb.sim.patients import build_patient, parameter_key
from itb.sim.programs import BuiltProgram, build_program, check_dose_change, scaled_program
from itb.sim.scenario import Loc, Problems, Scenario, seconds
from itb.sim.schema import (
    ProgramEvent,
    RefillEvent,
    ReplacePumpEvent,
    ScenarioFile,
    TitrateEvent,
)
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY


def resolve(spec: ScenarioFile, source: str, lines: dict[Loc, int]) -> Scenario:
    """Cross-section checks that need more than one table; absolute event times."""
    problems = Problems(source, lines)
    start_s = seconds(spec.scenario.start)
    end_s = start_s + int(spec.scenario.duration_days * SECONDS_PER_DAY)
    implant_s = seconds(spec.implant.date)
    model = MODELS[spec.pump.model]
    _check_pump(spec, model, problems)
    _check_implant(spec, model, start_s, end_s, implant_s, problems)
    _check_screening(spec, start_s, implant_s, problems)
    auto = spec.auto_refill
    if auto is not None and auto.fill_ml is not None and \
            not 0 < auto.fill_ml * NL_PER_ML <= model.reservoir_capacity_nl:
        problems.add(("auto_refill", "fill_ml"),
                     f"must be more than 0 to {model.reservoir_capacity_nl // NL_PER_ML} mL")
    events = _timed_events(spec, model, start_s, end_s, implant_s, problems)
    parameters = None
    try:
        parameters = build_patient(spec.patient)
    except InvalidInput as error:
        problems.add(parameter_key(error.field), str(error))
    problems.raise_any()
    events.sort(key=lambda item: (item[0], item[1]))
    scenario = Scenario(source, spec, start_s, end_s, implant_s, tuple(events), parameters)
    check_programs(scenario, lines)
    return scenario


def _fill_nl(spec: ScenarioFile, model: PumpModel) -> Fraction:
    return model.reservoir_capacity_nl if spec.implant.fill_ml is None else \
        spec.implant.fill_ml * NL_PER_ML


def _check_pump(spec: ScenarioFile, model: PumpModel, problems: Problems) -> None:
    """The implant's fill and the low-reservoir alarm fit the chosen pump."""
    if spec.implant.fill_ml is not None:
        if not 0 <= spec.implant.fill_ml * NL_PER_ML <= model.reservoir_capacity_nl:
            problems.add(("implant", "fill_ml"),
                         f"must be 0 to the {model.name} reservoir's "
                         f"{model.reservoir_capacity_nl // NL_PER_ML} mL")
        elif (spec.implant.fill_ml * NL_PER_ML).denominator != 1:
            problems.add(("implant", "fill_ml"), "must be in whole nanolitres")
    if spec.pump.low_reservoir_alarm_ml is not None:
        alarm_nl = spec.pump.low_reservoir_alarm_ml * NL_PER_ML
        if not model.low_reservoir_alarm_min_nl <= alarm_nl <= model.low_reservoir_alarm_max_nl:
            problems.add(("pump", "low_reservoir_alarm_ml"),
                         f"must be {Fraction(model.low_reservoir_alarm_min_nl, NL_PER_ML)} to "
                         f"{Fraction(model.low_reservoir_alarm_max_nl, NL_PER_ML)} mL for "
                         f"{model.name}")


def _check_implant(spec: ScenarioFile, model: PumpModel, start_s: int, end_s: int,
                   implant_s: int, problems: Problems) -> None:
    """The implant date and fill suit the patient: new (implanted during the scenario) or
    established (implanted before, with a pump history to simulate)."""
    if implant_s > end_s:
        problems.add(("implant", "date"), "must be no later than the scenario's end")
    fill_nl = _fill_nl(spec, model)
    if fill_nl <= 0:
        problems.add(("implant", "fill_ml"), "must be more than 0 mL: the pump is filled at "
                     "implant (the priming bolus needs drug)")
    if implant_s < start_s:
        alarm = model.low_reservoir_alarm_default_nl if spec.pump.low_reservoir_alarm_ml is None \
            else spec.pump.low_reservoir_alarm_ml * NL_PER_ML
        if implant_s < start_s - model.automatic_shutoff_s:
            problems.add(("implant", "date"), "a pump implanted before scenario.start must "
                         f"still be in service at the start: at most "
                         f"{model.automatic_shutoff_s // 86_400} days (its automatic shut-off, "
                         "devices.md: 7 years) before it")
        if fill_nl <= alarm:
            problems.add(("implant", "fill_ml"), "a pump history is refilled on the planned "
                         "dates to this volume, so it must be more than the low-reservoir "
                         "alarm volume")
    if spec.patient.days_on_therapy is not None:
        if spec.screening is not None:
            problems.add(("screening",), "an established patient (patient.days_on_therapy) "
                         "has no screening trial: drop one of them")
        if spec.program is None:
            problems.add(("program",), "an established patient needs the [program] in force")
        if implant_s > start_s:
            problems.add(("implant", "date"), "for an established patient the pump is "
                         "implanted at or before scenario.start (a pump history before the "
                         "start is simulated)")
    else:
        if implant_s < start_s:
            problems.add(("implant", "date"), "must be at or after scenario.start for a new "
                         "patient (or give patient.days_on_therapy for an established one)")
        if spec.program is None and spec.screening is None:
            problems.add(("program",), "give a [program], or a [screening] trial whose "
                         "initial dose starts the pump")


def _check_screening(spec: ScenarioFile, start_s: int, implant_s: int,
                     problems: Problems) -> None:
    if spec.screening is None:
        return
    first = seconds(spec.screening.start)
    if first < start_s:
        problems.add(("screening", "start"), "must be at or after scenario.start")
    doses = spec.screening.doses_mcg
    count = len(doses) if doses is not None else 3
    # Each escalation comes 24 h after the previous bolus (label).
    last_end = first + (count - 1) * 86_400 + int(spec.screening.observe_h * 3600)
    if doses is not None and last_end > implant_s:
        problems.add(("screening", "doses_mcg"), "the trial must end (24 h between boluses, "
                     "then the observation) before implant.date")
    if first >= implant_s:
        problems.add(("screening", "start"), "must be before implant.date")


def _timed_events(spec: ScenarioFile, model: PumpModel, start_s: int, end_s: int,
                  implant_s: int, problems: Problems) -> list[tuple[int, int, Any]]:
    """Each timeline entry at its absolute time (UTC seconds), with its index in the file."""
    events: list[tuple[int, int, Any]] = []
    for index, event in enumerate(spec.timeline):
        if event.day is not None:
            when = start_s + int(event.day * SECONDS_PER_DAY)
        else:
            assert event.at is not None
            when = seconds(event.at)
        key = ("timeline", index, "day" if event.day is not None else "at")
        if not start_s <= when <= end_s:
            problems.add(key, f"must fall within the scenario ({spec.scenario.start.isoformat()}"
                         f" to {to_datetime(end_s).isoformat()})")
        if when < implant_s:
            problems.add(key, "must be at or after implant.date (the pump acts need the pump)")
        if isinstance(event, ReplacePumpEvent):
            _check_replacement(spec, event, index, problems)
        if isinstance(event, RefillEvent):
            _check_refill(event, model, index, problems)
        events.append((when, index, event))
    return events


def _check_replacement(spec: ScenarioFile, event: ReplacePumpEvent, index: int,
                       problems: Problems) -> None:
    new_model = MODELS[event.model or spec.pump.model]
    if event.fill_ml is not None and event.fill_ml == 0:
        problems.add(("timeline", index, "fill_ml"), "must be more than 0 mL: the new pump "
                     "is filled and primed")
    if event.fill_ml is not None and event.fill_ml * NL_PER_ML > new_model.reservoir_capacity_nl:
        problems.add(("timeline", index, "fill_ml"),
                     f"must be at most the {new_model.reservoir_capacity_nl // NL_PER_ML} mL "
                     f"reservoir of {new_model.name}")
    if event.concentration_mcg_per_ml is not None and \
            not 0 < event.concentration_mcg_per_ml <= 100_000:
        problems.add(("timeline", index, "concentration_mcg_per_ml"),
                     "must be more than 0 and at most 100000 mcg/mL")


def _check_refill(event: RefillEvent, model: PumpModel, index: int, problems: Problems) -> None:
    if event.fill_ml is not None and event.fill_ml * NL_PER_ML > model.reservoir_capacity_nl:
        problems.add(("timeline", index, "fill_ml"),
                     f"must be at most the {model.reservoir_capacity_nl // NL_PER_ML} mL "
                     "reservoir")
    if event.pocket_fill_ml is not None and event.fill_ml is not None and \
            event.pocket_fill_ml > event.fill_ml:
        problems.add(("timeline", index, "pocket_fill_ml"), "must be at most fill_ml")


def check_programs(scenario: Scenario, lines: dict[Loc, int]) -> None:
    """Every program must fit the pump at the concentration in force when it is entered, and
    every dose change must follow the labeled titration steps (itb.therapy), unless waived."""
    problems = Problems(scenario.source, lines)
    spec = scenario.spec
    model = MODELS[spec.pump.model]
    conc = spec.implant.concentration_mcg_per_ml
    program = None
    if spec.program is not None:
        try:
            program = build_program(spec.program, model, conc, scenario.implant_s)
        except InvalidInput as error:
            problems.add(("program",), str(error), key="program")
    last_change_s = scenario.implant_s
    for when, index, event in scenario.events:
        if isinstance(event, RefillEvent) and event.error != "missed" and \
                event.concentration_mcg_per_ml is not None:
            conc = event.concentration_mcg_per_ml
            if program is not None:
                try:
                    build_program(program.spec, model, conc, program.entered_s)
                except InvalidInput as error:
                    problems.add(("timeline", index, "concentration_mcg_per_ml"),
                                 f"the program in force does not fit the new concentration: "
                                 f"{error}", key=f"timeline[{index}]")
        elif isinstance(event, ReplacePumpEvent) and event.concentration_mcg_per_ml is not None:
            conc = event.concentration_mcg_per_ml
        elif isinstance(event, ProgramEvent | TitrateEvent):
            if isinstance(event, TitrateEvent) and program is None:
                continue  # the dose before it comes from the screening trial: checked at run
            new = _check_program_change(spec, model, conc, program, last_change_s, when,
                                        index, event, problems)
            if new is not None:
                program = new
                last_change_s = when
    problems.raise_any()


def _check_program_change(spec: ScenarioFile, model: PumpModel, conc: Fraction,
                          program: BuiltProgram | None, last_change_s: int, when: int,
                          index: int, event: ProgramEvent | TitrateEvent,
                          problems: Problems) -> BuiltProgram | None:
    """The program a timeline entry enters, if it fits the pump (its titration checked too:
    a change that breaks the steps is reported and still becomes the program in force)."""
    loc = ("timeline", index, "program" if isinstance(event, ProgramEvent) else "percent")
    try:
        new_spec = event.program if isinstance(event, ProgramEvent) else \
            scaled_program(program.spec, event.percent, conc)  # type: ignore[union-attr]
        new = build_program(new_spec, model, conc, when)
    except InvalidInput as error:
        problems.add(loc, str(error))
        return None
    if program is not None and event.titration_check:
        try:
            check_dose_change(program.daily_dose_mcg, new.daily_dose_mcg, spec.patient,
                              event.phase, last_change_s, when, event.override_reason)
        except InvalidInput as error:
            problems.add(loc, f"the dose change breaks the titration rules: {error} "
                         "(set titration_check = false to simulate it anyway)")
    return new
