"""The study's pictures (matplotlib, Agg), as PNG bytes: device survival beside its field
figures, incidences with their intervals, and time from fault to detection."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pyarrow as pa

from itb.fleet import stats
from itb.fleet.summary import pump_lives

COLOURS = {"approved": "tab:blue", "unapproved": "tab:red"}


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def survival_png(summary: dict[str, Any], patients: pa.Table, events: pa.Table) -> bytes:
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for group, (months, stalled) in pump_lives(patients, events).items():
        if not len(months):
            continue
        km = stats.kaplan_meier(months, stalled, [], with_curve=True)
        t = [row[0] for row in km["curve"]]
        axis.step(t, [row[1] for row in km["curve"]], where="post", color=COLOURS[group],
                  label=f"{group} drug: {km['units']} pumps, {km['events']} stalls")
        axis.fill_between(t, [row[2] for row in km["curve"]], [row[3] for row in km["curve"]],
                          step="post", color=COLOURS[group], alpha=0.15)
        for point in summary["device_survival"][group]["field"]:
            axis.plot([point["months"]], [point["survival"]], marker="D", linestyle="none",
                      color=COLOURS[group], markeredgecolor="black")
    axis.plot([], [], marker="D", linestyle="none", color="grey", markeredgecolor="black",
              label="field figures (FDA 2013 via devices.md)")
    axis.set_xlabel("pump age (months)")
    axis.set_ylabel("survival free of motor stall")
    axis.set_ylim(0.85, 1.002)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left", fontsize=8)
    axis.set_title(f"Device survival (Kaplan-Meier, 95 % CI): {summary['study']['name']}")
    figure.tight_layout()
    return _png(figure)


def incidence_png(summary: dict[str, Any]) -> bytes:
    items = [(k, v) for k, v in summary["incidence"].items() if v["count"] or
             not k.startswith(("fault_", "detected_"))]
    figure, axis = plt.subplots(figsize=(8, 0.45 * len(items) + 1.2))
    for row, (_name, value) in enumerate(reversed(items)):
        rate, (low, high) = value["per_1000_patient_years"], value["ci95"]
        axis.errorbar([rate], [row], xerr=[[rate - low], [high - rate]], fmt="o",
                      color="tab:purple", capsize=3)
    axis.set_yticks(range(len(items)), [k.replace("_", " ") for k, _ in reversed(items)],
                    fontsize=8)
    axis.set_xlabel("per 1,000 patient-years (exact Poisson 95 % CI)")
    axis.grid(axis="x", alpha=0.3)
    axis.set_title(f"Incidence: {summary['study']['name']} "
                   f"({summary['patient_years']:g} patient-years)")
    figure.tight_layout()
    return _png(figure)


def detection_png(summary: dict[str, Any]) -> bytes:
    rows = [(f"{kind.replace('_', ' ')} / {route}", q)
            for kind, item in summary["time_to_detection"].items()
            for route, q in item["by_route"].items()]
    figure, axis = plt.subplots(figsize=(8, 0.45 * max(1, len(rows)) + 1.2))
    for i, (_label, q) in enumerate(rows):
        axis.barh(i, q["p90_hours"], color="tab:orange", alpha=0.4)
        axis.barh(i, q["median_hours"], color="tab:orange")
    axis.set_yticks(range(len(rows)), [f"{label} (n={q['n']})" for label, q in rows],
                    fontsize=8)
    axis.set_xlabel("hours from fault to detection (dark: median, light: 90th percentile)")
    axis.grid(axis="x", alpha=0.3)
    axis.set_title("Time to detection by fault and route")
    figure.tight_layout()
    return _png(figure)


def render_all(summary: dict[str, Any], patients: pa.Table, events: pa.Table
               ) -> dict[str, bytes]:
    return {"survival.png": survival_png(summary, patients, events),
            "incidence.png": incidence_png(summary),
            "detection.png": detection_png(summary)}
