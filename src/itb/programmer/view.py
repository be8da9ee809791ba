"""What the programmer shows about a pump: an interrogation read through the therapy rules.

`PumpView` is pure: it takes the pump's `InterrogationReport` and event log (as the
wand read them) and the model's figures from `itb.pump.catalogue` (the device library a
programmer carries: the pump sends only its model name), and computes with
`itb.therapy` the daily dose, the 24-hour dose table, the low-reservoir alarm and
refill-by dates (walking the real program segments, exactly) and the expected
elective replacement (ERI) date. "Now" is always the pump's clock, never the
programmer's, so the figures are what the pump will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.programmer import schedule as sched
from itb.pump.catalogue import PumpModel, get_model
from itb.pump.eventlog import IMPLANTED, PROGRAM_CHANGED, REFILL
from itb.telemetry.protocol.commands import (
    AlarmSeverity,
    InterrogationReport,
    LogEntryInfo,
    ProgramSpec,
)
from itb.therapy.battery import BatteryForecast, forecast_battery
from itb.therapy.flex import FlexSchedule
from itb.therapy.refill import RefillPlan, plan_refill
from itb.therapy.units import NL_PER_ML, to_exact_str


@dataclass(frozen=True)
class Projection:
    """Reservoir dates from the therapy rules for a reservoir, program and concentration."""

    plan: RefillPlan | None
    low_reservoir_alarm_at: datetime | None
    alarm_already_due: bool
    note: str


@dataclass(frozen=True)
class PumpView:
    report: InterrogationReport
    facts: PumpModel
    log: tuple[LogEntryInfo, ...]
    daily_dose_mcg: Fraction | None
    daily_dose_source: str  # how the daily dose was found
    schedule: FlexSchedule | None
    hourly: tuple[sched.HourDose, ...] | None
    projection: Projection
    battery: BatteryForecast | None
    battery_note: str
    last_program_change_at: datetime | None
    last_refill_at: datetime | None

    @property
    def serial(self) -> str:
        return self.report.serial

    @property
    def now(self) -> datetime:
        return self.report.pump_time

    @property
    def program(self) -> ProgramSpec | None:
        return self.report.program

    @property
    def concentration_mcg_per_ml(self) -> Fraction:
        return self.report.reservoir.concentration_mcg_per_ml

    @property
    def reservoir_estimate_nl(self) -> int:
        return self.report.reservoir.estimate_nl

    @property
    def battery_eri_at(self) -> datetime | None:
        return None if self.battery is None else self.battery.eri_at


def project_reservoir(*, reservoir_nl: int, concentration_mcg_per_ml: Fraction,
                      program: FlexSchedule | Fraction | None, alarm_nl: int, now: datetime,
                      filled_at: datetime | None, capacity_nl: int,
                      alarm_raised_at: datetime | None = None, running_bolus_nl: int = 0,
                      bolus_until: datetime | None = None, stroke_nl: int = 0) -> Projection:
    """The refill plan (`itb.therapy.refill.plan_refill`), or why there is none.

    A running bolus (priming, bridge) is delivered first, then the program (issue 9.3).
    The pump counts whole strokes and may be up to one stroke (`stroke_nl`) ahead of its
    reported estimate in the stroke it is making, so the plan starts one stroke lower:
    the dates stay on the early, safe side.
    """
    if program is None:
        return Projection(None, None, False, "the therapy rules cannot model this program")
    reservoir_nl -= stroke_nl
    if reservoir_nl <= alarm_nl:
        # plan_refill refuses an alarm volume at or above the reservoir: the alarm is due.
        return Projection(None, alarm_raised_at or now, True,
                          "the reservoir is at or below the low-reservoir alarm volume")
    if filled_at is not None and filled_at > now:
        filled_at = None  # the pump clock was set back after the fill
    plan = plan_refill(reservoir_ml=Fraction(reservoir_nl, NL_PER_ML),
                       concentration_mcg_per_ml=concentration_mcg_per_ml, program=program,
                       alarm_ml=Fraction(alarm_nl, NL_PER_ML), now=now, filled_at=filled_at,
                       capacity_ml=Fraction(capacity_nl, NL_PER_ML),
                       running_bolus_nl=min(running_bolus_nl, reservoir_nl),
                       bolus_until=bolus_until)
    return Projection(plan, plan.alarm_at, False, "")


def bolus_and_stroke(report: InterrogationReport, facts: PumpModel, *,
                     kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """`project_reservoir`'s running-bolus and stroke arguments for this interrogation
    (only boluses whose infusion state is in `kinds`, when given)."""
    infusion = report.infusion
    running = kinds is None or infusion.state in kinds
    return {"running_bolus_nl": infusion.bolus_remaining_nl if running else 0,
            "bolus_until": infusion.bolus_until if running else None,
            "stroke_nl": facts.nominal_stroke_nl}


def forecast_eri(report: InterrogationReport, facts: PumpModel) -> tuple[BatteryForecast | None,
                                                                           str]:
    """The ERI forecast from the charge the pump reports, at the programmed mean flow."""
    battery = report.battery
    if battery.status == "end_of_service":
        return None, "the battery has reached end of service"
    implanted = report.implanted if report.implanted <= report.pump_time else None
    forecast = forecast_battery(
        remaining_charge_nc=battery.remaining_fraction * facts.battery_usable_nc,
        flow_ml_per_day=Fraction(report.infusion.mean_flow_nl_per_day) / NL_PER_ML,
        now=report.pump_time, idle_current_na=facts.idle_current_na,
        stroke_charge_nc=facts.stroke_charge_nc, stroke_volume_nl=facts.nominal_stroke_nl,
        eri_warning_s=facts.eri_warning_s, implanted_at=implanted,
        automatic_shutoff_s=None if implanted is None else facts.automatic_shutoff_s)
    note = "at the programmed mean flow; alarm tones and wand sessions draw a little more"
    if battery.status == "elective_replacement" or forecast.eri_already_due:
        note = "the elective replacement indicator is already reached: schedule the replacement"
    return forecast, note


def last_time_of(log: tuple[LogEntryInfo, ...], *kinds: str) -> datetime | None:
    times = [entry.time for entry in log if entry.kind in kinds]
    return max(times) if times else None


def build_view(report: InterrogationReport, log: tuple[LogEntryInfo, ...]) -> PumpView:
    """Everything the programmer shows about the pump, from one interrogation and its log."""
    facts = get_model(report.model)
    conc = report.reservoir.concentration_mcg_per_ml
    program = report.program
    schedule = None if program is None else sched.program_schedule(program)
    if program is None:
        daily, source = None, "no program"
    elif schedule is not None:
        daily, source = schedule.total_daily_dose_mcg(), "program"
    else:
        daily = sched.mean_daily_dose_from_flow(report.infusion.mean_flow_nl_per_day, conc)
        source = "the pump's programmed mean flow (weekly program or periodic boluses)"
    hourly = None if program is None else sched.hourly_doses(
        program, conc, sched.local_day(program, report.pump_time))
    last_refill = last_time_of(log, REFILL, IMPLANTED)
    low_alarm = next((a for a in report.alarms if a.code == "low_reservoir"), None)
    projection = project_reservoir(
        reservoir_nl=report.reservoir.estimate_nl, concentration_mcg_per_ml=conc,
        program=schedule if schedule is not None else daily,
        alarm_nl=report.reservoir.low_reservoir_alarm_nl, now=report.pump_time,
        filled_at=last_refill, capacity_nl=report.reservoir.capacity_nl,
        alarm_raised_at=None if low_alarm is None else low_alarm.raised,
        **bolus_and_stroke(report, facts))
    battery, battery_note = forecast_eri(report, facts)
    return PumpView(
        report=report, facts=facts, log=log, daily_dose_mcg=daily, daily_dose_source=source,
        schedule=schedule, hourly=hourly, projection=projection, battery=battery,
        battery_note=battery_note,
        last_program_change_at=last_time_of(log, PROGRAM_CHANGED),
        last_refill_at=last_refill)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _ml(volume_nl: int | Fraction) -> str:
    return to_exact_str(Fraction(volume_nl) / NL_PER_ML)


def view_to_json(view: PumpView) -> dict[str, Any]:
    """The interrogation as JSON: exact strings for quantities, ISO-8601 UTC instants."""
    report = view.report
    plan = view.projection.plan
    return {
        "serial": report.serial,
        "model": report.model,
        "model_description": view.facts.description,
        "implanted_at": _iso(report.implanted),
        "pump_time": _iso(report.pump_time),
        "battery_status": report.battery.status,
        "battery_remaining_fraction": to_exact_str(report.battery.remaining_fraction),
        "battery_eri_at": _iso(view.battery_eri_at),
        "battery_eos_at": _iso(None if view.battery is None else view.battery.eos_at),
        "battery_note": view.battery_note,
        "reservoir_estimate_ml": _ml(report.reservoir.estimate_nl),
        "reservoir_capacity_ml": _ml(report.reservoir.capacity_nl),
        "low_reservoir_alarm_ml": _ml(report.reservoir.low_reservoir_alarm_nl),
        "catheter_volume_ml": _ml(report.catheter_volume_nl),
        "concentration_mcg_per_ml": to_exact_str(report.reservoir.concentration_mcg_per_ml),
        "daily_dose_mcg": None if view.daily_dose_mcg is None
        else to_exact_str(view.daily_dose_mcg),
        "daily_dose_source": view.daily_dose_source,
        "program": None if report.program is None else sched.program_to_json(report.program),
        "program_text": None if report.program is None
        else sched.describe_program(report.program),
        "dose_table": None if view.hourly is None else [
            {"hour": f"{row.hour:02d}:00", "dose_mcg": to_exact_str(row.dose_mcg)}
            for row in view.hourly],
        "infusion_state": report.infusion.state,
        "infusing": report.infusion.infusing,
        "bolus_until": _iso(report.infusion.bolus_until),
        "alarms": [{"kind": alarm.code, "critical": alarm.severity is AlarmSeverity.CRITICAL,
                    "since": _iso(alarm.raised), "sounding": alarm.sounding,
                    "acknowledged": alarm.acknowledged} for alarm in report.alarms],
        "low_reservoir_alarm_at": _iso(view.projection.low_reservoir_alarm_at),
        "low_reservoir_alarm_due": view.projection.alarm_already_due,
        "empty_at": _iso(None if plan is None else plan.empty_at),
        "refill_by": _iso(None if plan is None else plan.refill_by),
        "refill_by_reason": None if plan is None else plan.refill_by_reason,
        "projection_note": view.projection.note,
        "pump_projection": {
            "low_reservoir_alarm_at": _iso(report.reservoir.low_reservoir_alarm_date),
            "empty_at": _iso(report.reservoir.empty_date)},
        "last_program_change_at": _iso(view.last_program_change_at),
        "last_refill_at": _iso(view.last_refill_at),
        "log_entries": report.log_next_index - report.log_first_index,
        "log_overflowed": report.log_overflowed,
    }


def require_serial(view_serial: str, expected: str | None) -> None:
    """The pump that answered must be the pump the clinician named."""
    if expected is not None and view_serial != expected:
        raise InvalidInput("serial", view_serial, f"the pump named with --serial, {expected}",
                           "a different pump answered: check the patient and the wand")
