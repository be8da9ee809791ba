"""One fleet patient, from the study start to its end: the fast path.

The same parts as `itb sim`: the real pump (`itb.pump`, event to event, each constant-flow
segment in closed form) and the real patient model (`itb.physiology.Patient`, closed form
per piece), fed the drug that truly arrived. What is left out is the 5-minute timeline and
everything drawn from it: the run moves from event to event (refills, faults, alarms,
visits), takes the patient along in one closed-form pass per move, and looks at the
patient's withdrawal and overdose stages on the patient's own check grid of 15 minutes
(`CHECK_S`; `itb sim` uses 5). While nothing happens a move spans up to the next event;
after any change, while an alarm sounds or while the patient has symptoms it is at most
3 hours (`runstate.step_limit_s`), so a symptom is seen at most that late.

`run_patient(study, index)` is pure: the same study and index give the same result on any
worker, in any partition.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from itb.fleet import adherence, care
from itb.fleet.daily import DailyLog
from itb.fleet.dosing import need_mcg_per_day, strength_and_dose
from itb.fleet.episodes import Episodes
from itb.fleet.hazards import MONTH_S, Streams, overinfusion_excess
from itb.fleet.runstate import (
    ALARM,
    DAY_S,
    HOUR_S,
    SETTLE_S,
    RunState,
    program_for,
)
from itb.fleet.study import STUDY_START, STUDY_START_S, Study
from itb.physiology import DrugDelivery, Patient, Route
from itb.physiology.population import ORIGINS, draw_patient
from itb.pump import Pump, get_model
from itb.pump.records import to_datetime
from itb.sim.patient_feed import exact_mcg

CHECK_S = 900  # the patient's withdrawal check grid in fleet mode (15 minutes)
# The longest move while nothing happens: an alarm the run cannot foresee (ERI from the
# battery gauge) is heard at most this late; ERI leaves 90 days (devices.md), so a
# replacement planned 30 days after ERI still comes before end of service.
MAX_MOVE_S = 45 * DAY_S


@dataclass(frozen=True)
class PatientResult:
    row: dict[str, Any]
    events: list[tuple[int, float, str, str, str, float]]
    daily: dict[str, Any] | None = None  # columns, when the study asks for daily summaries


def _draw_origin(study: Study, rng: np.random.Generator) -> str:
    mix = study.spec.cohort.origin
    u = rng.random()
    total = 0.0
    names = [o for o in ORIGINS if mix.get(o, 0) > 0]
    for origin in names:
        total += mix[origin]
        if u < total:
            return origin
    return names[-1]


def start_state(study: Study, index: int) -> RunState:
    """The patient drawn, on steady therapy at their need, with a new pump implanted and
    primed the day before the study starts and refilled at its start (as `itb sim` does
    for an established patient)."""
    cohort = study.spec.cohort
    streams = Streams.for_patient(study.spec.study.seed, index)
    origin = _draw_origin(study, streams.patient)
    params = draw_patient(streams.patient, origin)
    unapproved = bool(streams.patient.random() < cohort.unapproved_drug_share)
    need = need_mcg_per_day(params, cohort.days_on_therapy)
    model = get_model(cohort.pump_model)
    conc, dose = strength_and_dose(model, cohort.concentration_mcg_per_ml, need)
    at = STUDY_START_S - DAY_S
    pump = Pump.implant(model, serial=f"F{index}-1", at=to_datetime(at),
                        fill_nl=model.reservoir_capacity_nl, concentration_mcg_per_ml=conc,
                        program=program_for(dose), seed=int(streams.stall.integers(2**31)),
                        low_reservoir_alarm_nl=study.low_reservoir_alarm_nl)
    pump.prime()
    pump.advance(STUDY_START)
    pump.refill(added_nl=pump.model.reservoir_capacity_nl, concentration_mcg_per_ml=conc)
    patient = Patient.on_steady_therapy(params, STUDY_START, Fraction(dose),
                                        cohort.days_on_therapy, check_every_s=CHECK_S)
    state = RunState(study=study, index=index, streams=streams, params=params, origin=origin,
                     unapproved=unapproved, dose_mcg=dose, concentration_mcg_per_ml=conc,
                     pump=pump, patient=patient,
                     now_s=STUDY_START_S, pump_implant_s=at)
    state.log_index = pump.log.next_index
    state.counts["pumps"] = 1
    return state


class PatientRun:
    """The agenda loop of one patient: one handler per kind of event."""

    def __init__(self, study: Study, index: int) -> None:
        self.state = start_state(study, index)
        self.withdrawal = Episodes("withdrawal")
        self.overdose = Episodes("overdose")
        self.daily = DailyLog(STUDY_START_S, -(-study.duration_s // DAY_S)) \
            if study.spec.study.daily else None
        self.handlers = {"refill": self._refill, "replace": self._replace,
                         "revision": self._revision, "stall": self._stall,
                         "overinfusion": self._overinfusion, "catheter": self._catheter,
                         "titrate": self._titrate, "investigate": self._investigate,
                         "look": self._look, "end": self._end}

    def run(self) -> PatientResult:
        state = self.state
        care.plan_next_refill(state)
        care.schedule_pump_hazards(state)
        care.schedule_catheter_faults(state)
        if state.study.spec.care.titration_every_days:
            state.schedule(state.now_s + state.study.spec.care.titration_every_days * DAY_S,
                           "titrate")
        state.schedule(state.study.end_s, "end")
        while state.queue:
            due = state.queue[0][0]
            if due > state.now_s:
                self._move(due)
                continue
            _at, _seq, kind, payload = heapq.heappop(state.queue)
            if self.handlers[kind](payload):
                break
        daily = None if self.daily is None else self.daily.rows(state.index)
        return PatientResult(self._row(), state.events, daily)

    # -- moving through time ----------------------------------------------------------
    def _move(self, target_s: int) -> None:
        state = self.state
        limit = state.step_limit_s()
        end = min(target_s, state.now_s + (MAX_MOVE_S if limit is None else limit),
                  self._next_reservoir_alarm_s())
        report = state.pump.advance(to_datetime(end))
        csf_mcg = exact_mcg(report.csf_segments)
        deliveries = [DrugDelivery(to_datetime(s.start_s), to_datetime(s.end_s), mcg, Route.CSF)
                      for s, mcg in zip(report.csf_segments, csf_mcg, strict=True)]
        deliveries += [DrugDelivery(to_datetime(s.start_s), to_datetime(s.end_s), mcg, Route.POCKET)
                       for s, mcg in zip(report.leak_segments,
                                         exact_mcg(report.leak_segments), strict=True)]
        deliveries += [DrugDelivery(to_datetime(d.time_s), to_datetime(d.time_s), d.mcg,
                                    Route.POCKET) for d in report.pocket_deposits]
        trace = state.patient.advance(to_datetime(end), deliveries, sample_every_s=CHECK_S)
        state.now_s = end
        if self.daily is not None:
            self.daily.deliver(report.csf_segments, csf_mcg)
            self.daily.stages(trace.t_s, trace.withdrawal_stage, trace.overdose_stage)
        self._read_alarms()
        self._watch(trace.t_s, trace.withdrawal_stage, trace.overdose_stage)

    def _next_reservoir_alarm_s(self) -> int:
        """When the firmware's estimate will reach the low-reservoir volume or empty at the
        programmed rate (what the pump itself computes): a move stops just after, so the
        patient hears the alarm when it sounds, not at the end of a long move."""
        state = self.state
        pump = state.pump
        estimate = pump.reservoir_estimate_nl
        flow = state.dose_mcg * 1_000_000 / state.concentration_mcg_per_ml
        times = [state.study.end_s]
        if pump.state.stalled or pump.state.stopped or pump.state.end_of_service:
            return state.study.end_s  # the estimate stands still
        for level in (pump.low_reservoir_alarm_nl, 0):
            if estimate > level:
                times.append(state.now_s + max(HOUR_S, int((estimate - level) / flow * DAY_S)))
        return min(times)

    def _read_alarms(self) -> None:
        state = self.state
        pump = state.pump
        while True:
            entries = pump.log_since(state.log_index, 4096)
            for entry in entries:
                state.log_index = entry.index + 1
                if entry.kind == "alarm_raised":
                    details = dict(entry.details)
                    kind = details["kind"]
                    state.counts[f"alarm_{kind}"] += 1
                    state.note(ALARM, kind, details.get("critical", ""),
                               at_s=entry.time_s)
                    care.alarm_heard(state, kind, entry.time_s)
            if len(entries) < 4096:
                return

    def _watch(self, t_s: np.ndarray, withdrawal: np.ndarray, overdose: np.ndarray) -> None:
        """Symptom episodes, and the patient's call when withdrawal reaches stage 2 or any
        overdose sign appears (seeds 003/004: call the team for these)."""
        state = self.state
        if not len(t_s):
            return
        for episodes, stages in ((self.withdrawal, withdrawal), (self.overdose, overdose)):
            for start, end, worst in episodes.feed(t_s, stages):
                state.note("symptom", episodes.kind, f"{(end - start) / HOUR_S:.2f} h",
                           float(worst), at_s=STUDY_START_S + int(start))
        alarming = (withdrawal >= 2) | (overdose >= 1)
        was = state.symptomatic
        state.symptomatic = bool(alarming[-1])
        if not alarming.any():
            return
        rises = np.flatnonzero(alarming & ~np.concatenate(([was], alarming[:-1])))
        if len(rises) and not state.call_pending:
            at = STUDY_START_S + int(t_s[rises[0]])
            state.call_pending = True
            state.counts["calls"] += 1
            hours = state.study.spec.care.symptom_response_hours
            state.schedule(at + int(hours * HOUR_S), "investigate")

    # -- handlers (True ends the run) -------------------------------------------------
    def _refill(self, generation: int) -> bool:
        if generation == self.state.refill_generation and adherence.attends(self.state):
            care.refill_visit(self.state)
        return False

    def _replace(self, reason: str) -> bool:
        care.replace_pump(self.state, reason)
        return False

    def _revision(self, _payload: Any) -> bool:
        care.revise_catheter(self.state)
        return False

    def _look(self, _payload: Any) -> bool:
        return False  # only a moment at which a move stops (an expected alarm)

    def _investigate(self, _payload: Any) -> bool:
        care.investigate(self.state)
        return False

    def _titrate(self, _payload: Any) -> bool:
        care.titrate(self.state)
        return False

    def _stall(self, pump_no: int) -> bool:
        state = self.state
        if pump_no == state.pump_no and not state.pump.state.end_of_service:
            state.start_fault("motor_stall")
            state.pump.faults.start_motor_stall("corrosion" if state.unapproved
                                                else "mechanical")
            state.quiet_from_s = state.now_s + SETTLE_S
        return False

    def _overinfusion(self, payload: tuple[int, int]) -> bool:
        state = self.state
        pump_no, months = payload
        hazard = state.study.spec.hazards.overinfusion
        if pump_no != state.pump_no or hazard is None or state.pump.state.end_of_service:
            return False
        if months == 0:
            state.start_fault("overinfusion")
            state.quiet_from_s = state.now_s + SETTLE_S
        target = round(overinfusion_excess(hazard, months) * 1_000_000)
        if target > state.excess_ppm:
            state.pump.faults.overinfuse(target - state.excess_ppm)
            state.excess_ppm = target
        state.schedule(state.now_s + MONTH_S, "overinfusion", (pump_no, months + 1))
        return False

    def _catheter(self, payload: tuple[str, int]) -> bool:
        state = self.state
        kind, generation = payload
        if generation != state.catheter_generation:
            return False
        faults = state.pump.faults
        hazard = state.study.spec.hazards
        if kind == "catheter_occlusion":
            assert hazard.catheter_occlusion is not None
            share = state.streams.catheter.random() * hazard.catheter_occlusion.remaining_flow_max
            faults.occlude_catheter(Fraction(share).limit_denominator(1000))
        elif kind == "catheter_disconnection":
            faults.disconnect_catheter(Fraction(1))
        else:
            leak = hazard.catheter_leak
            assert leak is not None
            faults.disconnect_catheter(Fraction(leak.leak_fraction).limit_denominator(1000))
        state.start_fault(kind)
        state.quiet_from_s = state.now_s + SETTLE_S
        return False

    def _end(self, _payload: Any) -> bool:
        state = self.state
        for episodes in (self.withdrawal, self.overdose):
            closed = episodes.close(state.now_s - STUDY_START_S)
            if closed is not None:
                start, end, worst = closed
                state.note("symptom", episodes.kind, f"{(end - start) / HOUR_S:.2f} h",
                           float(worst), at_s=STUDY_START_S + int(start))
        for fault in state.faults:
            if fault.detected_s is None:
                state.note("detection", fault.kind, "undetected",
                           round(((fault.ended_s or state.now_s) - fault.start_s) / HOUR_S, 6))
        care.replace_pump(state, "study_end", implant=False)
        return True

    def _row(self) -> dict[str, Any]:
        state = self.state
        p = state.params
        counts = state.counts
        return {
            "patient": state.index, "origin": state.origin, "unapproved_drug": state.unapproved,
            "dose_start_mcg_per_day": self._dose_start, "dose_end_mcg_per_day": state.dose_mcg,
            "clearance_ml_per_h": round(p.kinetics.clearance_ml_per_h, 6),
            "withdrawal_max_stage": p.withdrawal.max_stage,
            "years": float(state.study.spec.study.years),
            "withdrawal_episodes": self.withdrawal.count,
            "severe_withdrawal_episodes": self.withdrawal.count_at_least(3),
            "overdose_episodes": self.overdose.count,
            "worst_withdrawal_stage": self.withdrawal.worst,
            "worst_overdose_stage": self.overdose.worst,
            "withdrawal_hours": round(self.withdrawal.hours, 4),
            "first_pump_days": round(state.first_pump_days or math.nan, 6),
            "first_pump_stalled": state.first_pump_stalled,
            **{key: int(counts.get(key, 0)) for key in COUNT_COLUMNS},
        }

    @property
    def _dose_start(self) -> int:
        for entry in self.state.events:
            if entry[2] == "titration":
                return int(entry[4].split(" -> ")[0])
        return self.state.dose_mcg


COUNT_COLUMNS = ("pumps", "refills", "refills_late", "refills_missed", "reminders",
                 "escalations", "escalations_critical", "escalations_high",
                 "escalations_moderate",
                 "residual_discrepancies", "revisions", "calls",
                 "fault_motor_stall", "fault_overinfusion", "fault_catheter_occlusion",
                 "fault_catheter_disconnection", "fault_catheter_leak", "fault_pocket_fill",
                 "fault_wrong_strength", "detected_alarm", "detected_residual",
                 "detected_symptoms", "alarm_low_reservoir", "alarm_reservoir_empty",
                 "alarm_motor_stall", "alarm_elective_replacement", "alarm_end_of_service")


def run_patient(study: Study, index: int) -> PatientResult:
    return PatientRun(study, index).run()
