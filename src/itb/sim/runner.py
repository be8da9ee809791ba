"""Run a scenario: the real pump (`itb.pump`), the therapy rules (`itb.therapy`) and the
patient (`itb.physiology`), event by event.

A run is composed of parts handed in, as simglucose's environment is: the pump in
service (`PumpRecorder`), the patient (`PatientFeed`), the clinic (`Clinic`: refill plans,
programs, the response check) and the agenda (`Agenda`, a heap of typed events). Each
event on the agenda has one handler, looked up by its type; a timeline entry's handler
is looked up by the entry's type in turn (`ENTRY_HANDLERS`). Between events the pump
moves with `Pump.advance`, which is event-driven and returns the drug that truly reached
the CSF (or leaked, or went into the pocket) as piecewise-constant segments. The clinic's
acts go through the therapy rules: every refill is planned with `plan_refill` and checked
with `check_refill` (the residual-volume comparison that can reveal a silent catheter
fault), titrations with `check_titration`, screening with `evaluate_trial`. The patient
then takes the whole delivery history in one vectorised closed-form pass.

Sans-IO: no files, no clock, no printing. Progress is reported through a callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from itb.errors import ItbError
from itb.physiology import Patient, PatientParameters, PatientTrace
from itb.pump.catalogue import MODELS
from itb.sim import acts, faults, implant, refill_visit, schema
from itb.sim.agenda import Agenda, PlannedRefill, RetitrateStep, StallEnds, TimelineAct
from itb.sim.clinic import Clinic
from itb.sim.patient_feed import SAMPLE_S, PatientFeed, exact_mcg
from itb.sim.programs import build_program
from itb.sim.recorder import PumpRecorder
from itb.sim.records import (
    AlarmSpan,
    FaultRecord,
    Journal,
    PumpHistory,
    RefillRecord,
    SimEvent,
)
from itb.sim.scenario import Scenario
from itb.sim.screening import ScreeningOutcome, run_screening
from itb.therapy.refill import RefillPlan
from itb.therapy.units import display

Progress = Callable[[float, str], None]
EntryHandler = Callable[[Clinic, int, Any, str], None]

# One handler per kind of timeline entry: (clinic, time, entry, label for messages).
ENTRY_HANDLERS: dict[type, EntryHandler] = {
    schema.ProgramEvent: acts.reprogram,
    schema.TitrateEvent: acts.reprogram,
    schema.RefillEvent: refill_visit.refill,
    schema.BolusEvent: acts.bolus,
    schema.FaultEvent: faults.inject,
    schema.CatheterRevisionEvent: acts.revise_catheter,
    schema.ReplacePumpEvent: implant.replace,
    schema.AcknowledgeEvent: acts.acknowledge,
    schema.StopEvent: acts.stop,
    schema.ResumeEvent: acts.resume,
    schema.EmptyReservoirEvent: acts.empty_reservoir,
    schema.AccessPortBolusEvent: acts.access_port_bolus,
    schema.PatientCallEvent: acts.patient_call,
}


def _on_timeline_act(clinic: Clinic, when: int, event: TimelineAct) -> None:
    label = f"timeline[{event.index}]"
    try:
        ENTRY_HANDLERS[type(event.entry)](clinic, when, event.entry, label)
    except ItbError as error:
        # The pump or a rule refused the act at run time: that is an outcome to report.
        clinic.note(when, "scenario", "refused", f"{label}: {error}")


def _on_planned_refill(clinic: Clinic, when: int, event: PlannedRefill) -> None:
    if event.generation != clinic.auto_generation:
        return  # an explicit refill since then made a new plan
    try:
        refill_visit.planned_refill(clinic, when)
    except ItbError as error:  # e.g. after end of service: reported, no new plan
        clinic.note(when, "scenario", "refused", f"planned refill: {error}")


def _on_retitrate_step(clinic: Clinic, when: int, event: RetitrateStep) -> None:
    try:
        acts.retitrate_step(clinic, when)
    except ItbError as error:
        clinic.note(when, "scenario", "refused", f"restart titration step: {error}")


def _on_stall_ends(clinic: Clinic, when: int, event: StallEnds) -> None:
    try:
        faults.stall_ends(clinic, when, event.cause)
    except ItbError as error:
        clinic.note(when, "scenario", "refused", str(error))


# One handler per kind of event on the agenda.
HANDLERS: dict[type, Callable[[Clinic, int, Any], None]] = {
    TimelineAct: _on_timeline_act,
    PlannedRefill: _on_planned_refill,
    RetitrateStep: _on_retitrate_step,
    StallEnds: _on_stall_ends,
}


@dataclass
class SimulationResult:
    """What a run produced; `itb.sim.timeline` and `itb.sim.summary` read it."""

    scenario: Scenario
    parameters: PatientParameters
    screening: ScreeningOutcome | None
    implanted: bool
    traces: list[PatientTrace]
    history: PumpHistory
    events: list[SimEvent]
    alarms: list[AlarmSpan]
    refills: list[RefillRecord]
    faults: list[FaultRecord]
    plans: list[tuple[int, RefillPlan]]
    program_changes_s: list[int]
    refill_times_s: list[int]
    implant_times_s: list[int]
    final_status: dict[str, Any] | None
    calls: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class Simulation:
    """One run, composed of its parts; `run` drives them from the start to the end."""

    scenario: Scenario
    journal: Journal
    pump: PumpRecorder
    patient: PatientFeed
    clinic: Clinic
    agenda: Agenda
    progress: Progress | None = None

    def run(self) -> SimulationResult:
        scenario, spec = self.scenario, self.scenario.spec
        self.journal.recording = True
        program_spec = spec.program
        screening = None
        if spec.screening is not None:
            screening = self._screening()
            if not screening.candidate:
                return self._without_implant(screening)
            if program_spec is None:
                dose = screening.initial_daily_dose_mcg
                assert dose is not None
                program_spec = schema.ProgramSpec(type="simple", daily_dose_mcg=dose)
        assert program_spec is not None
        if scenario.established and scenario.implant_s >= scenario.start_s and \
                spec.implant.prime:
            implant.implant_primed(self.clinic, program_spec, scenario.implant_s)
        else:
            implant.implant(self.clinic, program_spec, scenario.implant_s)
        if scenario.implant_s < scenario.start_s:
            implant.pre_history(self.clinic, scenario.start_s)
        self.journal.recording = True
        self.pump.anchor()
        for when, index, entry in scenario.events:
            self.agenda.schedule(when, TimelineAct(index, entry))
        self._until(scenario.end_s)
        self.pump.close_alarms(None)  # still raised at the end of the run
        if self.progress is not None:
            self.progress(0.7, "patient")
        self.patient.traces.append(self.patient.feed(self.pump.history, scenario.end_s))
        return self._result(screening, True)

    def _until(self, end_s: int) -> None:
        """Take the events due by `end_s` in order, each to its handler, then move the pump
        to the end."""
        agenda, pump, clinic = self.agenda, self.pump, self.clinic
        while agenda.due_by(end_s):
            when, event = agenda.pop()
            pump.advance(when)
            HANDLERS[type(event)](clinic, when, event)
            pump.collect_log()
            pump.anchor()
        pump.advance(end_s)

    def _screening(self) -> ScreeningOutcome:
        """The screening trial, before any pump: the boluses and the team's decision."""
        spec = self.scenario.spec
        assert spec.screening is not None
        note = self.journal.note
        screening = run_screening(self.patient.patient, spec.screening, self.scenario.implant_s)
        self.patient.traces.extend(screening.traces)
        for time_s, bolus, response in zip(screening.bolus_times_s, screening.record.boluses,
                                           screening.record.responses, strict=True):
            note(time_s, "screening", "screening_bolus",
                 f"{display(bolus.dose_mcg)} mcg; Ashworth {bolus.before.ashworth} -> "
                 f"{bolus.after.ashworth}, Penn {bolus.before.spasm_frequency} -> "
                 f"{bolus.after.spasm_frequency}; " + ("positive" if response else "inadequate"))
        note(screening.bolus_times_s[-1], "screening", "screening_decision",
             f"{screening.record.decision.value}: {screening.record.reason}")
        return screening

    def _without_implant(self, screening: ScreeningOutcome) -> SimulationResult:
        scenario = self.scenario
        self.journal.note(scenario.implant_s, "clinic", "no_implant",
                          "not a candidate: no pump is implanted and the timeline's acts "
                          "do not happen")
        self.patient.traces.append(self.patient.patient.advance(scenario.end,
                                                                sample_every_s=SAMPLE_S))
        return self._result(screening, False)

    def _result(self, screening: ScreeningOutcome | None, implanted: bool) -> SimulationResult:
        journal = self.journal
        status = self.pump.pump.status().to_dict() if self.pump.implanted else None
        journal.events.sort(key=lambda e: e.time_s)
        return SimulationResult(
            scenario=self.scenario, parameters=self.scenario.parameters, screening=screening,
            implanted=implanted, traces=self.patient.traces, history=self.pump.history,
            events=journal.events, alarms=sorted(journal.alarms, key=lambda a: a.raised_s),
            refills=journal.refills, faults=journal.faults, plans=journal.plans,
            program_changes_s=journal.program_changes_s,
            refill_times_s=journal.refill_times_s, implant_times_s=journal.implant_times_s,
            final_status=status, calls=journal.calls)


def first_patient(scenario: Scenario) -> Patient:
    """The patient at the scenario's start: new, or established on the program's dose at
    steady state."""
    spec = scenario.spec
    if not scenario.established:
        return Patient(scenario.parameters, scenario.start)
    assert spec.program is not None and spec.patient.days_on_therapy is not None
    built = build_program(spec.program, MODELS[spec.pump.model],
                          spec.implant.concentration_mcg_per_ml, scenario.implant_s)
    return Patient.on_steady_therapy(scenario.parameters, scenario.start, built.daily_dose_mcg,
                                     spec.patient.days_on_therapy)


def _ticker(scenario: Scenario, progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    span = max(1, scenario.end_s - scenario.start_s)

    def tick(time_s: int) -> None:
        done = min(1.0, max(0.0, (time_s - scenario.start_s) / span))
        progress(0.7 * done, "pump and clinic")
    return tick


def run_scenario(scenario: Scenario, progress: Progress | None = None) -> SimulationResult:
    """Run a validated scenario to its end. Raises ItbError only for a bad patient parameter
    set; refusals by the pump during the run are reported as events."""
    journal = Journal()
    agenda = Agenda()
    pump = PumpRecorder(journal, on_advance=_ticker(scenario, progress))
    patient = PatientFeed(first_patient(scenario))
    clinic = Clinic(scenario, pump, journal, patient, agenda)
    return Simulation(scenario, journal, pump, patient, clinic, agenda, progress).run()


def concat_traces(traces: list[PatientTrace]) -> dict[str, np.ndarray]:
    """The patient's samples over the whole run as arrays (t_s: seconds since the start)."""
    keys = ("t_s", "lumbar_mcg_per_ml", "cisternal_mcg_per_ml", "effect_site_mcg_per_ml",
            "adapted_mcg_per_ml", "plasma_mcg_per_ml", "pocket_mcg", "relaxation", "ashworth",
            "spasms_per_hour", "withdrawal_stage", "overdose_stage", "overdose_index",
            "side_effects")
    if not traces:
        return {k: np.empty(0) for k in keys}
    out = {k: np.concatenate([getattr(t, k) for t in traces]) for k in keys}
    # Traces are consecutive; a sample shared by two of them is kept once.
    _, first = np.unique(out["t_s"], return_index=True)
    return {k: v[first] for k, v in out.items()}


__all__ = [
    "ENTRY_HANDLERS",
    "HANDLERS",
    "SAMPLE_S",
    "AlarmSpan",
    "FaultRecord",
    "PumpHistory",
    "RefillRecord",
    "SimEvent",
    "Simulation",
    "SimulationResult",
    "concat_traces",
    "exact_mcg",
    "first_patient",
    "run_scenario",
]
