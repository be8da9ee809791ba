"""The session report: one self-contained HTML file the clinic files in the chart.

It holds the final interrogation, the changes made in the session (from the session
journal), the refill record, and two plots drawn with matplotlib and embedded as
base64 PNGs: the active program's 24-hour dose profile and the projected reservoir
volume until it runs empty. The projection walks the program's real rate segments
(`itb.therapy.flex.segments`), so the plotted line is exact at every corner.
"""

from __future__ import annotations

import base64
import io
import textwrap
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")  # no display: the report is written in a terminal or in CI
import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from itb.programmer import schedule as sched
from itb.programmer.bridging import with_bridge_ends
from itb.programmer.journal import JournalEntry
from itb.programmer.render import ROUNDING_NOTE, program_line, when
from itb.programmer.view import PumpView, view_to_json
from itb.therapy.flex import add_seconds, segments
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY, display

TEMPLATES = Path(__file__).with_name("templates")
# The projection stops at empty, or after this many days for a very slow program.
MAX_PROJECTION_DAYS = 400


def reservoir_curve(view: PumpView) -> list[tuple[datetime, Fraction]]:
    """(instant, reservoir estimate in mL) at every rate change from now until empty."""
    if view.schedule is None:
        return []
    conc = view.concentration_mcg_per_ml
    left_nl = Fraction(view.reservoir_estimate_nl)
    now = view.now
    points = [(now, left_nl / NL_PER_ML)]
    horizon = now + timedelta(days=MAX_PROJECTION_DAYS)
    for segment in segments(view.schedule, now):
        rate_nl_per_s = segment.dose_mcg_per_day * NL_PER_ML / conc / SECONDS_PER_DAY
        length_s = Fraction(int((segment.end - segment.start).total_seconds()))
        volume = rate_nl_per_s * length_s
        if volume >= left_nl:
            seconds = left_nl / rate_nl_per_s
            points.append((add_seconds(segment.start, seconds), Fraction(0)))
            break
        left_nl -= volume
        points.append((segment.end, left_nl / NL_PER_ML))
        if segment.end >= horizon:
            break
    return points


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def dose_profile_figure(view: PumpView) -> Figure | None:
    if view.hourly is None:
        return None
    figure, axes = plt.subplots(figsize=(7, 2.6))
    hours = [row.hour for row in view.hourly]
    # Plot coordinates only: the exact figures are in the table beside the plot.
    doses = [float(row.dose_mcg) for row in view.hourly]
    axes.bar(hours, doses, width=0.9, align="edge", color="#3b6ea8")
    axes.set_xlim(0, 24)
    axes.set_xticks(range(0, 25, 3))
    offset = 0 if view.program is None else sched.utc_offset_minutes(view.program)
    axes.set_xlabel(f"local hour ({sched.offset_text(offset)})")
    axes.set_ylabel("mcg per hour")
    axes.set_title("24-hour dose profile of the active program")
    axes.grid(axis="y", alpha=0.3)
    return figure


def reservoir_figure(view: PumpView) -> Figure | None:
    curve = reservoir_curve(view)
    if len(curve) < 2:
        return None
    figure, axes = plt.subplots(figsize=(7, 2.8))
    # Plot coordinates only (float); the dates in the text are exact to the microsecond.
    axes.plot([p[0] for p in curve], [float(p[1]) for p in curve], color="#3b6ea8",
              label="reservoir estimate")
    alarm_ml = float(Fraction(view.report.reservoir.low_reservoir_alarm_nl, NL_PER_ML))
    axes.axhline(alarm_ml, color="#c47f00", linestyle="--", label="low-reservoir alarm volume")
    plan = view.projection.plan
    if plan is not None:
        axes.axvline(plan.alarm_at, color="#c47f00", linestyle=":", label="alarm date")
        axes.axvline(plan.refill_by, color="#2e8b57", linestyle=":", label="refill by")
    axes.set_ylabel("mL")
    axes.set_title("Projected reservoir volume (running the active program)")
    axes.legend(fontsize=7, loc="upper right")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return figure


def _png_of(figure: Figure | None) -> str | None:
    return None if figure is None else _png(figure)


def sessions_label(entries: list[JournalEntry]) -> str:
    """Which session(s) the report covers (journal session ids, oldest first)."""
    ids = list(dict.fromkeys(e.session or "(before session ids)" for e in entries))
    if len(ids) == 1:
        return f"session {ids[0]}"
    return f"{len(ids)} sessions: " + ", ".join(ids)


def render_report(view: PumpView, entries: list[JournalEntry], *, generated_at: datetime,
                  session_file: str) -> str:
    """The report as one HTML string (no external files, scripts or fonts)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                     autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.get_template("report.html.j2")
    data = view_to_json(view)
    changes = [e for e in entries if e.kind not in ("interrogation", "log_view")]
    refills = with_bridge_ends(view, [e.details["refill"] for e in entries
                                      if e.kind == "refill" and "refill" in e.details])
    interrogations = [e for e in entries if e.kind == "interrogation"]
    first = interrogations[0].details.get("interrogation") if interrogations else None
    hourly = [] if view.hourly is None else [
        {"hour": f"{row.hour:02d}:00", "dose": display(row.dose_mcg),
         "rate": display(row.rate_mcg_per_day)} for row in view.hourly]
    return template.render(
        view=view, data=data, when=when, display=display, program_line=program_line,
        generated_at=when(generated_at), session_file=session_file,
        sessions=sessions_label(entries), changes=changes,
        refills=refills, first_interrogation=first, hourly=hourly,
        daily_total=None if view.hourly is None else display(sum(
            (row.dose_mcg for row in view.hourly), Fraction(0))),
        dose_png=_png_of(dose_profile_figure(view)), reservoir_png=_png_of(reservoir_figure(view)),
        rounding_note=ROUNDING_NOTE)


# ---- PDF (matplotlib's PDF backend: no further dependency) -----------------------------------

A4_INCHES = (8.27, 11.69)
LINES_PER_PAGE = 72
WRAP_COLUMNS = 105


def report_lines(view: PumpView, entries: list[JournalEntry], *, generated_at: datetime,
                 session_file: str) -> list[str]:
    """The report's text, line by line, for the PDF (the HTML has the same content)."""
    data = view_to_json(view)
    plan = view.projection.plan
    lines = [f"Programming session report, pump {data['serial']}",
             "itb simulation: not a medical device, not medical advice.",
             f"Generated {when(generated_at)} (programmer clock) from {session_file}, "
             f"{sessions_label(entries)}.", "",
             "INTERROGATION",
             f"Pump: {data['serial']}, {data['model']} ({data['model_description']})",
             f"Implanted: {when(view.report.implanted)}; pump clock {when(view.now)}",
             f"Battery: {data['battery_status']}; expected ERI {when(view.battery_eri_at)}",
             f"Reservoir: {data['reservoir_estimate_ml']} mL estimated (capacity "
             f"{data['reservoir_capacity_ml']} mL, alarm at {data['low_reservoir_alarm_ml']} mL)",
             f"Drug: {data['concentration_mcg_per_ml']} mcg/mL",
             f"Program: {program_line(view.program)}",
             f"Daily dose: {data['daily_dose_mcg'] or '-'} mcg/day",
             f"Infusion: {data['infusion_state']}",
             "Low-reservoir alarm: " + ("due now" if data["low_reservoir_alarm_due"]
                                        else when(view.projection.low_reservoir_alarm_at)),
             "Refill by: " + ("-" if plan is None
                              else f"{when(plan.refill_by)} ({plan.refill_by_reason})"),
             "Alarms: " + (", ".join(
                 f"{a['kind']} ({'critical' if a['critical'] else 'non-critical'}, since "
                 f"{a['since']})" for a in data["alarms"]) or "none"),
             "", "CHANGES MADE IN THIS SESSION"]
    changes = [e for e in entries if e.kind not in ("interrogation", "log_view")]
    lines += [f"{e.pump_time or '-'}  {e.kind} [{e.outcome}]: {e.summary}"
              + (f" Override reason: {e.details['override_reason']}."
                 if e.details.get("override_reason") else "")
              + "".join(f" Guardrail {g['tier']}: {g['sentence']}."
                        for g in e.details.get("guardrails") or []) for e in changes] or ["None."]
    lines += ["", "REFILL RECORD"]
    refills = with_bridge_ends(view, [e.details["refill"] for e in entries
                                      if e.kind == "refill" and "refill" in e.details])
    for record in refills:
        lines += [f"{key.replace('_', ' ')}: {value}" for key, value in record.items()
                  if value not in (None, [], "")] + [""]
    if not refills:
        lines.append("No refill in this session.")
    lines += ["", ROUNDING_NOTE]
    wrapped: list[str] = []
    for line in lines:
        wrapped += textwrap.wrap(line, WRAP_COLUMNS, subsequent_indent="    ") or [""]
    return wrapped


def write_pdf(view: PumpView, entries: list[JournalEntry], path: Path, *,
              generated_at: datetime, session_file: str) -> None:
    """The report as a PDF: text pages, then the dose profile and reservoir projection."""
    lines = report_lines(view, entries, generated_at=generated_at, session_file=session_file)
    with PdfPages(path) as pdf:
        for start in range(0, len(lines), LINES_PER_PAGE):
            page = plt.figure(figsize=A4_INCHES)
            for row, line in enumerate(lines[start:start + LINES_PER_PAGE]):
                page.text(0.05, 0.96 - row * 0.0128, line, family="monospace", fontsize=7.5,
                          va="top")
            pdf.savefig(page)
            plt.close(page)
        for figure in (dose_profile_figure(view), reservoir_figure(view)):
            if figure is not None:
                pdf.savefig(figure, bbox_inches="tight")
                plt.close(figure)
