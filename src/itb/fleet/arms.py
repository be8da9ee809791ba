"""A study with arms (`[arms.NAME]`, each overriding keys of [care]): the arms side by side.

Pure: each arm's summary in (as `itb fleet run` writes it in `DIR/<arm>/`), a JSON-able dict
out (`DIR/arms.json`) and its text. The arms share the seed, so they follow the same
patients with the same faults (common random numbers); each figure keeps its own interval
(`summary.py`), and `itb fleet compare DIR/A DIR/B` gives the difference of any two.
"""

from __future__ import annotations

from typing import Any

from itb.fleet.study import Study

# What a reminder-policy comparison looks at, per 1,000 patient-years (summary "incidence").
RATES = ("refills_missed", "escalations", "escalations_critical", "any_withdrawal",
         "severe_withdrawal")


def arms_summary(study: Study, summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    arms = {}
    for name, summary in summaries.items():
        arms[name] = {
            "digest": summary["study"]["digest"],
            "patient_years": summary["patient_years"],
            "care": study.with_arm(name).spec.care.model_dump(
                mode="json", include=set(study.spec.arms[name])),
            **{rate: summary["incidence"][rate] for rate in RATES},
            "withdrawal_days_per_patient_year":
                summary["adherence"]["withdrawal_days_per_patient_year"],
            "reminders": summary["adherence"]["reminders"],
        }
    spec = study.spec.study
    return {"study": {"name": spec.name, "seed": spec.seed, "years": float(spec.years),
                      "patients": study.patients, "digest": study.digest},
            "arms": arms}


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _with_ci(value: float | None, ci: list[float | None]) -> str:
    return f"{_num(value)} ({_num(ci[0])}-{_num(ci[1])})"


def render_text(result: dict[str, Any]) -> str:
    """One line per arm: each rate per 1,000 patient-years and the days in withdrawal per
    patient-year, with their 95 % intervals."""
    head = ["arm", *(r.replace("_", " ") for r in RATES), "withdrawal days/patient-year"]
    rows = [head]
    for name, arm in result["arms"].items():
        days = arm["withdrawal_days_per_patient_year"]
        rows.append([name, *(_with_ci(arm[r]["per_1000_patient_years"], arm[r]["ci95"])
                             for r in RATES), _with_ci(days["mean"], days["ci95"])])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    study = result["study"]
    lines = [f"{study['name']}: {study['patients']} patients × {study['years']:g} years per "
             "arm; rates per 1,000 patient-years (95% CI)"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip() for row in rows]
    return "\n".join(lines)
