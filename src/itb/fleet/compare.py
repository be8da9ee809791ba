"""Two studies side by side: for every incidence, B minus A and B over A with 95 % CIs.

Pure: two summaries in (as `itb fleet run` writes them), a JSON-able dict out. The rate
difference has a Wald interval; the rate ratio the exact conditional one (`stats`).
"""

from __future__ import annotations

from typing import Any

from itb.fleet import stats


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    t1, t2 = float(a["patient_years"]), float(b["patient_years"])
    rows: dict[str, Any] = {}
    for name in a["incidence"]:
        if name not in b["incidence"]:
            continue
        k1, k2 = a["incidence"][name]["count"], b["incidence"][name]["count"]
        rows[name] = {"a": a["incidence"][name], "b": b["incidence"][name],
                      "difference_b_minus_a": stats.rate_difference(k1, t1, k2, t2),
                      "ratio_b_over_a": stats.rate_ratio(k1, t1, k2, t2)}
    return {"a": {"name": a["study"]["name"], "patient_years": t1, "care": a.get("care")},
            "b": {"name": b["study"]["name"], "patient_years": t2, "care": b.get("care")},
            "policy_differences": {k: [a["care"][k], b["care"][k]] for k in sorted(a["care"])
                                   if a.get("care") and b.get("care")
                                   and a["care"][k] != b["care"].get(k)},
            "incidence": rows}


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def render_text(result: dict[str, Any]) -> str:
    lines = [f"A: {result['a']['name']} ({result['a']['patient_years']:g} patient-years)",
             f"B: {result['b']['name']} ({result['b']['patient_years']:g} patient-years)"]
    for key, (va, vb) in result["policy_differences"].items():
        lines.append(f"  policy {key}: A {va}, B {vb}")
    lines.append(f"{'per 1,000 patient-years':<28}{'A':>9}{'B':>9}  {'B-A (95% CI)':<26}"
                 "B/A (95% CI)")
    for name, row in result["incidence"].items():
        if not (row["a"]["count"] or row["b"]["count"]):
            continue
        d, r = row["difference_b_minus_a"], row["ratio_b_over_a"]
        diff = f"{_num(d['per_1000_patient_years'])} ({_num(d['ci95'][0])} to " \
               f"{_num(d['ci95'][1])})"
        ratio = f"{_num(r['ratio'])} ({_num(r['ci95'][0])} to {_num(r['ci95'][1])})"
        lines.append(f"{name.replace('_', ' '):<28}{_num(row['a']['per_1000_patient_years']):>9}"
                     f"{_num(row['b']['per_1000_patient_years']):>9}  {diff:<26}{ratio}")
    return "\n".join(lines)
