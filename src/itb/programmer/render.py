"""Rich renderings of what the programmer shows. Rounding is for display only (stated)."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from itb.programmer import schedule as sched
from itb.programmer.programming import ProgramPreview
from itb.programmer.view import Projection, PumpView
from itb.telemetry.protocol.commands import AlarmSeverity, ProgramSpec
from itb.therapy.units import NL_PER_ML, display, to_exact_str

ROUNDING_NOTE = ("Figures are rounded half-to-even to 3 decimals for display; "
                 "exact values in --json.")


def when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def ml(volume_nl: int | Fraction) -> str:
    return f"{display(Fraction(volume_nl) / NL_PER_ML)} mL"


def clock_change(delta: timedelta) -> str:
    """A clock change in days, hours and minutes (and seconds if any), forward or back."""
    total = int(delta.total_seconds())
    if total == 0:
        return "no change"
    seconds = abs(total)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in
             ((days, "day"), (hours, "hour"), (minutes, "minute"), (secs, "second")) if n]
    words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{words} {'forward' if total > 0 else 'back'}"


def reservoir_estimate(estimate_nl: int) -> str:
    """The pump's reservoir estimate; below zero it is shown as empty, with why."""
    if estimate_nl >= 0:
        return ml(estimate_nl)
    return (f"empty (the pump's estimate ran {ml(-estimate_nl)} below zero: after its "
            "reservoir-empty alarm the pump keeps the minimum rate and counts strokes that a "
            "dry reservoir cannot deliver)")


def mcg(value: Fraction | None, unit: str = "mcg") -> str:
    return "-" if value is None else f"{display(value)} {unit}"


def signed(value: Fraction, places: int = 3) -> str:
    return ("+" if value >= 0 else "-") + display(abs(value), places)


def exact_beside(value: Fraction) -> str:
    shown = display(value)
    exact = to_exact_str(value)
    return shown if shown == exact else f"{shown} (exact {exact})"


def dose_table(rows: tuple[sched.HourDose, ...] | None, offset_minutes: int,
               title: str) -> RenderableType:
    if rows is None:
        return Text("No 24-hour table: the therapy rules cannot model this program "
                    "(weekly or with periodic boluses).")
    table = Table(title=f"{title}, local time {sched.offset_text(offset_minutes)}",
                  show_edge=False, title_justify="left")
    table.add_column("local hours")
    table.add_column("mcg per hour", justify="right")
    table.add_column("rate mcg/day", justify="right")
    total = sum((row.dose_mcg for row in rows), Fraction(0))
    # Consecutive hours with the same dose share a row, so a simple program stays short.
    start = 0
    for index, row in enumerate(rows):
        last = index + 1 == len(rows) or rows[index + 1].dose_mcg != row.dose_mcg
        if not last:
            continue
        hours = f"{rows[start].hour:02d}:00-{row.hour + 1:02d}:00"
        table.add_row(hours, display(row.dose_mcg), display(row.rate_mcg_per_day))
        start = index + 1
    table.add_section()
    table.add_row("24 h total", exact_beside(total), "")
    return table


def projection_lines(projection: Projection) -> list[str]:
    plan = projection.plan
    if projection.alarm_already_due:
        return [f"Low-reservoir alarm: due now ({when(projection.low_reservoir_alarm_at)}); "
                "refill at once."]
    if plan is None:
        return [f"Low-reservoir alarm: not projected ({projection.note})."]
    lines = [f"Low-reservoir alarm projected {when(plan.alarm_at)} "
             f"(in {display(plan.days_to_alarm)} days); empty {when(plan.empty_at)}.",
             f"Refill by {when(plan.refill_by)} ({plan.refill_by_reason})."]
    if plan.refill_overdue:
        lines.append("The refill-by date is already past: refill now.")
    return lines


def program_line(spec: ProgramSpec | None) -> str:
    if spec is None:
        return "none"
    limits = spec.limits
    text = (f"{sched.describe_program(spec)}; hard limits: {display(limits.max_daily_dose_mcg)} "
            f"mcg per 24 h, bolus {display(limits.max_bolus_mcg)} mcg")
    if spec.patient_bolus is not None:
        pb = spec.patient_bolus
        text += (f"; patient bolus {display(pb.dose_mcg)} mcg, lockout {pb.lockout_s} s, "
                 f"at most {pb.max_per_24h} per 24 h")
    return text


def interrogation(view: PumpView) -> RenderableType:
    report = view.report
    res = report.reservoir
    ident = Table.grid(padding=(0, 2))
    ident.add_column(style="bold")
    ident.add_column()
    ident.add_row("Pump", f"{report.serial}, {report.model} ({view.facts.description})")
    ident.add_row("Implanted", when(report.implanted))
    ident.add_row("Pump clock", when(report.pump_time))
    eri = "-" if view.battery is None else when(view.battery.eri_at)
    ident.add_row("Battery", f"{report.battery.status}, "
                  f"{display(report.battery.remaining_fraction * 100, 1)}% of usable charge left;"
                  f" expected ERI {eri} ({view.battery_note})")
    ident.add_row("Reservoir", f"{reservoir_estimate(res.estimate_nl)} estimated by the pump "
                  f"(capacity {ml(res.capacity_nl)}, alarm at {ml(res.low_reservoir_alarm_nl)})")
    ident.add_row("Catheter", f"{ml(report.catheter_volume_nl)} stored in the pump (with pump "
                  f"tubing {ml(view.facts.tubing_volume_nl)}: the priming and bridge volume)")
    ident.add_row("Drug", f"{display(res.concentration_mcg_per_ml)} mcg/mL")
    ident.add_row("Program", program_line(report.program))
    ident.add_row("Daily dose", "-" if view.daily_dose_mcg is None
                  else f"{exact_beside(view.daily_dose_mcg)} mcg/day "
                  f"(from {view.daily_dose_source})")
    state = report.infusion.state
    if report.infusion.bolus_until is not None:
        state += f", bolus until {when(report.infusion.bolus_until)}"
    ident.add_row("Infusion", state)
    ident.add_row("Last change", f"program {when(view.last_program_change_at)}, "
                  f"refill (or implant) {when(view.last_refill_at)}")
    parts: list[RenderableType] = [ident]
    parts.append(alarms_table(view))
    offset = 0 if report.program is None else sched.utc_offset_minutes(report.program)
    parts.append(dose_table(view.hourly, offset, "Active program, 24-hour dose table"))
    parts.extend(Text(line) for line in projection_lines(view.projection))
    if not report.infusion.infusing:
        parts.append(Text(f"The pump is not running its program now ({report.infusion.state}): "
                          "the dates assume the program runs from now.", style="yellow"))
    parts.append(Text(ROUNDING_NOTE, style="dim"))
    return Group(*parts)


def alarms_table(view: PumpView) -> RenderableType:
    alarms = view.report.alarms
    if not alarms:
        return Text("Alarms: none.")
    table = Table(title="Alarms", show_edge=False)
    for column in ("kind", "severity", "since", "sounding", "acknowledged"):
        table.add_column(column)
    for alarm in alarms:
        style = "bold red" if alarm.severity is AlarmSeverity.CRITICAL else "yellow"
        table.add_row(Text(alarm.code, style=style), alarm.severity.value, when(alarm.raised),
                      "yes" if alarm.sounding else "no", "yes" if alarm.acknowledged else "no")
    return table


def preview(p: ProgramPreview) -> RenderableType:
    view = p.view
    t = p.titration
    lines: list[RenderableType] = []
    lines.append(Text(f"Pump {view.serial}: new program preview", style="bold"))
    lines.append(Text(f"Current: {program_line(view.program)}"))
    lines.append(Text(f"New:     {program_line(p.spec)}"))
    lines.append(dose_table(p.hourly, sched.utc_offset_minutes(p.spec),
                            "New program, 24-hour dose profile"))
    current = "-" if view.daily_dose_mcg is None else f"{display(view.daily_dose_mcg)}"
    change = "-"
    if t.change_mcg_per_day is not None:
        change = f"{signed(t.change_mcg_per_day)} mcg/day"
        if t.change_percent is not None:
            change += f" ({signed(t.change_percent, 1)}%)"
    lines.append(Text(f"Daily total: {current} -> {exact_beside(p.daily_dose_mcg)} mcg/day; "
                      f"change {change}"))
    rule = ""
    if t.allowed_low_mcg_per_day is not None and t.allowed_high_mcg_per_day is not None:
        rule = (f" Allowed in one change: {display(t.allowed_low_mcg_per_day)} to "
                f"{display(t.allowed_high_mcg_per_day)} mcg/day ({t.rule}).")
    style = "green" if t.status.startswith(("within", "same")) else "bold red"
    lines.append(Text(f"Titration check: {t.status}.{rule}", style=style))
    for violation in t.violations:
        lines.append(Text(f"  - {violation}", style=style))
    lines.extend(Text(f"  Note: {note}", style="yellow") for note in t.notes)
    if t.withdrawal_warning:
        lines.append(Text(f"  Warning: {t.withdrawal_warning}. Confirm the large decrease "
                          "explicitly (--confirm-large-decrease).", style="bold yellow"))
    if t.override_reason:
        lines.append(Text(f"  Override reason: {t.override_reason}"))
    lines.extend(Text(line) for line in projection_lines(p.projection))
    if p.echo is None:
        lines.append(Text("Pump's own check: refused (see below).", style="bold red"))
    else:
        lines.append(Text(f"Pump's own check: accepted; largest 24 h dose "
                          f"{display(p.echo.max_24h_dose_mcg)} mcg within the hard limit "
                          f"{display(p.spec.limits.max_daily_dose_mcg)} mcg."))
    lines.extend(Text(note, style="yellow") for note in p.notes)
    lines.append(Text(ROUNDING_NOTE, style="dim"))
    return Group(*lines)
