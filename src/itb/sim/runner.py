"""Run a scenario: the real pump (`itb.pump`), the therapy rules (`itb.therapy`) and the
patient (`itb.physiology`), event by event.

The pump moves from one timeline act to the next with `Pump.advance`, which is
event-driven and returns the drug that truly reached the CSF (or leaked, or went into
the pocket) as piecewise-constant segments. The clinic's acts go through the therapy
rules: every refill is planned with `plan_refill` and checked with `check_refill` (the
residual-volume comparison that can reveal a silent catheter fault), titrations with
`check_titration` (at validation), screening with `evaluate_trial`. The patient then
takes the whole delivery history in one vectorised closed-form pass.

Sans-IO: no files, no clock, no printing. Progress is reported through a callback.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import numpy as np

from itb.errors import InvalidInput, ItbError
from itb.physiology import (
    Patient,
    PatientParameters,
    PatientTrace,
)
from itb.pump import Pump
from itb.pump.catalogue import MODELS, PumpModel
from itb.pump.physical import PocketDeposit
from itb.pump.pump import CommandedSegment, DeliverySegment
from itb.sim import acts, clinic
from itb.sim.clinic import SAMPLE_S, exact_mcg
from itb.sim.programs import BuiltProgram, build_program, check_dose_change, scaled_program
from itb.sim.scenario import (
    AcknowledgeEvent,
    BolusEvent,
    CatheterRevisionEvent,
    FaultEvent,
    ProgramEvent,
    ProgramSpec,
    RefillEvent,
    ReplacePumpEvent,
    Scenario,
    TitrateEvent,
)
from itb.sim.screening import ScreeningOutcome, run_screening
from itb.therapy.errors import RefillDiscrepancy
from itb.therapy.refill import RefillPlan, check_refill, plan_refill
from itb.therapy.units import NL_PER_ML, display

# An established patient's pump is primed this long before the scenario starts (16.7).
PRIMED_BEFORE_S = 86_400
Progress = Callable[[float, str], None]


def _dt(seconds_utc: int) -> datetime:
    return datetime.fromtimestamp(seconds_utc, tz=UTC)


def _ml(volume_nl: int) -> Fraction:
    return Fraction(volume_nl, NL_PER_ML)


@dataclass(frozen=True)
class SimEvent:
    """Something that happened: a clinical act, a fault, a pump log entry, a detection."""

    time_s: int
    source: str  # "scenario", "clinic", "pump", "screening"
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class AlarmSpan:
    """A firmware alarm from raised to cleared (or the end of the run / of that pump)."""

    kind: str
    critical: bool
    raised_s: int
    cleared_s: int | None


@dataclass(frozen=True)
class RefillRecord:
    time_s: int
    outcome: str  # "refilled", "blocked", "missed", "refused"
    expected_residual_nl: int | None = None
    withdrawn_nl: int | None = None
    discrepancy_nl: int | None = None
    check: str = ""
    added_nl: int = 0
    concentration_mcg_per_ml: Fraction | None = None
    true_concentration_mcg_per_ml: Fraction | None = None
    pocket_fill_nl: int = 0
    bridge_bolus: bool = False
    error: str = "none"


@dataclass(frozen=True)
class FaultRecord:
    time_s: int
    fault: str
    detail: str


@dataclass
class PumpHistory:
    """Everything the pumps did from the scenario start on (truth and belief)."""

    csf: list[DeliverySegment] = field(default_factory=list)
    leak: list[DeliverySegment] = field(default_factory=list)
    deposits: list[PocketDeposit] = field(default_factory=list)
    commanded: list[CommandedSegment] = field(default_factory=list)
    # (time_s, true reservoir nL, firmware estimate nL, cumulative true outflow nL,
    #  cumulative commanded volume in 1/86,400 nL) at each act and advance.
    anchors: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    # Drug injected through the catheter access port straight into the CSF: (time_s, mcg).
    access_port: list[tuple[int, Fraction]] = field(default_factory=list)
    out_total_nl: int = 0
    commanded_units: int = 0


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


# ---------------------------------------------------------------------- the run
class _Run:
    def __init__(self, scenario: Scenario, progress: Progress | None) -> None:
        self.scenario = scenario
        self.spec = scenario.spec
        self.progress = progress
        self.model: PumpModel = MODELS[self.spec.pump.model]
        self.history = PumpHistory()
        self.events: list[SimEvent] = []
        self.alarm_open: dict[str, tuple[bool, int]] = {}
        self.alarms: list[AlarmSpan] = []
        self.refills: list[RefillRecord] = []
        self.faults: list[FaultRecord] = []
        self.plans: list[tuple[int, RefillPlan]] = []
        self.program_changes_s: list[int] = []
        self.refill_times_s: list[int] = []
        self.implant_times_s: list[int] = []
        self.recording = False
        self.pump: Pump | None = None
        self.built: BuiltProgram | None = None
        self.log_index = 0
        self.queue: list[tuple[int, int, int, str, Any]] = []
        self.seq = 0
        self.auto_generation = 0
        self.pump_count = 0
        self.last_dose_change_s = scenario.implant_s
        self.gap_since_s: int | None = None  # the pump stopped or emptied (sim.acts)
        self.retitrate_target: BuiltProgram | None = None
        self.calls: list[tuple[int, tuple[str, ...]]] = []
        self.patient: Patient | None = None
        self.patient_traces: list[PatientTrace] = []
        self.fed = [0, 0, 0, 0]  # history items already given to the patient (csf, leak,
        # pocket deposits, access-port boluses)
        self.increases: list[clinic.Increase] = []

    # -- small helpers ------------------------------------------------------------------
    def note(self, time_s: int, source: str, kind: str, detail: str = "") -> None:
        if self.recording:
            self.events.append(SimEvent(time_s, source, kind, detail))

    def tick(self, time_s: int) -> None:
        if self.progress is not None:
            span = max(1, self.scenario.end_s - self.scenario.start_s)
            done = min(1.0, max(0.0, (time_s - self.scenario.start_s) / span))
            self.progress(0.7 * done, "pump and clinic")

    def push(self, time_s: int, order: int, kind: str, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (time_s, order, self.seq, kind, payload))

    @property
    def capacity_nl(self) -> int:
        assert self.pump is not None
        return self.pump.model.reservoir_capacity_nl

    # -- pump bookkeeping ---------------------------------------------------------------
    def advance(self, to_s: int) -> None:
        pump = self.pump
        assert pump is not None
        if to_s <= pump.now_s:
            return
        report = pump.advance(_dt(to_s))
        if self.recording:
            h = self.history
            h.csf.extend(report.csf_segments)
            h.leak.extend(report.leak_segments)
            h.deposits.extend(report.pocket_deposits)
            h.commanded.extend(report.commanded_segments)
            h.out_total_nl += sum(s.volume_nl for s in report.csf_segments) + sum(
                s.volume_nl for s in report.leak_segments)
            h.commanded_units += sum(s.flow_nl_per_day * (s.end_s - s.start_s)
                                     for s in report.commanded_segments)
        self.collect_log()
        self.anchor()
        self.tick(to_s)

    def anchor(self) -> None:
        if not self.recording or self.pump is None:
            return
        pump = self.pump
        h = self.history
        h.anchors.append((pump.now_s, pump.physical.reservoir_nl, pump.reservoir_estimate_nl,
                          h.out_total_nl, h.commanded_units))

    def collect_log(self) -> None:
        pump = self.pump
        assert pump is not None
        while True:
            entries = pump.log_since(self.log_index, 4096)
            if not entries:
                return
            for entry in entries:
                self.log_index = entry.index + 1
                true_s = entry.time_s - pump.clock_error_s
                details = dict(entry.details)
                if entry.kind == "alarm_raised":
                    kind = details["kind"]
                    self.alarm_open[kind] = (details.get("critical") == "True", true_s)
                elif entry.kind == "alarm_cleared":
                    kind = details["kind"]
                    opened = self.alarm_open.pop(kind, None)
                    if opened is not None and self.recording:
                        self.alarms.append(AlarmSpan(kind, opened[0], opened[1], true_s))
                if self.recording and entry.kind not in ("telemetry_session",):
                    text = ", ".join(f"{k}={v}" for k, v in details.items()
                                     if k != "program")
                    self.note(true_s, "pump", entry.kind, text)
            if len(entries) < 4096:
                return

    def close_alarms(self, at_s: int | None) -> None:
        """The pump is explanted (or the run ends): its open alarms end here."""
        for kind, (critical, raised) in sorted(self.alarm_open.items()):
            if self.recording:
                self.alarms.append(AlarmSpan(kind, critical, raised, at_s))
        self.alarm_open = {}

    def plan(self, now_s: int) -> RefillPlan | None:
        """The clinic's refill plan from the pump's estimate (belief), via itb.therapy."""
        pump = self.pump
        assert pump is not None and self.built is not None
        try:
            plan = plan_refill(
                reservoir_ml=_ml(pump.reservoir_estimate_nl),
                concentration_mcg_per_ml=pump.concentration_mcg_per_ml,
                program=self.built.refill_schedule(), alarm_ml=_ml(pump.low_reservoir_alarm_nl),
                now=_dt(now_s), capacity_ml=_ml(self.capacity_nl),
                safety_margin_days=(self.spec.auto_refill.safety_margin_days
                                    if self.spec.auto_refill else Fraction(7)))
        except InvalidInput as error:
            self.note(now_s, "clinic", "refill_plan_unavailable", str(error))
            return None
        self.plans.append((now_s, plan))
        self.note(now_s, "clinic", "refill_planned",
                  f"refill by {plan.refill_by.isoformat()} ({plan.refill_by_reason}); "
                  f"low-reservoir alarm expected {plan.alarm_at.isoformat()}")
        auto = self.spec.auto_refill
        if auto is not None and auto.enabled:
            self.auto_generation += 1
            when = int(plan.refill_by.timestamp())  # floored: the safe side
            self.push(max(when, now_s + 1), 3, "auto_refill", self.auto_generation)
        return plan

    # -- the run --------------------------------------------------------------------------
    def run(self) -> SimulationResult:
        scenario, spec = self.scenario, self.spec
        parameters = scenario.parameters
        start_s, end_s = scenario.start_s, scenario.end_s
        program_spec = spec.program
        if scenario.established:
            assert program_spec is not None
            built = build_program(program_spec, self.model, spec.implant.concentration_mcg_per_ml,
                                  scenario.implant_s)
            days = spec.patient.days_on_therapy
            assert days is not None
            patient = Patient.on_steady_therapy(parameters, scenario.start, built.daily_dose_mcg,
                                                days)
        else:
            patient = Patient(parameters, scenario.start)
        traces: list[PatientTrace] = self.patient_traces
        self.patient = patient
        screening = None
        self.recording = True
        if spec.screening is not None:
            screening = run_screening(patient, spec.screening, scenario.implant_s)
            traces.extend(screening.traces)
            for time_s, bolus, response in zip(screening.bolus_times_s, screening.record.boluses,
                                               screening.record.responses, strict=True):
                self.note(time_s, "screening", "screening_bolus",
                          f"{display(bolus.dose_mcg)} mcg; Ashworth {bolus.before.ashworth} -> "
                          f"{bolus.after.ashworth}, Penn {bolus.before.spasm_frequency} -> "
                          f"{bolus.after.spasm_frequency}; "
                          + ("positive" if response else "inadequate"))
            self.note(screening.bolus_times_s[-1], "screening", "screening_decision",
                      f"{screening.record.decision.value}: {screening.record.reason}")
            if not screening.candidate:
                self.note(scenario.implant_s, "clinic", "no_implant",
                          "not a candidate: no pump is implanted and the timeline's acts "
                          "do not happen")
                traces.append(patient.advance(scenario.end, sample_every_s=SAMPLE_S))
                return self.result(parameters, screening, False, traces)
            if program_spec is None:
                dose = screening.initial_daily_dose_mcg
                assert dose is not None
                program_spec = ProgramSpec(type="simple", daily_dose_mcg=dose)
        assert program_spec is not None
        if scenario.established and scenario.implant_s >= start_s and spec.implant.prime:
            self.implant_primed(program_spec, scenario.implant_s)
        else:
            self.implant(program_spec, scenario.implant_s)
        if scenario.implant_s < start_s:
            self.pre_history(start_s)
        self.recording = True
        self.anchor()
        for when, index, event in scenario.events:
            self.push(when, 1, "event", (index, event))
        while self.queue and self.queue[0][0] <= end_s:
            when, _order, _seq, kind, payload = heapq.heappop(self.queue)
            self.advance(when)
            self.act(when, kind, payload)
            self.collect_log()
            self.anchor()
        self.advance(end_s)
        self.close_alarms(None)  # still raised at the end of the run
        if self.progress is not None:
            self.progress(0.7, "patient")
        traces.append(self.patient_pass(patient, end_s))
        return self.result(parameters, screening, True, traces)

    def implant(self, program_spec: ProgramSpec, at_s: int, *, model: PumpModel | None = None,
                seed: int | None = None, fill_nl: int | None = None,
                concentration: Fraction | None = None) -> None:
        spec = self.spec
        model = model or self.model
        conc = concentration or spec.implant.concentration_mcg_per_ml
        self.built = build_program(program_spec, model, conc, at_s)
        if fill_nl is None:
            fill_nl = model.reservoir_capacity_nl if spec.implant.fill_ml is None else int(
                spec.implant.fill_ml * NL_PER_ML)
        alarm = None if spec.pump.low_reservoir_alarm_ml is None else int(
            spec.pump.low_reservoir_alarm_ml * NL_PER_ML)
        self.pump_count += 1
        serial = spec.pump.serial if self.pump_count == 1 else \
            f"{spec.pump.serial}-{self.pump_count}"
        self.pump = Pump.implant(
            model, serial=serial, at=_dt(at_s), fill_nl=fill_nl, concentration_mcg_per_ml=conc,
            program=self.built.program, seed=spec.pump.seed if seed is None else seed,
            catheter_volume_nl=int(spec.implant.catheter_volume_ml * NL_PER_ML),
            low_reservoir_alarm_nl=alarm)
        self.log_index = 0
        self.alarm_open = {}
        if spec.implant.prime:
            self.pump.prime()
        self.implant_times_s.append(at_s)
        self.program_changes_s.append(at_s)
        self.last_dose_change_s = at_s
        self.refill_times_s.append(at_s)
        self.note(at_s, "clinic", "pump_implanted",
                  f"{model.name}, {display(_ml(fill_nl))} mL at {display(conc)} mcg/mL, "
                  f"{display(self.built.daily_dose_mcg)} mcg/day")
        self.collect_log()
        self.plan(at_s)

    def implant_primed(self, program_spec: ProgramSpec, at_s: int) -> None:
        """An established patient's pump at the scenario's start already runs with drug at
        the catheter tip (issue 16.7): the pump is implanted and primed a day before, out
        of the record, and refilled to the implant's fill at the start, so the patient's
        delivery does not stop while saline is pushed out of a new catheter."""
        self.recording = False
        self.implant(program_spec, at_s - PRIMED_BEFORE_S)
        pump = self.pump
        assert pump is not None
        self.advance(at_s)
        fill_nl = self.capacity_nl if self.spec.implant.fill_ml is None else int(
            self.spec.implant.fill_ml * NL_PER_ML)
        pump.refill(added_nl=fill_nl, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
        self.collect_log()
        self.queue = []
        self.plans = []
        self.recording = True
        for times in (self.implant_times_s, self.program_changes_s, self.refill_times_s):
            times[-1] = at_s
        self.last_dose_change_s = at_s
        assert self.built is not None
        self.note(at_s, "clinic", "pump_implanted",
                  f"{pump.model.name}, {display(_ml(fill_nl))} mL at "
                  f"{display(pump.concentration_mcg_per_ml)} mcg/mL, "
                  f"{display(self.built.daily_dose_mcg)} mcg/day (established patient: "
                  "catheter already primed with drug)")
        self.plan(at_s)

    def pre_history(self, start_s: int) -> None:
        """The pump ran before the scenario start (an established patient): refills on the
        planned dates, to the implant fill, as a well-run clinic would have done."""
        self.recording = False
        pump = self.pump
        assert pump is not None
        fill_nl = self.capacity_nl if self.spec.implant.fill_ml is None else int(
            self.spec.implant.fill_ml * NL_PER_ML)
        while True:
            plan = self.plan(pump.now_s)
            self.queue = []
            if plan is None:
                break
            due = max(int(plan.refill_by.timestamp()), pump.now_s + 1)
            if due >= start_s:
                break
            self.advance(due)
            if pump.end_of_service:
                break  # a battery that ran out early (high flow): reported below
            pump.refill(added_nl=fill_nl, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
            self.refill_times_s.append(due)
        self.advance(start_s)
        if pump.end_of_service:
            raise InvalidInput("implant.date", _dt(self.scenario.implant_s).isoformat(),
                               "a pump still in service at scenario.start (this one reached end "
                               "of service before it at this program's flow)")
        self.collect_log()
        self.queue = []
        self.recording = True
        self.plan(start_s)  # the plan in force at the start (and the next planned refill)

    def act(self, when: int, kind: str, payload: Any) -> None:
        pump = self.pump
        assert pump is not None
        if kind == "auto_refill":
            if payload != self.auto_generation:
                return  # an explicit refill since then made a new plan
            auto = self.spec.auto_refill
            assert auto is not None
            event = RefillEvent(event="refill", day=Fraction(0), fill_ml=auto.fill_ml,
                                note="planned refill (auto_refill)")
            try:
                self.refill(when, event, "auto")
            except ItbError as error:  # e.g. after end of service: reported, no new plan
                self.note(when, "scenario", "refused", f"planned refill: {error}")
            return
        if kind == "retitrate_step":
            try:
                acts.retitrate_step(self, when)
            except ItbError as error:
                self.note(when, "scenario", "refused", f"restart titration step: {error}")
            return
        if kind == "clear_stall":
            try:
                pump.faults.clear_motor_stall()
                self.note(when, "scenario", "motor_stall_ends", str(payload))
            except ItbError as error:
                self.note(when, "scenario", "refused", str(error))
            return
        index, event = payload
        label = f"timeline[{index}]"
        try:
            if isinstance(event, RefillEvent):
                self.refill(when, event, label)
            elif isinstance(event, ProgramEvent | TitrateEvent):
                self.reprogram(when, event)
            elif isinstance(event, BolusEvent):
                pump.give_bolus(event.dose_mcg, event.duration_min * 60)
                self.program_changes_s.append(when)
                self.note(when, "clinic", "bolus",
                          f"{display(event.dose_mcg)} mcg over {event.duration_min} min")
            elif isinstance(event, FaultEvent):
                self.fault(when, event)
            elif isinstance(event, CatheterRevisionEvent):
                volume_ml = event.catheter_volume_ml or self.spec.implant.catheter_volume_ml
                pump.revise_catheter(int(volume_ml * NL_PER_ML))
                # Prime the new catheter's volume only: the pump tubing still holds drug,
                # and priming it too would push it out as an unintended bolus.
                pump.prime(int(volume_ml * NL_PER_ML))
                self.note(when, "clinic", "catheter_revision",
                          f"new catheter {display(volume_ml)} mL, primed")
            elif isinstance(event, ReplacePumpEvent):
                self.replace(when, event)
            elif isinstance(event, acts.ACT_EVENTS):
                acts.handle(self, when, event)
            elif isinstance(event, AcknowledgeEvent):
                count = pump.acknowledge_alarm()
                self.note(when, "clinic", "alarms_acknowledged", f"{count} silenced")
        except ItbError as error:
            # The pump or a rule refused the act at run time: that is an outcome to report.
            self.note(when, "scenario", "refused", f"{label}: {error}")

    def reprogram(self, when: int, event: ProgramEvent | TitrateEvent) -> None:
        """A new program or a titration step, checked against the labeled steps (the static
        check cannot see a dose that came from the screening trial), then sent to the pump."""
        pump = self.pump
        assert pump is not None and self.built is not None
        conc = pump.concentration_mcg_per_ml
        if isinstance(event, ProgramEvent):
            spec = event.program
            what = f"({spec.type})"
        else:
            spec = scaled_program(self.built.spec, event.percent, conc)
            what = f"(titration {display(event.percent)} %)"
        built = build_program(spec, pump.model, conc, when)
        if event.titration_check:
            check_dose_change(self.built.daily_dose_mcg, built.daily_dose_mcg,
                              self.spec.patient, event.phase, self.last_dose_change_s, when,
                              event.override_reason)
        if not clinic.response_check(self, when, built.daily_dose_mcg):
            return  # held: the check found a pump or catheter fault (noted)
        pump.program(built.program)
        self.gap_since_s = None  # a new program ends a stop (sim.acts)
        if built.daily_dose_mcg != self.built.daily_dose_mcg:
            self.last_dose_change_s = when
        self.built = built
        self.program_changes_s.append(when)
        self.note(when, "clinic", "program", f"{display(built.daily_dose_mcg)} mcg/day {what}")
        self.plan(when)

    def fault(self, when: int, event: FaultEvent) -> None:
        pump = self.pump
        assert pump is not None
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
                self.push(when + int(event.duration_h * 3600), 0, "clear_stall", event.cause)
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
        self.faults.append(FaultRecord(when, event.fault, detail))
        self.note(when, "scenario", "fault", detail)

    def refill(self, when: int, event: RefillEvent, label: str) -> None:
        pump = self.pump
        assert pump is not None
        if event.error == "missed":
            self.refills.append(RefillRecord(when, "missed", error="missed"))
            self.faults.append(FaultRecord(when, "refill_missed", "refill appointment missed"))
            self.note(when, "clinic", "refill_missed", "the patient missed the refill appointment")
            return
        expected = pump.reservoir_estimate_nl
        withdrawn = pump.physical.reservoir_nl  # what really comes out into the syringe
        fill_nl = self.capacity_nl if event.fill_ml is None else int(event.fill_ml * NL_PER_ML)
        conc = event.concentration_mcg_per_ml or pump.concentration_mcg_per_ml
        pocket_nl = 0
        if event.error == "pocket_fill":
            pocket_nl = fill_nl if event.pocket_fill_ml is None else int(
                event.pocket_fill_ml * NL_PER_ML)
        # The programmer shows an estimate below zero as an empty reservoir (0 mL).
        shown_expected = max(0, expected)
        check_text = "ok"
        try:
            check_refill(expected_residual_ml=_ml(shown_expected), withdrawn_ml=_ml(withdrawn),
                         fill_ml=_ml(fill_nl), capacity_ml=_ml(self.capacity_nl))
        except RefillDiscrepancy as discrepancy:
            check_text = f"discrepancy: {discrepancy}"
            self.note(when, "clinic", "refill_discrepancy", str(discrepancy))
            if not event.override_discrepancy:
                # The residual is drawn out into the syringe (that is how it was measured)
                # and discarded before the check stops the refill (issue 16.8): the pump is
                # left empty, and the next refill finds nothing to withdraw.
                pump.refill(added_nl=0, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
                self.refills.append(RefillRecord(
                    when, "blocked", expected, withdrawn, withdrawn - shown_expected, check_text,
                    error=event.error))
                self.note(when, "clinic", "refill_blocked",
                          f"residual {display(_ml(withdrawn))} mL withdrawn and discarded; "
                          "the refill is stopped until the cause is found (itb.therapy rule)")
                return
        report = pump.refill(
            added_nl=fill_nl, concentration_mcg_per_ml=conc, pocket_fill_nl=pocket_nl,
            true_concentration_mcg_per_ml=event.true_concentration_mcg_per_ml,
            bridge_bolus=event.bridge_bolus)
        assert self.built is not None
        if conc != self.built.concentration_mcg_per_ml:
            # The same program (same flex clock) now counted at the new concentration.
            self.built = build_program(self.built.spec, pump.model, conc, self.built.entered_s)
        self.refill_times_s.append(when)
        if event.error in ("pocket_fill", "wrong_concentration"):
            self.faults.append(FaultRecord(when, f"refill_{event.error}", extra_detail(
                pocket_nl, conc, event.true_concentration_mcg_per_ml)))
        self.refills.append(RefillRecord(
            when, "refilled", report.expected_residual_nl, report.withdrawn_nl,
            withdrawn - shown_expected, check_text, fill_nl, conc,
            event.true_concentration_mcg_per_ml, pocket_nl, report.bridge_bolus, event.error))
        extra = ""
        if event.error != "none":
            extra += "; " + extra_detail(pocket_nl, conc, event.true_concentration_mcg_per_ml)
        if report.bridge_bolus:
            extra += "; bridge bolus"
        self.note(when, "clinic", "refill",
                  f"{label}: {display(_ml(fill_nl))} mL at {display(conc)} mcg/mL; residual "
                  f"expected {display(_ml(shown_expected))} mL, found {display(_ml(withdrawn))} mL"
                  + extra)
        self.plan(when)

    def replace(self, when: int, event: ReplacePumpEvent) -> None:
        old = self.pump
        assert old is not None and self.built is not None
        self.collect_log()
        self.close_alarms(when)
        self.anchor()
        model = MODELS[event.model] if event.model else old.model
        conc = event.concentration_mcg_per_ml or old.concentration_mcg_per_ml
        fill_nl = model.reservoir_capacity_nl if event.fill_ml is None else int(
            event.fill_ml * NL_PER_ML)
        # The old pump's remaining drug is explanted with it.
        self.note(when, "clinic", "pump_explanted",
                  f"{old.serial}: {display(_ml(old.physical.reservoir_nl))} mL left, battery "
                  f"{old.status().battery_state}")
        self.implant(self.built.spec, when, model=model,
                     seed=(event.seed if event.seed is not None else self.spec.pump.seed + 1),
                     fill_nl=fill_nl, concentration=conc)
        self.anchor()

    def patient_pass(self, patient: Patient, end_s: int) -> PatientTrace:
        """The patient under the drug that truly arrived and was not yet given (sim.clinic)."""
        return clinic.feed_patient(self, patient, end_s)

    def result(self, parameters: PatientParameters, screening: ScreeningOutcome | None,
               implanted: bool, traces: list[PatientTrace]) -> SimulationResult:
        status = None if self.pump is None else self.pump.status().to_dict()
        self.events.sort(key=lambda e: e.time_s)
        return SimulationResult(
            scenario=self.scenario, parameters=parameters, screening=screening,
            implanted=implanted, traces=traces, history=self.history, events=self.events,
            alarms=sorted(self.alarms, key=lambda a: a.raised_s), refills=self.refills,
            faults=self.faults, plans=self.plans, program_changes_s=self.program_changes_s,
            refill_times_s=self.refill_times_s, implant_times_s=self.implant_times_s,
            final_status=status, calls=self.calls)


def extra_detail(pocket_nl: int, conc: Fraction, true_conc: Fraction | None) -> str:
    """Words for a refill error."""
    if pocket_nl:
        return f"POCKET FILL: {display(_ml(pocket_nl))} mL injected into the pocket"
    if true_conc is not None:
        return (f"WRONG CONCENTRATION: {display(true_conc)} mcg/mL given, {display(conc)} "
                "mcg/mL programmed")
    return ""


def run_scenario(scenario: Scenario, progress: Progress | None = None) -> SimulationResult:
    """Run a validated scenario to its end. Raises ItbError only for a bad patient parameter
    set; refusals by the pump during the run are reported as events."""
    return _Run(scenario, progress).run()


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
    "SAMPLE_S",
    "AlarmSpan",
    "FaultRecord",
    "PumpHistory",
    "RefillRecord",
    "SimEvent",
    "SimulationResult",
    "concat_traces",
    "exact_mcg",
    "run_scenario",
]
