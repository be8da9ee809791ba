"""`itb calc titrate`, `taper` and `initial-dose`: changes to the daily dose."""

from __future__ import annotations

import typer

from itb.therapy.calc.output import (
    CURRENT_DOSE_OPTION,
    NOW_OPTION,
    Computed,
    calc_command,
    exact_text,
    exactly_one,
    instant,
    iso,
    shown,
    table_of,
)
from itb.therapy.dosing import (
    TitrationDecision,
    check_titration,
    initial_daily_dose,
)
from itb.therapy.taper import DEFAULT_TAPER_INTERVAL_DAYS, taper_plan
from itb.therapy.units import display


@calc_command
def titrate(
    current: str = CURRENT_DOSE_OPTION,
    proposed: str = typer.Option(..., "--proposed", help="proposed daily dose, mcg/day "
                                 "(0: a stop)"),
    origin: str = typer.Option(..., "--origin", help="spinal or cerebral"),
    age_group: str | None = typer.Option(None, "--age-group", help="adult or child"),
    age_years: str | None = typer.Option(None, "--age-years",
                                         help="age (pediatric rule under 18, under-12 "
                                              "maintenance figures)"),
    pediatric_rule: str = typer.Option("5-15", "--pediatric-rule", help="5-15 or 5-10"),
    phase: str = typer.Option("titration", "--phase",
                              help="titration (post-implant) or maintenance (refill visit)"),
    last_change: str | None = typer.Option(None, "--last-change",
                                           help="time of the last change or infusion start"),
    now: str | None = NOW_OPTION,
    override_reason: str | None = typer.Option(None, "--override-reason",
                                               help="reason to go beyond the rules for an "
                                                    "increase"),
    confirm_large_decrease: bool = typer.Option(
        False, "--confirm-large-decrease",
        help="confirm a cut larger than 20% (it can bring on withdrawal)"),
) -> Computed:
    """Check a proposed dose change: increases against the labeled step, decreases at any time."""
    exactly_one({"--age-group": age_group, "--age-years": age_years})
    decision = check_titration(
        current_mcg_per_day=current, proposed_mcg_per_day=proposed, origin=origin,
        age_group=age_group or "adult", age_years=age_years,
        pediatric_rule=pediatric_rule, phase=phase,
        last_change_at=None if last_change is None else instant("last_change", last_change),
        now=instant("now", now), override_reason=override_reason,
        confirm_large_decrease=confirm_large_decrease)
    return _titration_output(decision)


def _titration_output(decision: TitrationDecision
                      ) -> Computed:
    data = {
        "accepted": True, "current_mcg_per_day": exact_text(decision.current_mcg_per_day),
        "proposed_mcg_per_day": exact_text(decision.proposed_mcg_per_day),
        "change_percent": exact_text(decision.change_percent), "reason": decision.reason.value,
        "allowed_low_mcg_per_day": exact_text(decision.allowed_low_mcg_per_day),
        "allowed_high_mcg_per_day": exact_text(decision.allowed_high_mcg_per_day),
        "usual_step_low_mcg_per_day": exact_text(decision.usual_step_low_mcg_per_day),
        "usual_step_high_mcg_per_day": exact_text(decision.usual_step_high_mcg_per_day),
        "rule": decision.rule, "outside_usual_range": decision.outside_usual_range,
        "override_reason": decision.override_reason,
        "overridden": [str(v) for v in decision.violations],
        "notes": list(decision.notes), "large_decrease": decision.large_decrease,
        "withdrawal_warning": decision.withdrawal_warning,
        "next_change_not_before": iso(decision.next_change_not_before),
    }
    rows = [("change", f"{shown(decision.current_mcg_per_day)} -> "
                       f"{shown(decision.proposed_mcg_per_day, 'mcg/day')} "
                       f"({shown(decision.change_percent, '%')})"),
            ("rule", decision.rule),
            ("usual step", f"{shown(decision.usual_step_low_mcg_per_day)} to "
                           f"{shown(decision.usual_step_high_mcg_per_day, 'mcg/day')}"),
            ("allowed", f"{shown(decision.allowed_low_mcg_per_day)} to "
                        f"{shown(decision.allowed_high_mcg_per_day, 'mcg/day')}"),
            ("usual maintenance range", f"{display(decision.usual_low_mcg_per_day)} to "
                                        f"{display(decision.usual_high_mcg_per_day)} mcg/day")]
    rows += [("note", note) for note in decision.notes]
    rows += [("overridden", f"{v} (reason: {decision.override_reason})")
             for v in decision.violations]
    if decision.withdrawal_warning:
        rows.append(("warning (confirmed)", decision.withdrawal_warning))
    rows.append(("next increase not before (UTC)", iso(decision.next_change_not_before) or ""))
    return data, table_of("Titration: accepted", rows)


@calc_command
def taper(
    current: str = CURRENT_DOSE_OPTION,
    concentration: str = typer.Option(..., "--concentration", help="mcg/mL in the pump"),
    start: str | None = typer.Option(None, "--start", help="first step (default: now)"),
    step_percent: str = typer.Option("10", "--step-percent", help="decrease per step, 10-20%"),
    interval_days: int = typer.Option(DEFAULT_TAPER_INTERVAL_DAYS, "--interval-days",
                                      help="days between steps (unconfirmed default)"),
    floor: str | None = typer.Option(None, "--floor", help="stop tapering below this, mcg/day"),
) -> Computed:
    """A stepwise taper plan before an elective explant (never an abrupt stop)."""
    plan = taper_plan(current_mcg_per_day=current, concentration_mcg_per_ml=concentration,
                      start=instant("start", start), step_percent=step_percent,
                      interval_days=interval_days, floor_mcg_per_day=floor)
    data = {"current_mcg_per_day": exact_text(plan.current_mcg_per_day),
            "step_percent": exact_text(plan.step_percent), "interval_days": plan.interval_days,
            "floor_mcg_per_day": exact_text(plan.floor_mcg_per_day),
            "steps": [{"at": iso(st.at), "daily_dose_mcg": exact_text(st.daily_dose_mcg),
                       "flow_ml_per_day": exact_text(st.flow_ml_per_day)} for st in plan.steps],
            "explant_from": iso(plan.explant_from)}
    rows = [(f"step {i + 1}: {iso(st.at)}", f"{shown(st.daily_dose_mcg, 'mcg/day')}")
            for i, st in enumerate(plan.steps)]
    rows += [("floor", shown(plan.floor_mcg_per_day, "mcg/day")),
             ("explant from (UTC)", iso(plan.explant_from) or ""),
             ("note", "each step is within the labeled 10-20% decrease; the interval is "
                      "an unconfirmed itb default; oral baclofen is cover, not a "
                      "replacement")]
    return data, table_of("Taper plan before an elective explant", rows)


@calc_command
def initial_dose(
    screening_dose: str = typer.Option(..., "--screening-dose",
                                       help="screening dose with a positive response, mcg"),
    effect_hours: str = typer.Option(..., "--effect-hours", help="how long the effect lasted, h"),
    start: str | None = typer.Option(None, "--start", help="infusion start time (ISO-8601)"),
) -> Computed:
    """Starting daily pump dose after a positive screening trial."""
    dose = initial_daily_dose(screening_dose, effect_hours,
                              None if start is None else instant("start", start))
    data = {"daily_dose_mcg": exact_text(dose.daily_dose_mcg), "rule": dose.rule,
            "screening_dose_mcg": exact_text(dose.screening_dose_mcg),
            "effect_duration_h": exact_text(dose.effect_duration_h),
            "no_increase_before": iso(dose.no_increase_before)}
    rows = [("initial daily dose", shown(dose.daily_dose_mcg, "mcg/day")),
            ("rule", dose.rule), ("no increase before", iso(dose.no_increase_before)
                                  or "24 h after the infusion starts")]
    return data, table_of("Initial pump dose", rows)


# --- screening / candidate ----------------------------------------------------------------
