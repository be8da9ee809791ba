"""The run as one PNG: reservoir, delivered dose, CSF concentration, spasticity, stages.

Drawn with matplotlib's object API on the Agg canvas (no pyplot global state, no
display). Firmware alarms are marked as red (critical) or orange (non-critical) lines
in every panel; clinical acts and faults as grey dotted lines, labelled on top.
Returns PNG bytes: writing them is the caller's job.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from itb.physiology.overdose import STAGE_NAMES as OVERDOSE_STAGE_NAMES
from itb.physiology.withdrawal import STAGE_NAMES as WITHDRAWAL_STAGE_NAMES
from itb.sim.runner import SimulationResult

# Acts and faults worth a marker (the pump's own log is in events.csv).
MARKED_KINDS = {
    "pump_implanted": "implant", "refill": "refill", "refill_missed": "missed refill",
    "refill_blocked": "refill blocked", "refill_discrepancy": "residual discrepancy",
    "program": "program", "bolus": "bolus", "fault": "fault",
    "motor_stall_ends": "stall ends", "catheter_revision": "catheter revision",
    "pump_explanted": "pump replaced", "screening_bolus": "screening bolus",
    "pump_stopped": "stop", "pump_resumed": "resume", "reservoir_emptied": "emptied",
    "restart_retitrated": "re-titrated restart", "access_port_bolus": "access port bolus",
    "patient_call": "call",
}
_FIG_WIDTH_IN, _DPI = 13, 100
# A vertical label at 7 pt is about 10 px wide; labels closer than this (in pixels of the
# figure) are merged into one, so no two labels overlap (issue 9.15).
_LABEL_GAP_PX = 14.0
_AXES_WIDTH_PX = 1100.0  # the panels' width inside the 13-inch figure (constrained layout)
_LABEL_MAX_CHARS = 48  # about the top panel's height at 7 pt


def group_labels(positions: list[float], texts: list[str], min_gap: float
                 ) -> list[tuple[float, str, list[int]]]:
    """Labels along one axis with no two closer than `min_gap`: from the left, each label
    takes in every later one that starts less than `min_gap` after it (texts joined once
    each, a repeat counted). Returns (position, text, indices of the merged items)."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    groups: list[tuple[float, list[int]]] = []
    for i in order:
        if groups and positions[i] - groups[-1][0] < min_gap:
            groups[-1][1].append(i)
        else:
            groups.append((positions[i], [i]))
    out = []
    for x, members in groups:
        counts: dict[str, int] = {}
        for i in members:
            counts[texts[i]] = counts.get(texts[i], 0) + 1
        text = " + ".join(t if n == 1 else f"{t} x{n}" for t, n in counts.items())
        if len(text) > _LABEL_MAX_CHARS:  # it must fit in the panel's height
            text = text[:_LABEL_MAX_CHARS - 12].rstrip(" +") + f" ... ({len(members)})"
        out.append((x, text, members))
    return out


def _x_axis(frame: pd.DataFrame) -> tuple[np.ndarray, str, float]:
    hours = frame["hours"].to_numpy()
    span = hours[-1] if len(hours) else 0.0
    if span > 72:
        return hours / 24.0, "days since the scenario start", 24.0
    return hours, "hours since the scenario start", 1.0


def render_png(result: SimulationResult, frame: pd.DataFrame) -> bytes:
    """The five-panel overview of a run, as PNG bytes."""
    buffer = io.BytesIO()
    build_figure(result, frame).savefig(buffer, format="png")
    return buffer.getvalue()


def build_figure(result: SimulationResult, frame: pd.DataFrame) -> Figure:
    """The five-panel overview of a run (Agg canvas attached)."""
    x, xlabel, per = _x_axis(frame)
    fig = Figure(figsize=(_FIG_WIDTH_IN, 14), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(5, 1, sharex=True)
    fig.suptitle(f"{result.scenario.name}  ({result.scenario.start:%Y-%m-%d %H:%M} UTC start)",
                 fontsize=12)

    ax = axes[0]
    ax.plot(x, frame["reservoir_true_ml"], color="tab:blue", lw=1.2, label="true reservoir")
    ax.plot(x, frame["reservoir_estimate_ml"], color="tab:cyan", lw=1.0, ls="--",
            label="firmware estimate")
    ax.set_ylabel("reservoir (mL)")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[1]
    ax.plot(x, frame["delivered_mcg_per_day"], color="tab:green", lw=0.8,
            label="true dose into CSF")
    ax.plot(x, frame["commanded_mcg_per_day"], color="black", lw=0.6, alpha=0.6, ls="--",
            label="commanded by firmware")
    ax.set_ylabel("dose rate (mcg/day)")
    top = np.nanpercentile(np.concatenate([frame["delivered_mcg_per_day"].to_numpy(),
                                           frame["commanded_mcg_per_day"].to_numpy()]), 99.5) \
        if len(frame) else 1.0
    ax.set_ylim(0, max(1.0, float(top) * 1.3))
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[2]
    ax.plot(x, frame["lumbar_csf_mcg_per_ml"], color="tab:purple", lw=1.0, label="lumbar CSF")
    ax.plot(x, frame["cisternal_csf_mcg_per_ml"], color="tab:pink", lw=0.8,
            label="cisternal CSF")
    ax.plot(x, frame["effect_site_mcg_per_ml"], color="tab:brown", lw=0.8, ls=":",
            label="spinal cord (effect site)")
    ax.set_ylabel("concentration (mcg/mL)")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[3]
    ax.plot(x, frame["ashworth"], color="tab:red", lw=1.0, label="Modified Ashworth (0-4)")
    ax.set_ylim(0, 4.2)
    ax.set_ylabel("spasticity (MAS)")
    twin = ax.twinx()
    twin.plot(x, frame["spasms_per_hour"], color="tab:gray", lw=0.6, alpha=0.7)
    twin.set_ylim(bottom=0)
    twin.set_ylabel("spasms/h", color="tab:gray")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[4]
    ax.step(x, frame["withdrawal_stage"], where="post", color="tab:orange", lw=1.4,
            label="withdrawal stage")
    ax.step(x, frame["overdose_stage"], where="post", color="tab:blue", lw=1.4,
            label="overdose stage")
    side = frame["side_effects"].to_numpy(dtype=bool)
    if side.any():
        ax.fill_between(x, -0.2, 0.35, where=side, step="post", color="tab:cyan", alpha=0.35,
                        label="side effects (seed 001)")
    ax.set_ylim(-0.2, 4.4)
    ax.set_yticks(range(5))
    ax.set_yticklabels([f"{i} {w}/{o}" for i, (w, o) in
                        enumerate(zip(WITHDRAWAL_STAGE_NAMES, OVERDOSE_STAGE_NAMES,
                                      strict=True))], fontsize=7)
    ax.set_ylabel("symptom stage\n(withdrawal/overdose)")
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper right", fontsize=8)

    span_x = _mark_events(result, axes, per)
    for a in axes:
        a.grid(True, alpha=0.25)
    axes[-1].set_xlim(0, span_x)  # the scenario's window (a pump history may come before)
    return fig


def _mark_events(result: SimulationResult, axes: Any, per: float) -> float:
    """Alarm and act lines in every panel, labelled without overlap; returns the x span."""
    start_s = result.scenario.start_s

    def at(time_s: int) -> float:
        return (time_s - start_s) / 3600.0 / per

    span_x = (result.scenario.end_s - start_s) / 3600.0 / per

    def inside(time_s: int) -> bool:
        return start_s <= time_s <= result.scenario.end_s

    # Alarms (red critical, orange otherwise) and acts (grey) share one row of labels.
    positions: list[float] = []
    texts: list[str] = []
    colours: list[str] = []
    for span in [a for a in result.alarms if inside(a.raised_s)]:
        colour = "red" if span.critical else "orange"
        for a in axes:
            a.axvline(at(span.raised_s), color=colour, lw=1.0, alpha=0.8)
        positions.append(at(span.raised_s))
        texts.append(f"alarm: {span.kind}")
        colours.append(colour)
    marked = [e for e in result.events if e.kind in MARKED_KINDS and inside(e.time_s)]
    for e in marked:
        for a in axes:
            a.axvline(at(e.time_s), color="grey", lw=0.6, ls=":", alpha=0.8)
        positions.append(at(e.time_s))
        texts.append(MARKED_KINDS[e.kind])
        colours.append("dimgray")
    gap = max(span_x, 1e-9) * _LABEL_GAP_PX / _AXES_WIDTH_PX
    for x_label, text, members in group_labels(positions, texts, gap):
        member_colours = {colours[i] for i in members}
        colour = next((c for c in ("red", "orange") if c in member_colours), "dimgray")
        axes[0].annotate(text, (x_label, 0.02), xycoords=("data", "axes fraction"),
                         rotation=90, fontsize=7, color=colour, va="bottom", ha="left",
                         gid="event-label")
    return span_x
