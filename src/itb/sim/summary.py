"""The run's summary: what happened first, how long a fault stayed hidden, how bad it got.

- first alarm: the first firmware alarm raised during the run;
- first symptom: the first withdrawal or overdose sign, with the seeds' triage of it
  (`itb.physiology.triage`) given the pump facts a patient or carer would know then
  (days since the refill, a recent programming change, an alarm sounding, an overdue
  refill, days since the implant);
- per fault (and per refill error): the first alarm, the first refill-residual
  discrepancy and the first symptom after it, and the time from the fault to its
  detection (the first alarm or residual discrepancy: the signals that reach the
  firmware's or the clinic's belief);
- the worst withdrawal and overdose stages reached, and when.

Exact quantities (drug totals, volumes) are strings in `to_exact_str` form; times are
ISO-8601 UTC; durations in hours are rounded to 0.01 h for reading.
"""

from __future__ import annotations

import bisect
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from itb.physiology.overdose import STAGE_NAMES as OVERDOSE_STAGE_NAMES
from itb.physiology.triage import AlarmTone, PumpFacts, triage
from itb.physiology.withdrawal import STAGE_NAMES as WITHDRAWAL_STAGE_NAMES
from itb.sim.records import AlarmSpan
from itb.sim.runner import SimulationResult
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY, to_exact_str

RECENT_CHANGE_S = 7 * SECONDS_PER_DAY


def _iso(time_s: int | float) -> str:
    return datetime.fromtimestamp(int(time_s), tz=UTC).isoformat()


def _hours(delta_s: float) -> float:
    return round(delta_s / 3600.0, 2)


def _latest_at_or_before(times: list[int], t: int) -> int | None:
    ordered = sorted(times)
    i = bisect.bisect_right(ordered, t) - 1
    return ordered[i] if i >= 0 else None


def pump_facts_at(result: SimulationResult, t: int) -> PumpFacts:
    """What the patient or carer knows about the pump at time t (for triage)."""
    refill = _latest_at_or_before(result.refill_times_s, t)
    change = _latest_at_or_before(result.program_changes_s, t)
    implant = _latest_at_or_before(result.implant_times_s, t)
    sounding = [a for a in result.alarms
                if a.raised_s <= t and (a.cleared_s is None or t < a.cleared_s)]
    tone = None
    if sounding:
        tone = AlarmTone.CRITICAL if any(a.critical for a in sounding) else AlarmTone.NON_CRITICAL
    plans = [(made, plan) for made, plan in result.plans if made <= t]
    overdue = bool(plans) and plans[-1][1].refill_by.timestamp() < t
    # A programming change is a fact a patient reports while it is recent; one made long
    # ago (at an implant years back) is not (triage looks back 72 h).
    recent_change = change is not None and t - change <= RECENT_CHANGE_S
    return PumpFacts.of(
        days_since_refill=None if refill is None else Fraction(t - refill, SECONDS_PER_DAY),
        hours_since_program_change=Fraction(t - change, 3600) if recent_change else None,
        alarm_tone=tone, refill_overdue=overdue,
        days_since_implant=None if implant is None else Fraction(t - implant, SECONDS_PER_DAY))


def _first_symptom(frame: pd.DataFrame, start_s: int, from_s: int) -> dict[str, Any] | None:
    t = start_s + np.round(frame["hours"].to_numpy() * 3600.0)
    signs = (frame["withdrawal_stage"].to_numpy() > 0) | (frame["overdose_stage"].to_numpy() > 0)
    idx = np.flatnonzero(signs & (t >= from_s))
    if len(idx) == 0:
        return None
    i = int(idx[0])
    w = int(frame["withdrawal_stage"].iat[i])
    o = int(frame["overdose_stage"].iat[i])
    names = tuple(frame["symptoms"].iat[i].split())
    return {"time_s": int(t[i]), "time": _iso(t[i]), "symptoms": list(names),
            "withdrawal_stage": w, "overdose_stage": o}


def _first_side_effect(frame: pd.DataFrame, start_s: int, from_s: int) -> dict[str, Any] | None:
    """The first common side effect (seed 001) below the overdose stages, if any."""
    t = start_s + np.round(frame["hours"].to_numpy() * 3600.0)
    idx = np.flatnonzero(frame["side_effects"].to_numpy() & (t >= from_s))
    if len(idx) == 0:
        return None
    i = int(idx[0])
    return {"time": _iso(t[i]), "hours_after_start": _hours(t[i] - start_s),
            "symptoms": frame["symptoms"].iat[i].split()}


def _worst(frame: pd.DataFrame, column: str, names: tuple[str, ...],
           start_s: int) -> dict[str, Any]:
    values = frame[column].to_numpy()
    if len(values) == 0 or values.max() == 0:
        return {"stage": 0, "name": names[0], "first_reached": None}
    worst = int(values.max())
    i = int(np.flatnonzero(values == worst)[0])
    return {"stage": worst, "name": names[worst],
            "first_reached": _iso(start_s + round(float(frame["hours"].iat[i]) * 3600))}


def _side_effects_seen(frame: pd.DataFrame, start_s: int, from_s: int) -> list[dict[str, Any]]:
    """Each common side effect (seed 001) the patient felt, with its first time and hours."""
    t = start_s + np.round(frame["hours"].to_numpy() * 3600.0)
    side = frame["side_effects"].to_numpy().astype(bool)
    words = frame["symptoms"].astype(str)
    out = []
    for name in ("sleepiness", "loose-muscles"):
        felt = side & words.str.contains(name, regex=False).to_numpy()
        idx = np.flatnonzero(felt & (t >= from_s))
        if len(idx):
            out.append({"symptom": name, "first": _iso(t[idx[0]]),
                        "hours": round(len(idx) * 300 / 3600, 2)})
    return out


def _call_json(result: SimulationResult, frame: pd.DataFrame, time_s: int,
               reported: tuple[str, ...]) -> dict[str, Any]:
    """A patient's call: what they report plus what the simulated patient feels then,
    triaged with the pump facts a carer would know."""
    start_s = result.scenario.start_s
    t = start_s + np.round(frame["hours"].to_numpy() * 3600.0)
    i = int(np.searchsorted(t, time_s, side="right")) - 1
    felt = frame["symptoms"].iat[i].split() if 0 <= i < len(frame) else []
    names = list(dict.fromkeys([*reported, *felt]))
    facts = pump_facts_at(result, time_s)
    return {"time": _iso(time_s), "reported": list(reported), "felt": felt,
            "pump_facts": facts.described(), "triage": triage(names, facts).as_json()}


def _beyond_model(frame: pd.DataFrame, start_s: int) -> str | None:
    """Life-threatening withdrawal still untreated at the end of the run (issue 16.3): the
    model holds it at stage 4, but what happens next is beyond it."""
    stage = frame["withdrawal_stage"].to_numpy()
    if len(stage) == 0 or stage[-1] < 4:
        return None
    below = np.flatnonzero(stage < 4)
    i = int(below[-1]) + 1 if len(below) else 0
    since = _iso(start_s + round(float(frame["hours"].iat[i]) * 3600))
    return (f"life-threatening withdrawal untreated since {since} and at the end of the run: "
            "it does not resolve at home and needs intensive care and intrathecal baclofen "
            "restored; its course after this point is beyond the model")


def _alarm_json(span: AlarmSpan) -> dict[str, Any]:
    return {"kind": span.kind, "critical": span.critical, "raised": _iso(span.raised_s),
            "cleared": None if span.cleared_s is None else _iso(span.cleared_s)}


def summarize(result: SimulationResult, frame: pd.DataFrame) -> dict[str, Any]:
    """The summary as a JSON-able dict (see the module docstring and docs/sim.md)."""
    scenario = result.scenario
    start_s = scenario.start_s
    therapy_from = result.implant_times_s[0] if result.implant_times_s else start_s
    therapy_from = max(therapy_from, start_s)
    out: dict[str, Any] = {
        "scenario": {"name": scenario.name, "source": scenario.source,
                     "start": _iso(start_s), "end": _iso(scenario.end_s),
                     "duration_days": to_exact_str(scenario.spec.scenario.duration_days)},
        "patient": _patient_json(result),
        "implanted": result.implanted,
    }
    if result.screening is not None:
        record = result.screening.record
        out["screening"] = {
            "decision": record.decision.value, "reason": record.reason,
            "boluses": [{"time": _iso(t), "dose_mcg": to_exact_str(b.dose_mcg),
                         "ashworth_before": b.before.ashworth, "ashworth_after": b.after.ashworth,
                         "penn_before": b.before.spasm_frequency,
                         "penn_after": b.after.spasm_frequency, "positive": positive,
                         "effect_duration_h": None if b.effect_duration_h is None
                         else to_exact_str(b.effect_duration_h)}
                        for t, b, positive in zip(result.screening.bolus_times_s, record.boluses,
                                                  record.responses, strict=True)],
            "initial_daily_dose_mcg": None if record.initial_dose is None
            else to_exact_str(record.initial_dose.daily_dose_mcg),
            "notes": list(result.screening.notes),
        }
    alarms = [a for a in result.alarms if a.raised_s >= start_s]
    first_alarm = alarms[0] if alarms else None
    out["first_alarm"] = None if first_alarm is None else {
        **_alarm_json(first_alarm), "hours_after_start": _hours(first_alarm.raised_s - start_s)}
    out["alarms"] = [_alarm_json(a) for a in result.alarms]
    first = _first_symptom(frame, start_s, therapy_from)
    if first is not None:
        facts = pump_facts_at(result, first["time_s"])
        verdict = triage(first["symptoms"], facts)
        first["hours_after_start"] = _hours(first.pop("time_s") - start_s)
        first["pump_facts"] = facts.described()
        first["triage"] = verdict.as_json()
    out["first_symptom"] = first
    out["first_side_effect"] = _first_side_effect(frame, start_s, therapy_from)
    out["worst"] = {
        "withdrawal": _worst(frame, "withdrawal_stage", WITHDRAWAL_STAGE_NAMES, start_s),
        "overdose": _worst(frame, "overdose_stage", OVERDOSE_STAGE_NAMES, start_s),
        "max_ashworth": round(float(frame["ashworth"].max()), 2) if len(frame) else None,
        "min_ashworth": round(float(frame["ashworth"].min()), 2) if len(frame) else None,
        "side_effects": _side_effects_seen(frame, start_s, therapy_from),
    }
    out["beyond_model"] = _beyond_model(frame, start_s)
    out["calls"] = [_call_json(result, frame, t, names) for t, names in result.calls]
    out["faults"] = [_fault_json(result, frame, f.time_s, f.fault, f.detail)
                     for f in result.faults]
    out["refills"] = [_refill_json(r) for r in result.refills]
    h = result.history
    out["delivery"] = {
        "csf_mcg": to_exact_str(sum((s.mcg for s in h.csf), Fraction(0))),
        "leaked_mcg": to_exact_str(sum((s.mcg for s in h.leak), Fraction(0))),
        "pocket_mcg": to_exact_str(sum((d.mcg for d in h.deposits), Fraction(0))),
        "commanded_mcg": to_exact_str(sum((s.ideal_mcg for s in h.commanded), Fraction(0))),
    }
    out["pump_at_end"] = None if result.final_status is None else {
        k: result.final_status[k] for k in ("serial", "model", "battery_state", "mode",
                                            "reservoir_estimate_nl", "concentration_mcg_per_ml")}
    out["refused"] = [{"time": _iso(e.time_s), "detail": e.detail}
                      for e in result.events if e.kind == "refused"]
    out["events"] = len(result.events)
    return out


def _patient_json(result: SimulationResult) -> dict[str, Any]:
    p = result.parameters
    section = result.scenario.spec.patient
    return {
        "origin": p.origin,
        "kind": ("population draw" if section.population_seed is not None else
                 "explicit" if section.kinetics.model_dump(exclude_none=True)
                 or section.response.model_dump(exclude_none=True) else "typical"),
        "established": result.scenario.established,
        "clearance_ml_per_h": round(p.kinetics.clearance_ml_per_h, 3),
        "half_life_h": round(p.kinetics.half_life_h, 3),
        "lumbar_to_cisternal_ratio": round(p.kinetics.lumbar_to_cisternal_ratio, 3),
        "ec50_initial_mcg_per_ml": round(p.response.ec50_initial_mcg_per_ml, 4),
        "baseline_ashworth": round(p.response.baseline_ashworth, 2),
    }


def _fault_json(result: SimulationResult, frame: pd.DataFrame, time_s: int, fault: str,
                detail: str) -> dict[str, Any]:
    alarm = next((a for a in result.alarms if a.raised_s >= time_s), None)
    discrepancy = next((r for r in result.refills
                        if r.time_s >= time_s and r.check.startswith("discrepancy")), None)
    symptom = _first_symptom(frame, result.scenario.start_s, time_s)
    check = next((e for e in result.events if e.kind == "catheter_check"
                  and e.time_s >= time_s and "no fault found" not in e.detail), None)
    signals = []
    if check is not None:
        signals.append((check.time_s, 0, "catheter check on a poor response"))
    # At the same moment the discrepancy comes first: an alarm then is its consequence (a
    # blocked refill leaves the pump emptied, issue 16.8).
    if alarm is not None:
        signals.append((alarm.raised_s, 1, "alarm: " + alarm.kind))
    if discrepancy is not None:
        signals.append((discrepancy.time_s, 0, "refill residual discrepancy"))
    detected = min(signals) if signals else None
    return {
        "time": _iso(time_s), "fault": fault, "detail": detail,
        "first_alarm_after": None if alarm is None else {
            "kind": alarm.kind, "time": _iso(alarm.raised_s),
            "hours_after_fault": _hours(alarm.raised_s - time_s)},
        "first_discrepancy_after": None if discrepancy is None else {
            "time": _iso(discrepancy.time_s),
            "hours_after_fault": _hours(discrepancy.time_s - time_s)},
        "first_symptom_after": None if symptom is None else {
            "time": symptom["time"], "symptoms": symptom["symptoms"],
            "hours_after_fault": _hours(symptom["time_s"] - time_s)},
        "detected_by": None if detected is None else detected[2],
        "hours_to_detection": None if detected is None else _hours(detected[0] - time_s),
    }


def _refill_json(record: Any) -> dict[str, Any]:
    def ml(value: int | None) -> str | None:
        return None if value is None else to_exact_str(Fraction(value, NL_PER_ML))

    return {
        "time": _iso(record.time_s), "outcome": record.outcome, "error": record.error,
        "expected_residual_ml": ml(record.expected_residual_nl),
        "withdrawn_ml": ml(record.withdrawn_nl), "discrepancy_ml": ml(record.discrepancy_nl),
        "check": record.check, "added_ml": ml(record.added_nl),
        "concentration_mcg_per_ml": None if record.concentration_mcg_per_ml is None
        else to_exact_str(record.concentration_mcg_per_ml),
        "true_concentration_mcg_per_ml": None if record.true_concentration_mcg_per_ml is None
        else to_exact_str(record.true_concentration_mcg_per_ml),
        "pocket_fill_ml": ml(record.pocket_fill_nl), "bridge_bolus": record.bridge_bolus,
    }
