"""summary.json from a study's tables: incidences with exact 95 % intervals, time from fault
to detection, Kaplan-Meier device survival beside the field figures it was calibrated to.

Pure: tables in, a JSON-able dict out (floats rounded, keys sorted when written), so the
same tables always give the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from itb.fleet import stats
from itb.fleet.runstate import FAULT_KINDS, ROUTES
from itb.fleet.study import Study

MONTH_DAYS = 365 / 12
# Secondary field figures (devices.md, "Motor stall"): survival free of motor stall at
# 6 years, 97.3 % on-label and 91.1 % off-label (as reported by FDAnews, 2013).
SIX_YEAR_FIELD = {"approved": 0.973, "unapproved": 0.911}


def adherence(p: dict[str, list[Any]], sums: dict[str, int]) -> dict[str, Any]:
    """Reminders sent and the days in withdrawal per patient-year (missed refills and their
    escalations are incidences)."""
    days = np.asarray(p["withdrawal_hours"], dtype=float) / 24 / np.asarray(p["years"],
                                                                            dtype=float)
    return {
        "reminders": sums["reminders"],
        "withdrawal_days_per_patient_year": stats.mean_ci(days),
    }


def summarize(study: Study, patients: pa.Table, events: pa.Table) -> dict[str, Any]:
    spec = study.spec
    p = patients.to_pydict()
    patient_years = float(sum(p["years"]))
    sums = {name: int(sum(p[name])) for name in patients.column_names
            if name.endswith("episodes") or name.startswith(("fault_", "detected_", "alarm_",
                                                               "refills", "residual",
                                                               "revisions", "calls",
                                                               "pumps", "reminders",
                                                               "escalations"))}
    incidence = {
        "severe_withdrawal": stats.incidence(sums["severe_withdrawal_episodes"], patient_years),
        "any_withdrawal": stats.incidence(sums["withdrawal_episodes"], patient_years),
        "overdose": stats.incidence(sums["overdose_episodes"], patient_years),
        **{name: stats.incidence(sums[name], patient_years)
           for name in ("refills_missed", "escalations", "escalations_critical")},
        **{f"fault_{k}": stats.incidence(sums[f"fault_{k}"], patient_years)
           for k in FAULT_KINDS},
        **{f"detected_by_{r}": stats.incidence(sums[f"detected_{r}"], patient_years)
           for r in ROUTES},
    }
    severe_patients = int(np.sum(np.asarray(p["severe_withdrawal_episodes"]) > 0))
    return {
        "adherence": adherence(p, sums),
        "study": {"name": spec.study.name, "arm": study.arm, "digest": study.digest,
                  "seed": spec.study.seed,
                  "years": float(spec.study.years), "patients": study.patients},
        "patient_years": stats.rounded(patient_years),
        "incidence": incidence,
        "patients_with_severe_withdrawal": {
            "count": severe_patients, "share": stats.rounded(severe_patients / study.patients)},
        "counts": sums,
        "time_to_detection": detection_times(events),
        "device_survival": device_survival(study, patients, events),
        "hazards": {name: {"source": hazard.source, "unconfirmed": hazard.unconfirmed}
                    for name, hazard in spec.hazards if hazard is not None},
        "care": spec.care.model_dump(mode="json"),
    }


def detection_times(events: pa.Table) -> dict[str, Any]:
    """Hours from fault to detection by fault and route; undetected faults counted."""
    e = events.filter(pa.compute.equal(events["category"], "detection")).to_pydict()
    kinds = np.asarray(e["kind"], dtype=object)
    routes = np.asarray(e["detail"], dtype=object)
    hours = np.asarray(e["value"], dtype=float)
    out: dict[str, Any] = {}
    for kind in FAULT_KINDS:
        mine = kinds == kind
        if not mine.any():
            continue
        by_route = {route: stats.quantiles(hours[mine & (routes == route)]) for route in ROUTES
                    if (mine & (routes == route)).any()}
        out[kind] = {"by_route": by_route,
                     "all_routes": stats.quantiles(hours[mine & (routes != "undetected")]),
                     "undetected": int(np.sum(mine & (routes == "undetected")))}
    return out


def pump_lives(patients: pa.Table, events: pa.Table) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each pump's age at explant (months) and whether it stalled, by the patient's drug."""
    e = events.filter(pa.compute.and_(pa.compute.equal(events["category"], "pump"),
                                      pa.compute.equal(events["kind"], "explant"))).to_pydict()
    unapproved = dict(zip(patients["patient"].to_pylist(),
                          patients["unapproved_drug"].to_pylist(), strict=True))
    groups: dict[str, tuple[list[float], list[bool]]] = {"approved": ([], []),
                                                         "unapproved": ([], [])}
    for who, age_days, reason in zip(e["patient"], e["value"], e["detail"], strict=True):
        months, stalled = groups["unapproved" if unapproved[who] else "approved"]
        months.append(age_days / MONTH_DAYS)
        stalled.append(reason == "motor_stall")
    return {g: (np.asarray(m, dtype=float), np.asarray(s, dtype=bool))
            for g, (m, s) in groups.items()}


def device_survival(study: Study, patients: pa.Table, events: pa.Table) -> dict[str, Any]:
    hazard = study.spec.hazards.motor_stall
    horizon = hazard.at_months if hazard is not None else 78
    out: dict[str, Any] = {"event": "motor stall", "time_unit": "months of pump age"}
    for group, (months, stalled) in pump_lives(patients, events).items():
        km = stats.kaplan_meier(months, stalled, [72.0, float(horizon)])
        field = []
        if hazard is not None:
            cumulative = hazard.approved_cumulative if group == "approved" \
                else hazard.unapproved_cumulative
            field.append({"months": horizon, "survival": stats.rounded(1 - cumulative),
                          "source": hazard.source})
        field.append({"months": 72, "survival": SIX_YEAR_FIELD[group],
                      "source": "devices.md: 97.3 % on-label, 91.1 % off-label at 6 years "
                                "(secondary, FDAnews 2013)"})
        for point in field:
            estimate = km["at"].get(f"{point['months']:g}")
            point["within_ci"] = None if estimate is None else bool(
                estimate["ci95"][0] <= point["survival"] <= estimate["ci95"][1])
        out[group] = {**km, "field": field}
    return out


def dumps(summary: dict[str, Any]) -> str:
    return json.dumps(summary, sort_keys=True, indent=2, allow_nan=False) + "\n"
