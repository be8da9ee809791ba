"""`itb calc rate`, `refill`, `refill-check` and `bridge`: the reservoir and its drug."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import typer

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.bridge import catheter_volume_ml, plan_bridge_bolus
from itb.therapy.calc.output import (
    CONCENTRATION_OPTION,
    DEFAULT_ML_PER_CM,
    DEFAULT_THRESHOLD_ML,
    FLEX_OPTION,
    MIN_FLOW_OPTION,
    NOW_OPTION,
    Computed,
    calc_command,
    exact_text,
    exactly_one,
    instant,
    iso,
    read_flex,
    shown,
    table_of,
)
from itb.therapy.flex import FlexSchedule
from itb.therapy.refill import RefillPlan, below_minimum_flow, check_refill, plan_refill
from itb.therapy.units import NL_PER_ML, display, exact, to_exact_str


@calc_command
def rate(
    concentration: str = CONCENTRATION_OPTION,
    daily_dose: str | None = typer.Option(None, "--daily-dose", help="mcg/day"),
    flex: Path | None = FLEX_OPTION,
    min_flow: str = MIN_FLOW_OPTION,
) -> Computed:
    """Flow rate for a daily dose (or each step of a flex schedule) at a concentration."""
    conc = exact("concentration_mcg_per_ml", concentration)
    if conc <= 0:
        raise InvalidInput("concentration_mcg_per_ml", concentration, "more than 0 mcg/mL")
    exactly_one({"--daily-dose": daily_dose, "--flex": flex})
    steps: list[dict[str, str]] = []
    if flex is not None:
        schedule = read_flex(flex)
        dose = schedule.total_daily_dose_mcg()
        for step in schedule.steps:
            steps.append({"start": step.start.strftime("%H:%M"),
                          "dose_mcg_per_day": exact_text(step.dose_mcg_per_day),
                          "flow_ml_per_day": exact_text(step.dose_mcg_per_day / conc)})
    else:
        dose = exact("daily_dose_mcg", daily_dose or "")
        if dose <= 0:
            raise InvalidInput("daily_dose_mcg", daily_dose, "more than 0 mcg/day")
    flow = dose / conc
    data: dict[str, Any] = {
        "concentration_mcg_per_ml": exact_text(conc), "daily_dose_mcg": exact_text(dose),
        "flow_ml_per_day": exact_text(flow), "flow_ml_per_hour": exact_text(flow / 24),
        "dose_mcg_per_hour": exact_text(dose / 24), "flow_ml_per_day_display": display(flow),
    }
    rows = [("daily dose", shown(dose, "mcg/day")), ("concentration", shown(conc, "mcg/mL")),
            ("flow", shown(flow, "mL/day")), ("flow per hour", shown(flow / 24, "mL/h")),
            ("dose per hour", shown(dose / 24, "mcg/h"))]
    if steps:
        data["steps"] = steps
        rows += [(f"step {s['start']}", f"{display(exact('d', s['dose_mcg_per_day']))} mcg/day"
                  f" = {display(exact('f', s['flow_ml_per_day']))} mL/day") for s in steps]
    lowest = min((exact("d", s["dose_mcg_per_day"]) for s in steps), default=dose)
    _flag_min_flow(data, rows, lowest, conc, min_flow)
    return data, table_of("Flow rate", rows)


def _flag_min_flow(data: dict[str, Any], rows: list[tuple[str, str]],
                   dose: Fraction | FlexSchedule, conc: Fraction, min_flow: str) -> None:
    """Flag (not refuse) a flow below the pump's minimum: a flex schedule's lowest step counts."""
    lowest = dose if isinstance(dose, Fraction) else min(s.dose_mcg_per_day for s in dose.steps)
    flag = below_minimum_flow(lowest, conc, min_flow)
    data["min_flow_ml_per_day"] = exact_text(exact("min_flow_ml_per_day", min_flow))
    data["below_pump_minimum"] = flag is not None
    data["below_pump_minimum_note"] = None if flag is None else flag.sentence()
    if flag is not None:
        rows.append(("WARNING: below the pump's minimum flow", flag.sentence()))


# --- refill ----------------------------------------------------------------------------


@calc_command
def refill(
    reservoir_ml: str = typer.Option(..., "--reservoir-ml", help="volume in the reservoir, mL"),
    concentration: str = CONCENTRATION_OPTION,
    alarm_ml: str = typer.Option(..., "--alarm-ml", help="low-reservoir alarm volume, mL"),
    daily_dose: str | None = typer.Option(None, "--daily-dose",
                                          help="mcg/day (with --flex: checked against its total)"),
    flex: Path | None = FLEX_OPTION,
    now: str | None = NOW_OPTION,
    margin_days: str = typer.Option(to_exact_str(catalogue.DEFAULT_REFILL_SAFETY_MARGIN_DAYS),
                                    "--margin-days", help="safety margin before the alarm"),
    stability_days: str = typer.Option(to_exact_str(catalogue.DEFAULT_STABILITY_LIMIT_DAYS),
                                       "--stability-days",
                                       help="in-pump stability limit (unconfirmed default)"),
    no_stability_limit: bool = typer.Option(False, "--no-stability-limit"),
    filled_at: str | None = typer.Option(None, "--filled-at", help="when filled (default: now)"),
    capacity_ml: str | None = typer.Option(None, "--capacity-ml", help="reservoir capacity, mL"),
    min_flow: str = MIN_FLOW_OPTION,
) -> Computed:
    """Days to the low-reservoir alarm and to empty, their times, and the refill-by date."""
    now_at = instant("now", now)
    program: Any
    if flex is not None:
        program = read_flex(flex)
        if daily_dose is not None:
            given = exact("daily_dose_mcg", daily_dose)
            total = program.total_daily_dose_mcg()
            if given != total:
                raise InvalidInput("daily_dose_mcg", daily_dose,
                                   f"the flex schedule's total {exact_text(total)} "
                                   "mcg/day, or omit it")
    elif daily_dose is not None:
        program = daily_dose
    else:
        exactly_one({"--daily-dose": daily_dose, "--flex": flex},
                     both_allowed="with both, the daily dose must be the flex total")
    plan = plan_refill(
        reservoir_ml=reservoir_ml, concentration_mcg_per_ml=concentration, program=program,
        alarm_ml=alarm_ml, now=now_at, safety_margin_days=margin_days,
        stability_limit_days=None if no_stability_limit else stability_days,
        filled_at=None if filled_at is None else instant("filled_at", filled_at),
        capacity_ml=capacity_ml)
    return _refill_output(plan, program if flex is not None else None, min_flow)


def _refill_output(plan: RefillPlan, flex_program: FlexSchedule | None, min_flow: str
                   ) -> Computed:
    """The refill plan as JSON data and as table rows."""
    data = {
        "reservoir_ml": exact_text(Fraction(plan.reservoir_nl, NL_PER_ML)),
        "alarm_ml": exact_text(Fraction(plan.alarm_nl, NL_PER_ML)),
        "concentration_mcg_per_ml": exact_text(plan.concentration_mcg_per_ml),
        "daily_dose_mcg": exact_text(plan.daily_dose_mcg),
        "flex": flex_program is not None,
        "flow_ml_per_day": exact_text(plan.flow_ml_per_day),
        "days_to_alarm": exact_text(plan.days_to_alarm),
        "days_to_empty": exact_text(plan.days_to_empty),
        "seconds_to_alarm": exact_text(plan.seconds_to_alarm),
        "seconds_to_empty": exact_text(plan.seconds_to_empty),
        "now": iso(plan.now),
        "alarm_at": iso(plan.alarm_at),
        "empty_at": iso(plan.empty_at),
        "refill_by": iso(plan.refill_by),
        "refill_by_reason": plan.refill_by_reason,
        "refill_overdue": plan.refill_overdue,
        "safety_margin_days": exact_text(plan.safety_margin_days),
        "stability_limit_at": iso(plan.stability_limit_at),
        "stability_limit_confirmed": catalogue.STABILITY_LIMIT_CONFIRMED,
        "flow_ml_per_day_display": display(plan.flow_ml_per_day),
        "days_to_alarm_display": display(plan.days_to_alarm),
        "days_to_empty_display": display(plan.days_to_empty),
    }
    rows = [
        ("daily dose", shown(plan.daily_dose_mcg, "mcg/day")
         + (" (flex schedule total)" if flex_program is not None else "")),
        ("flow", shown(plan.flow_ml_per_day, "mL/day")
         + (" (mean; the plan follows each step)" if flex_program is not None else "")),
        ("days to low-reservoir alarm", shown(plan.days_to_alarm)),
        ("days to empty", shown(plan.days_to_empty)),
        ("alarm at (UTC)", iso(plan.alarm_at) or ""),
        ("empty at (UTC)", iso(plan.empty_at) or ""),
        ("refill by (UTC)", f"{iso(plan.refill_by)}: {plan.refill_by_reason}"
         + ("  OVERDUE" if plan.refill_overdue else "")),
    ]
    if plan.stability_limit_at is not None:
        rows.append(("stability limit (UTC)",
                     f"{iso(plan.stability_limit_at)} (unconfirmed parameter)"))
    dose: Fraction | FlexSchedule = plan.daily_dose_mcg if flex_program is None else flex_program
    _flag_min_flow(data, rows, dose, plan.concentration_mcg_per_ml, min_flow)
    return data, table_of("Refill plan", rows)


@calc_command
def refill_check(
    expected_ml: str = typer.Option(..., "--expected-ml", help="pump's expected residual, mL"),
    withdrawn_ml: str = typer.Option(..., "--withdrawn-ml", help="volume actually withdrawn, mL"),
    fill_ml: str = typer.Option(..., "--fill-ml", help="volume to put in, mL"),
    capacity_ml: str = typer.Option(..., "--capacity-ml", help="reservoir capacity, mL"),
    threshold_ml: str = typer.Option(DEFAULT_THRESHOLD_ML, "--threshold-ml",
                                     help="allowed discrepancy, mL (ASRA 2017: 2 mL)"),
) -> Computed:
    """Compare the withdrawn residual with the pump's estimate; refuse overfill."""
    check = check_refill(expected_residual_ml=expected_ml, withdrawn_ml=withdrawn_ml,
                         fill_ml=fill_ml, capacity_ml=capacity_ml, threshold_ml=threshold_ml)
    data = {"accepted": True,
            "discrepancy_ml": exact_text(Fraction(check.discrepancy_nl, NL_PER_ML)),
            "threshold_ml": exact_text(Fraction(check.threshold_nl, NL_PER_ML)),
            "new_reservoir_ml": exact_text(Fraction(check.new_reservoir_nl, NL_PER_ML))}
    rows = [("discrepancy (withdrawn - expected)",
             shown(Fraction(check.discrepancy_nl, NL_PER_ML), "mL")),
            ("threshold", shown(Fraction(check.threshold_nl, NL_PER_ML), "mL")),
            ("new reservoir volume", shown(Fraction(check.new_reservoir_nl, NL_PER_ML), "mL"))]
    return data, table_of("Refill check: accepted", rows)


# --- bridge ----------------------------------------------------------------------------


@calc_command
def bridge(
    old_concentration: str = typer.Option(..., "--old-concentration", help="mcg/mL"),
    new_concentration: str = typer.Option(..., "--new-concentration", help="mcg/mL"),
    daily_dose: str = typer.Option(..., "--daily-dose", help="current daily dose, mcg/day"),
    new_daily_dose: str | None = typer.Option(None, "--new-daily-dose",
                                              help="new daily dose (default: unchanged)"),
    pump_tubing_ml: str = typer.Option(..., "--pump-tubing-ml",
                                       help="pump internal tubing volume, mL (model-specific)"),
    catheter_ml: str | None = typer.Option(None, "--catheter-ml", help="catheter volume, mL"),
    catheter_length_cm: str | None = typer.Option(None, "--catheter-length-cm",
                                                  help="implanted catheter length, cm"),
    catheter_ml_per_cm: str = typer.Option(DEFAULT_ML_PER_CM, "--catheter-ml-per-cm",
                                           help="catheter volume per cm (default: Prometra)"),
) -> Computed:
    """Bridge bolus for a concentration change, and the new flow rate."""
    exactly_one({"--catheter-ml": catheter_ml, "--catheter-length-cm": catheter_length_cm})
    catheter = (exact("catheter_ml", catheter_ml) if catheter_ml is not None
                else catheter_volume_ml(catheter_length_cm or "", catheter_ml_per_cm))
    plan = plan_bridge_bolus(old_concentration_mcg_per_ml=old_concentration,
                             new_concentration_mcg_per_ml=new_concentration,
                             old_daily_dose_mcg=daily_dose, new_daily_dose_mcg=new_daily_dose,
                             pump_tubing_ml=pump_tubing_ml, catheter_ml=catheter)
    data = {
        "dead_volume_ml": exact_text(plan.dead_volume_ml),
        "pump_tubing_ml": exact_text(plan.pump_tubing_ml),
        "catheter_ml": exact_text(plan.catheter_ml),
        "bridge_rate_ml_per_day": exact_text(plan.bridge_rate_ml_per_day),
        "bridge_dose_mcg_per_day": exact_text(plan.bridge_dose_mcg_per_day),
        "bridge_duration_h": exact_text(plan.bridge_duration_h),
        "bridge_duration_s": exact_text(plan.bridge_duration_s),
        "bridge_dose_mcg": exact_text(plan.bridge_dose_mcg),
        "new_daily_dose_mcg": exact_text(plan.new_daily_dose_mcg),
        "new_rate_ml_per_day": exact_text(plan.new_rate_ml_per_day),
    }
    rows = [("dead volume (tubing + catheter)", shown(plan.dead_volume_ml, "mL")),
            ("bridge rate (keeps old daily dose)", shown(plan.bridge_rate_ml_per_day,
                                                          "mL/day")),
            ("bridge duration", shown(plan.bridge_duration_h, "h")),
            ("old drug delivered in the bridge", shown(plan.bridge_dose_mcg, "mcg")),
            ("then: new program", f"{shown(plan.new_daily_dose_mcg, 'mcg/day')} at "
                                  f"{shown(plan.new_rate_ml_per_day, 'mL/day')}")]
    return data, table_of("Bridge bolus", rows)


# --- titrate / initial dose ------------------------------------------------------------
