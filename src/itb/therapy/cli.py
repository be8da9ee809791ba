"""`itb calc`: the therapy calculators on the command line.

A thin shell: it parses text into exact numbers and UTC instants, calls the pure
functions, and prints either a readable Rich table or JSON (`--json`). Every result
is computed before anything is printed, so a refusal prints one sentence on
stderr and exits with status 2, with no partial output.

JSON number format: every exact quantity is a string, either a terminating
decimal ("0.6", "30") or, when the decimal would not terminate, an exact fraction
("100/3"). Fields ending in `_display` are rounded half-to-even to 3 decimals for
people. Instants are ISO-8601 UTC, floored to the microsecond (the safe, earlier side).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from itb.cli_errors import refuse_error
from itb.errors import InvalidInput, ItbError
from itb.therapy import catalogue
from itb.therapy.battery import forecast_battery
from itb.therapy.bridge import catheter_volume_ml, plan_bridge_bolus
from itb.therapy.dilution import prepare_dilution
from itb.therapy.dosing import (
    TitrationDecision,
    check_titration,
    initial_daily_dose,
)
from itb.therapy.errors import FlexScheduleError, ScreeningProtocolError
from itb.therapy.flex import FlexSchedule, parse_flex_toml
from itb.therapy.refill import below_minimum_flow, check_refill, plan_refill
from itb.therapy.screening import (
    PositiveResponseCriterion,
    SpasticityScore,
    assess_candidate,
    evaluate_trial,
    screening_bolus,
    screening_doses,
)
from itb.therapy.taper import DEFAULT_TAPER_INTERVAL_DAYS, taper_plan
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY, display, exact, to_exact_str

app = typer.Typer(
    help="Therapy calculators: flow rate, refill planning and check, bridge bolus, titration, "
    "initial dose, screening trial, candidate check, dilution, battery ERI. Exact arithmetic; "
    "rounding only for display. Simulation and education only: not medical advice.",
    no_args_is_help=True,
)

_DEFAULT_THRESHOLD_ML = to_exact_str(catalogue.DEFAULT_REFILL_DISCREPANCY_THRESHOLD_ML)
_DEFAULT_ML_PER_CM = to_exact_str(catalogue.DEFAULT_CATHETER_VOLUME_ML_PER_CM)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON (exact values as strings).")
NOW_OPTION = typer.Option(None, "--now", help="Current time, ISO-8601 with offset (default: now).")


def _exactly_one(options: dict[str, object], *, both_allowed: str | None = None) -> None:
    """Refuse options given both or neither (both is fine when `both_allowed` says how), in
    the usual field = value / allowed form."""
    given = [name for name, value in options.items() if value is not None]
    if len(given) == 1 or (given and both_allowed):
        return
    allowed = f"one or both of them ({both_allowed})" if both_allowed else "exactly one of them"
    raise InvalidInput(" / ".join(options), "both given" if given else "neither given", allowed)


def _run(json_output: bool, compute: Callable[[], tuple[dict[str, Any], Callable[[Console], None]]]
         ) -> None:
    """Compute everything first; then print JSON or the rendering. Refusals exit 2."""
    try:
        data, render = compute()
    except ItbError as exc:
        raise refuse_error(exc) from None
    if json_output:
        typer.echo(json.dumps(data, indent=2))
    else:
        render(Console(highlight=False))


def _x(value: Fraction | int) -> str:
    return to_exact_str(value)


def _shown(value: Fraction | int, unit: str = "") -> str:
    text = display(value)
    exact_text = to_exact_str(value)
    suffix = f" {unit}" if unit else ""
    return text + suffix if text == exact_text else f"{text}{suffix} (exact {exact_text})"


def _instant(field: str, text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)  # the CLI is the I/O layer: it may read the clock
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, text or '""',
                           "an ISO-8601 time such as 2026-03-01T08:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, text, "an ISO-8601 time with a UTC offset or Z",
                           "a time without an offset is ambiguous")
    return moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _read_flex(path: Path) -> FlexSchedule:
    try:
        text = _read_text(path)
    except InvalidInput as exc:
        raise FlexScheduleError(str(path), "(file)", exc.value, exc.allowed, exc.reason) from None
    return parse_flex_toml(text, str(path))


def _table(title: str, rows: list[tuple[str, str]], *, numbers: bool = True
           ) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value")
        for name, value in rows:
            table.add_row(name, value)
        console.print(table)
        if numbers:
            console.print("Values are exact; where shown rounded, rounding is half-to-even to 3 "
                          "decimals, for display only.", style="dim")
    return render


# --- rate -------------------------------------------------------------------------------


@app.command()
def rate(
    concentration: str = typer.Option(..., "--concentration", help="mcg/mL"),
    daily_dose: str | None = typer.Option(None, "--daily-dose", help="mcg/day"),
    flex: Path | None = typer.Option(None, "--flex", help="flex schedule TOML file"),
    min_flow: str = typer.Option(to_exact_str(catalogue.DEFAULT_PUMP_MIN_FLOW_ML_PER_DAY),
                                 "--min-flow-ml-per-day",
                                 help="the pump's minimum flow (unconfirmed default)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Flow rate for a daily dose (or each step of a flex schedule) at a concentration."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        conc = exact("concentration_mcg_per_ml", concentration)
        if conc <= 0:
            raise InvalidInput("concentration_mcg_per_ml", concentration, "more than 0 mcg/mL")
        _exactly_one({"--daily-dose": daily_dose, "--flex": flex})
        steps: list[dict[str, str]] = []
        if flex is not None:
            schedule = _read_flex(flex)
            dose = schedule.total_daily_dose_mcg()
            for step in schedule.steps:
                steps.append({"start": step.start.strftime("%H:%M"),
                              "dose_mcg_per_day": _x(step.dose_mcg_per_day),
                              "flow_ml_per_day": _x(step.dose_mcg_per_day / conc)})
        else:
            dose = exact("daily_dose_mcg", daily_dose or "")
            if dose <= 0:
                raise InvalidInput("daily_dose_mcg", daily_dose, "more than 0 mcg/day")
        flow = dose / conc
        data: dict[str, Any] = {
            "concentration_mcg_per_ml": _x(conc), "daily_dose_mcg": _x(dose),
            "flow_ml_per_day": _x(flow), "flow_ml_per_hour": _x(flow / 24),
            "dose_mcg_per_hour": _x(dose / 24), "flow_ml_per_day_display": display(flow),
        }
        rows = [("daily dose", _shown(dose, "mcg/day")), ("concentration", _shown(conc, "mcg/mL")),
                ("flow", _shown(flow, "mL/day")), ("flow per hour", _shown(flow / 24, "mL/h")),
                ("dose per hour", _shown(dose / 24, "mcg/h"))]
        if steps:
            data["steps"] = steps
            rows += [(f"step {s['start']}", f"{display(exact('d', s['dose_mcg_per_day']))} mcg/day"
                      f" = {display(exact('f', s['flow_ml_per_day']))} mL/day") for s in steps]
        lowest = min((exact("d", s["dose_mcg_per_day"]) for s in steps), default=dose)
        _flag_min_flow(data, rows, lowest, conc, min_flow)
        return data, _table("Flow rate", rows)

    _run(json_output, compute)


def _flag_min_flow(data: dict[str, Any], rows: list[tuple[str, str]],
                   dose: Fraction | FlexSchedule, conc: Fraction, min_flow: str) -> None:
    """Flag (not refuse) a flow below the pump's minimum: a flex schedule's lowest step counts."""
    lowest = dose if isinstance(dose, Fraction) else min(s.dose_mcg_per_day for s in dose.steps)
    flag = below_minimum_flow(lowest, conc, min_flow)
    data["min_flow_ml_per_day"] = _x(exact("min_flow_ml_per_day", min_flow))
    data["below_pump_minimum"] = flag is not None
    data["below_pump_minimum_note"] = None if flag is None else flag.sentence()
    if flag is not None:
        rows.append(("WARNING: below the pump's minimum flow", flag.sentence()))


# --- refill ----------------------------------------------------------------------------


@app.command()
def refill(
    reservoir_ml: str = typer.Option(..., "--reservoir-ml", help="volume in the reservoir, mL"),
    concentration: str = typer.Option(..., "--concentration", help="mcg/mL"),
    alarm_ml: str = typer.Option(..., "--alarm-ml", help="low-reservoir alarm volume, mL"),
    daily_dose: str | None = typer.Option(None, "--daily-dose",
                                          help="mcg/day (with --flex: checked against its total)"),
    flex: Path | None = typer.Option(None, "--flex", help="flex schedule TOML file"),
    now: str | None = NOW_OPTION,
    margin_days: str = typer.Option(to_exact_str(catalogue.DEFAULT_REFILL_SAFETY_MARGIN_DAYS),
                                    "--margin-days", help="safety margin before the alarm"),
    stability_days: str = typer.Option(to_exact_str(catalogue.DEFAULT_STABILITY_LIMIT_DAYS),
                                       "--stability-days",
                                       help="in-pump stability limit (unconfirmed default)"),
    no_stability_limit: bool = typer.Option(False, "--no-stability-limit"),
    filled_at: str | None = typer.Option(None, "--filled-at", help="when filled (default: now)"),
    capacity_ml: str | None = typer.Option(None, "--capacity-ml", help="reservoir capacity, mL"),
    min_flow: str = typer.Option(to_exact_str(catalogue.DEFAULT_PUMP_MIN_FLOW_ML_PER_DAY),
                                 "--min-flow-ml-per-day",
                                 help="the pump's minimum flow (unconfirmed default)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Days to the low-reservoir alarm and to empty, their times, and the refill-by date."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        now_at = _instant("now", now)
        program: Any
        if flex is not None:
            program = _read_flex(flex)
            if daily_dose is not None:
                given = exact("daily_dose_mcg", daily_dose)
                total = program.total_daily_dose_mcg()
                if given != total:
                    raise InvalidInput("daily_dose_mcg", daily_dose,
                                       f"the flex schedule's total {_x(total)} mcg/day, or omit it")
        elif daily_dose is not None:
            program = daily_dose
        else:
            _exactly_one({"--daily-dose": daily_dose, "--flex": flex},
                         both_allowed="with both, the daily dose must be the flex total")
        plan = plan_refill(
            reservoir_ml=reservoir_ml, concentration_mcg_per_ml=concentration, program=program,
            alarm_ml=alarm_ml, now=now_at, safety_margin_days=margin_days,
            stability_limit_days=None if no_stability_limit else stability_days,
            filled_at=None if filled_at is None else _instant("filled_at", filled_at),
            capacity_ml=capacity_ml)
        data = {
            "reservoir_ml": _x(Fraction(plan.reservoir_nl, NL_PER_ML)),
            "alarm_ml": _x(Fraction(plan.alarm_nl, NL_PER_ML)),
            "concentration_mcg_per_ml": _x(plan.concentration_mcg_per_ml),
            "daily_dose_mcg": _x(plan.daily_dose_mcg),
            "flex": flex is not None,
            "flow_ml_per_day": _x(plan.flow_ml_per_day),
            "days_to_alarm": _x(plan.days_to_alarm),
            "days_to_empty": _x(plan.days_to_empty),
            "seconds_to_alarm": _x(plan.seconds_to_alarm),
            "seconds_to_empty": _x(plan.seconds_to_empty),
            "now": _iso(plan.now),
            "alarm_at": _iso(plan.alarm_at),
            "empty_at": _iso(plan.empty_at),
            "refill_by": _iso(plan.refill_by),
            "refill_by_reason": plan.refill_by_reason,
            "refill_overdue": plan.refill_overdue,
            "safety_margin_days": _x(plan.safety_margin_days),
            "stability_limit_at": _iso(plan.stability_limit_at),
            "stability_limit_confirmed": catalogue.STABILITY_LIMIT_CONFIRMED,
            "flow_ml_per_day_display": display(plan.flow_ml_per_day),
            "days_to_alarm_display": display(plan.days_to_alarm),
            "days_to_empty_display": display(plan.days_to_empty),
        }
        rows = [
            ("daily dose", _shown(plan.daily_dose_mcg, "mcg/day")
             + (" (flex schedule total)" if flex is not None else "")),
            ("flow", _shown(plan.flow_ml_per_day, "mL/day")
             + (" (mean; the plan follows each step)" if flex is not None else "")),
            ("days to low-reservoir alarm", _shown(plan.days_to_alarm)),
            ("days to empty", _shown(plan.days_to_empty)),
            ("alarm at (UTC)", _iso(plan.alarm_at) or ""),
            ("empty at (UTC)", _iso(plan.empty_at) or ""),
            ("refill by (UTC)", f"{_iso(plan.refill_by)}: {plan.refill_by_reason}"
             + ("  OVERDUE" if plan.refill_overdue else "")),
        ]
        if plan.stability_limit_at is not None:
            rows.append(("stability limit (UTC)",
                         f"{_iso(plan.stability_limit_at)} (unconfirmed parameter)"))
        _flag_min_flow(data, rows, program if flex is not None else plan.daily_dose_mcg,
                       plan.concentration_mcg_per_ml, min_flow)
        return data, _table("Refill plan", rows)

    _run(json_output, compute)


@app.command("refill-check")
def refill_check(
    expected_ml: str = typer.Option(..., "--expected-ml", help="pump's expected residual, mL"),
    withdrawn_ml: str = typer.Option(..., "--withdrawn-ml", help="volume actually withdrawn, mL"),
    fill_ml: str = typer.Option(..., "--fill-ml", help="volume to put in, mL"),
    capacity_ml: str = typer.Option(..., "--capacity-ml", help="reservoir capacity, mL"),
    threshold_ml: str = typer.Option(_DEFAULT_THRESHOLD_ML, "--threshold-ml",
                                     help="allowed discrepancy, mL (ASRA 2017: 2 mL)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Compare the withdrawn residual with the pump's estimate; refuse overfill."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        check = check_refill(expected_residual_ml=expected_ml, withdrawn_ml=withdrawn_ml,
                             fill_ml=fill_ml, capacity_ml=capacity_ml, threshold_ml=threshold_ml)
        data = {"accepted": True,
                "discrepancy_ml": _x(Fraction(check.discrepancy_nl, NL_PER_ML)),
                "threshold_ml": _x(Fraction(check.threshold_nl, NL_PER_ML)),
                "new_reservoir_ml": _x(Fraction(check.new_reservoir_nl, NL_PER_ML))}
        rows = [("discrepancy (withdrawn - expected)",
                 _shown(Fraction(check.discrepancy_nl, NL_PER_ML), "mL")),
                ("threshold", _shown(Fraction(check.threshold_nl, NL_PER_ML), "mL")),
                ("new reservoir volume", _shown(Fraction(check.new_reservoir_nl, NL_PER_ML), "mL"))]
        return data, _table("Refill check: accepted", rows)

    _run(json_output, compute)


# --- bridge ----------------------------------------------------------------------------


@app.command()
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
    catheter_ml_per_cm: str = typer.Option(_DEFAULT_ML_PER_CM, "--catheter-ml-per-cm",
                                           help="catheter volume per cm (default: Prometra)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Bridge bolus for a concentration change, and the new flow rate."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        _exactly_one({"--catheter-ml": catheter_ml, "--catheter-length-cm": catheter_length_cm})
        catheter = (exact("catheter_ml", catheter_ml) if catheter_ml is not None
                    else catheter_volume_ml(catheter_length_cm or "", catheter_ml_per_cm))
        plan = plan_bridge_bolus(old_concentration_mcg_per_ml=old_concentration,
                                 new_concentration_mcg_per_ml=new_concentration,
                                 old_daily_dose_mcg=daily_dose, new_daily_dose_mcg=new_daily_dose,
                                 pump_tubing_ml=pump_tubing_ml, catheter_ml=catheter)
        data = {
            "dead_volume_ml": _x(plan.dead_volume_ml), "pump_tubing_ml": _x(plan.pump_tubing_ml),
            "catheter_ml": _x(plan.catheter_ml),
            "bridge_rate_ml_per_day": _x(plan.bridge_rate_ml_per_day),
            "bridge_dose_mcg_per_day": _x(plan.bridge_dose_mcg_per_day),
            "bridge_duration_h": _x(plan.bridge_duration_h),
            "bridge_duration_s": _x(plan.bridge_duration_s),
            "bridge_dose_mcg": _x(plan.bridge_dose_mcg),
            "new_daily_dose_mcg": _x(plan.new_daily_dose_mcg),
            "new_rate_ml_per_day": _x(plan.new_rate_ml_per_day),
        }
        rows = [("dead volume (tubing + catheter)", _shown(plan.dead_volume_ml, "mL")),
                ("bridge rate (keeps old daily dose)", _shown(plan.bridge_rate_ml_per_day,
                                                              "mL/day")),
                ("bridge duration", _shown(plan.bridge_duration_h, "h")),
                ("old drug delivered in the bridge", _shown(plan.bridge_dose_mcg, "mcg")),
                ("then: new program", f"{_shown(plan.new_daily_dose_mcg, 'mcg/day')} at "
                                      f"{_shown(plan.new_rate_ml_per_day, 'mL/day')}")]
        return data, _table("Bridge bolus", rows)

    _run(json_output, compute)


# --- titrate / initial dose ------------------------------------------------------------


@app.command()
def titrate(
    current: str = typer.Option(..., "--current", help="current daily dose, mcg/day"),
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
    json_output: bool = JSON_OPTION,
) -> None:
    """Check a proposed dose change: increases against the labeled step, decreases at any time."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        _exactly_one({"--age-group": age_group, "--age-years": age_years})
        decision = check_titration(
            current_mcg_per_day=current, proposed_mcg_per_day=proposed, origin=origin,
            age_group=age_group or "adult", age_years=age_years,
            pediatric_rule=pediatric_rule, phase=phase,
            last_change_at=None if last_change is None else _instant("last_change", last_change),
            now=_instant("now", now), override_reason=override_reason,
            confirm_large_decrease=confirm_large_decrease)
        return _titration_output(decision)

    _run(json_output, compute)


def _titration_output(decision: TitrationDecision
                      ) -> tuple[dict[str, Any], Callable[[Console], None]]:
    data = {
        "accepted": True, "current_mcg_per_day": _x(decision.current_mcg_per_day),
        "proposed_mcg_per_day": _x(decision.proposed_mcg_per_day),
        "change_percent": _x(decision.change_percent), "reason": decision.reason.value,
        "allowed_low_mcg_per_day": _x(decision.allowed_low_mcg_per_day),
        "allowed_high_mcg_per_day": _x(decision.allowed_high_mcg_per_day),
        "usual_step_low_mcg_per_day": _x(decision.usual_step_low_mcg_per_day),
        "usual_step_high_mcg_per_day": _x(decision.usual_step_high_mcg_per_day),
        "rule": decision.rule, "outside_usual_range": decision.outside_usual_range,
        "override_reason": decision.override_reason,
        "overridden": [str(v) for v in decision.violations],
        "notes": list(decision.notes), "large_decrease": decision.large_decrease,
        "withdrawal_warning": decision.withdrawal_warning,
        "next_change_not_before": _iso(decision.next_change_not_before),
    }
    rows = [("change", f"{_shown(decision.current_mcg_per_day)} -> "
                       f"{_shown(decision.proposed_mcg_per_day, 'mcg/day')} "
                       f"({_shown(decision.change_percent, '%')})"),
            ("rule", decision.rule),
            ("usual step", f"{_shown(decision.usual_step_low_mcg_per_day)} to "
                           f"{_shown(decision.usual_step_high_mcg_per_day, 'mcg/day')}"),
            ("allowed", f"{_shown(decision.allowed_low_mcg_per_day)} to "
                        f"{_shown(decision.allowed_high_mcg_per_day, 'mcg/day')}"),
            ("usual maintenance range", f"{display(decision.usual_low_mcg_per_day)} to "
                                        f"{display(decision.usual_high_mcg_per_day)} mcg/day")]
    rows += [("note", note) for note in decision.notes]
    rows += [("overridden", f"{v} (reason: {decision.override_reason})")
             for v in decision.violations]
    if decision.withdrawal_warning:
        rows.append(("warning (confirmed)", decision.withdrawal_warning))
    rows.append(("next increase not before (UTC)", _iso(decision.next_change_not_before) or ""))
    return data, _table("Titration: accepted", rows)


@app.command()
def taper(
    current: str = typer.Option(..., "--current", help="current daily dose, mcg/day"),
    concentration: str = typer.Option(..., "--concentration", help="mcg/mL in the pump"),
    start: str | None = typer.Option(None, "--start", help="first step (default: now)"),
    step_percent: str = typer.Option("10", "--step-percent", help="decrease per step, 10-20%"),
    interval_days: int = typer.Option(DEFAULT_TAPER_INTERVAL_DAYS, "--interval-days",
                                      help="days between steps (unconfirmed default)"),
    floor: str | None = typer.Option(None, "--floor", help="stop tapering below this, mcg/day"),
    json_output: bool = JSON_OPTION,
) -> None:
    """A stepwise taper plan before an elective explant (never an abrupt stop)."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        plan = taper_plan(current_mcg_per_day=current, concentration_mcg_per_ml=concentration,
                          start=_instant("start", start), step_percent=step_percent,
                          interval_days=interval_days, floor_mcg_per_day=floor)
        data = {"current_mcg_per_day": _x(plan.current_mcg_per_day),
                "step_percent": _x(plan.step_percent), "interval_days": plan.interval_days,
                "floor_mcg_per_day": _x(plan.floor_mcg_per_day),
                "steps": [{"at": _iso(st.at), "daily_dose_mcg": _x(st.daily_dose_mcg),
                           "flow_ml_per_day": _x(st.flow_ml_per_day)} for st in plan.steps],
                "explant_from": _iso(plan.explant_from)}
        rows = [(f"step {i + 1}: {_iso(st.at)}", f"{_shown(st.daily_dose_mcg, 'mcg/day')}")
                for i, st in enumerate(plan.steps)]
        rows += [("floor", _shown(plan.floor_mcg_per_day, "mcg/day")),
                 ("explant from (UTC)", _iso(plan.explant_from) or ""),
                 ("note", "each step is within the labeled 10-20% decrease; the interval is "
                          "an unconfirmed itb default; oral baclofen is cover, not a "
                          "replacement")]
        return data, _table("Taper plan before an elective explant", rows)

    _run(json_output, compute)


@app.command("initial-dose")
def initial_dose(
    screening_dose: str = typer.Option(..., "--screening-dose",
                                       help="screening dose with a positive response, mcg"),
    effect_hours: str = typer.Option(..., "--effect-hours", help="how long the effect lasted, h"),
    start: str | None = typer.Option(None, "--start", help="infusion start time (ISO-8601)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Starting daily pump dose after a positive screening trial."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        dose = initial_daily_dose(screening_dose, effect_hours,
                                  None if start is None else _instant("start", start))
        data = {"daily_dose_mcg": _x(dose.daily_dose_mcg), "rule": dose.rule,
                "screening_dose_mcg": _x(dose.screening_dose_mcg),
                "effect_duration_h": _x(dose.effect_duration_h),
                "no_increase_before": _iso(dose.no_increase_before)}
        rows = [("initial daily dose", _shown(dose.daily_dose_mcg, "mcg/day")),
                ("rule", dose.rule), ("no increase before", _iso(dose.no_increase_before)
                                      or "24 h after the infusion starts")]
        return data, _table("Initial pump dose", rows)

    _run(json_output, compute)


# --- screening / candidate ----------------------------------------------------------------

_BOLUS_KEYS = {"dose_mcg", "given_at", "injection_s", "observed_h", "ashworth_before",
               "ashworth_after", "spasm_frequency_before", "spasm_frequency_after",
               "effect_duration_h"}


def _read_text(path: Path) -> str:
    """The file's UTF-8 text, or one refusal naming the file (unreadable or not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(str(path), "unreadable", "a readable TOML file",
                           exc.strerror) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(str(path), f"not UTF-8 text (byte {exc.start})",
                           "a TOML file in UTF-8") from None


def _trial_error(key: str, exc: InvalidInput, rename: dict[str, str] | None = None
                 ) -> ScreeningProtocolError:
    """A value refused inside a trial file, re-named with the file and the bolus it is in."""
    field = (rename or {}).get(exc.field, exc.field)
    return ScreeningProtocolError(f"{key}.{field}", exc.value, exc.allowed, exc.reason)


def _read_trial(path: Path) -> list[Any]:
    source = str(path)
    try:
        data = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ScreeningProtocolError(source, "not valid TOML", "a TOML document",
                                     str(exc)) from None
    raw = data.get("bolus")
    if set(data) - {"bolus"} or not isinstance(raw, list) or not raw:
        raise ScreeningProtocolError(f"{source}: bolus", "missing or extra keys",
                                     "one to three [[bolus]] tables and nothing else")
    boluses = []
    for index, entry in enumerate(raw):
        key = f"{source}: bolus[{index}]"
        if not isinstance(entry, dict):
            raise ScreeningProtocolError(key, entry, "a [[bolus]] table with the keys "
                                         + ", ".join(sorted(_BOLUS_KEYS)))
        missing = sorted(_BOLUS_KEYS - {"effect_duration_h"} - set(entry))
        extra = sorted(set(entry) - _BOLUS_KEYS)
        if missing or extra:
            raise ScreeningProtocolError(f"{key}.{(missing or extra)[0]}",
                                         "missing" if missing else "unknown key",
                                         "the keys " + ", ".join(sorted(_BOLUS_KEYS)))
        for number_key in ("dose_mcg", "observed_h", "effect_duration_h"):
            if isinstance(entry.get(number_key), float):
                raise ScreeningProtocolError(f"{key}.{number_key}", entry[number_key],
                                             'an integer or a decimal string such as "7.5"')
        given = entry["given_at"]
        given_at = given if isinstance(given, datetime) else _instant(f"{key}.given_at",
                                                                      str(given))
        if given_at.tzinfo is None:
            raise InvalidInput(f"{key}.given_at", given, "a time with a UTC offset or Z")
        scores = []
        for when in ("before", "after"):
            try:
                scores.append(SpasticityScore(str(entry[f"ashworth_{when}"]),
                                              entry[f"spasm_frequency_{when}"]))
            except InvalidInput as exc:
                raise _trial_error(key, exc, {"ashworth": f"ashworth_{when}",
                                              "spasm_frequency": f"spasm_frequency_{when}"}
                                   ) from None
        try:
            boluses.append(screening_bolus(
                dose_mcg=entry["dose_mcg"], given_at=given_at.astimezone(UTC),
                injection_s=entry["injection_s"], observed_h=entry["observed_h"],
                before=scores[0], after=scores[1],
                effect_duration_h=entry.get("effect_duration_h")))
        except InvalidInput as exc:
            raise _trial_error(key, exc) from None
    return boluses


@app.command()
def screening(
    trial: Path | None = typer.Option(None, "--trial",
                                      help="trial record TOML ([[bolus]] tables); "
                                      "without it, print the protocol"),
    min_ashworth_decrease: str = typer.Option(
        to_exact_str(catalogue.POSITIVE_RESPONSE_MIN_ASHWORTH_DECREASE), "--min-ashworth-decrease",
        help="positive response: Ashworth fall (unconfirmed default)"),
    min_spasm_decrease: int = typer.Option(
        catalogue.POSITIVE_RESPONSE_MIN_SPASM_FREQUENCY_DECREASE, "--min-spasm-decrease",
        help="positive response: Penn spasm frequency fall (unconfirmed default)"),
    small_child: bool = typer.Option(
        False, "--small-child",
        help="a very small child: 25 mcg may be tried first (unconfirmed label figure)"),
    json_output: bool = JSON_OPTION,
) -> None:
    """The labeled screening protocol, or the decision for a recorded trial."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        # Checked even without --trial: an option given is never silently ignored.
        criterion = PositiveResponseCriterion(
            min_ashworth_decrease=exact("min_ashworth_decrease", min_ashworth_decrease),
            min_spasm_frequency_decrease=min_spasm_decrease)
        conc = catalogue.SCREENING_CONCENTRATION_MCG_PER_ML
        protocol = [{"bolus": i + 1, "dose_mcg": _x(d), "volume_ml": _x(d / conc),
                     "hours_after_previous": 0 if i == 0 else catalogue.SCREENING_INTERVAL_H}
                    for i, d in enumerate(screening_doses(small_child))]
        if trial is None:
            data: dict[str, Any] = {
                "concentration_mcg_per_ml": _x(conc), "boluses": protocol,
                "min_injection_s": catalogue.SCREENING_MIN_INJECTION_S,
                "observe_h": [catalogue.SCREENING_OBSERVATION_MIN_H,
                              catalogue.SCREENING_OBSERVATION_MAX_H],
                "not_a_candidate_after_mcg": _x(catalogue.SCREENING_DOSES_MCG[-1])}
            rows = [(f"bolus {p['bolus']}", f"{p['dose_mcg']} mcg = {p['volume_ml']} mL of "
                     f"{_x(conc)} mcg/mL" + (f", {p['hours_after_previous']} h after the "
                                             "previous if inadequate" if p["bolus"] > 1 else ""))
                    for p in protocol]
            rows += [("injection", "barbotage over at least 1 minute"),
                     ("observation", "4 to 8 hours after each bolus"),
                     ("no response to 100 mcg", "not a candidate for an implanted pump")]
            return data, _table("Screening trial protocol (label)", rows, numbers=False)
        try:
            record = evaluate_trial(_read_trial(trial), criterion, small_child=small_child)
        except ScreeningProtocolError as exc:
            if exc.field.startswith("boluses"):  # the protocol check: name the file's bolus
                raise ScreeningProtocolError(f"{trial}: bolus" + exc.field.removeprefix("boluses"),
                                             exc.value, exc.allowed, exc.reason) from None
            raise
        data = {
            "decision": record.decision.value, "reason": record.reason,
            "responses": list(record.responses),
            "boluses": [{"dose_mcg": _x(b.dose_mcg), "volume_ml": _x(b.volume_ml),
                         "given_at": _iso(b.given_at),
                         "ashworth_before": b.before.ashworth, "ashworth_after": b.after.ashworth,
                         "spasm_frequency_before": b.before.spasm_frequency,
                         "spasm_frequency_after": b.after.spasm_frequency}
                        for b in record.boluses],
            "next_dose_mcg": None if record.next_dose_mcg is None else _x(record.next_dose_mcg),
            "next_dose_not_before": _iso(record.next_dose_not_before),
            "initial_daily_dose_mcg": None if record.initial_dose is None
            else _x(record.initial_dose.daily_dose_mcg),
        }
        rows = [(f"bolus {i + 1}: {display(b.dose_mcg)} mcg at {_iso(b.given_at)}",
                 f"MAS {b.before.ashworth} -> {b.after.ashworth}, spasms "
                 f"{b.before.spasm_frequency} -> {b.after.spasm_frequency}: "
                 + ("positive" if r else "inadequate"))
                for i, (b, r) in enumerate(zip(record.boluses, record.responses, strict=True))]
        rows += [("decision", record.decision.value), ("reason", record.reason)]
        if record.next_dose_not_before is not None:
            rows.append(("next bolus not before (UTC)", _iso(record.next_dose_not_before) or ""))
        return data, _table("Screening trial", rows)

    _run(json_output, compute)


@app.command()
def candidate(
    weight_kg: str = typer.Option(..., "--weight-kg", help="body weight, kg"),
    severe: bool = typer.Option(..., "--severe/--not-severe", help="severe spasticity?"),
    oral_inadequate: bool = typer.Option(..., "--oral-inadequate/--oral-adequate",
                                         help="oral medication inadequate or not tolerated?"),
    age_years: str | None = typer.Option(None, "--age-years"),
    days_since_brain_injury: str | None = typer.Option(None, "--days-since-brain-injury"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Candidate checks for an implanted pump (weight, severity, oral medication, age)."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        result = assess_candidate(body_weight_kg=weight_kg, severe_spasticity=severe,
                                  oral_medication_inadequate=oral_inadequate,
                                  age_years=age_years,
                                  days_since_brain_injury=days_since_brain_injury)
        data = {"eligible": result.eligible, "unmet": list(result.unmet)}
        rows = [("eligible", "yes" if result.eligible else "no")]
        rows += [("unmet", reason) for reason in result.unmet]
        return data, _table("Candidate check", rows, numbers=False)

    _run(json_output, compute)


# --- dilution / battery ------------------------------------------------------------------


@app.command()
def dilution(
    target: str = typer.Option(..., "--target", help="prescribed concentration, mcg/mL"),
    total_ml: str = typer.Option(..., "--total-ml", help="volume to prepare, mL"),
    stock: str = typer.Option(..., "--stock", help="stock concentration, mcg/mL"),
    json_output: bool = JSON_OPTION,
) -> None:
    """Volumes of stock and preservative-free saline for a prescribed concentration."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        recipe = prepare_dilution(target_mcg_per_ml=target, total_ml=total_ml,
                                  stock_mcg_per_ml=stock)
        data = {"stock_ml": _x(recipe.stock_ml), "saline_ml": _x(recipe.saline_ml),
                "total_ml": _x(recipe.total_ml), "target_mcg_per_ml": _x(recipe.target_mcg_per_ml),
                "stock_mcg_per_ml": _x(recipe.stock_mcg_per_ml),
                "dose_in_total_mcg": _x(recipe.dose_in_total_mcg), "diluent": recipe.diluent,
                "stock_is_marketed": recipe.stock_is_marketed}
        rows = [("stock", f"{_shown(recipe.stock_ml, 'mL')} of {display(recipe.stock_mcg_per_ml)}"
                          " mcg/mL" + ("" if recipe.stock_is_marketed
                                       else " (not a marketed strength)")),
                ("diluent", f"{_shown(recipe.saline_ml, 'mL')} of {recipe.diluent}"),
                ("makes", f"{_shown(recipe.total_ml, 'mL')} at "
                          f"{display(recipe.target_mcg_per_ml)} mcg/mL "
                          f"({_shown(recipe.dose_in_total_mcg, 'mcg')})")]
        return data, _table("Dilution", rows)

    _run(json_output, compute)


@app.command()
def battery(
    remaining_nc: str = typer.Option(..., "--remaining-nc", help="reported remaining charge, nC"),
    flow_ml_per_day: str = typer.Option(..., "--flow-ml-per-day", help="mean flow, mL/day"),
    idle_na: str = typer.Option(..., "--idle-na", help="model: idle current, nA"),
    stroke_nc: str = typer.Option(..., "--stroke-nc", help="model: charge per stroke, nC"),
    stroke_nl: str = typer.Option(..., "--stroke-nl", help="model: stroke volume, nL"),
    eri_warning_days: str = typer.Option(str(catalogue.ERI_TO_END_OF_SERVICE_DAYS),
                                         "--eri-warning-days", help="ERI this long before EOS"),
    implanted_at: str | None = typer.Option(None, "--implanted-at"),
    shutoff_days: str | None = typer.Option(None, "--shutoff-days",
                                            help="automatic shut-off age, days"),
    now: str | None = NOW_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Expected ERI (elective replacement) and end-of-service dates."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        warning_days = exact("eri_warning_days", eri_warning_days)
        shutoff = None if shutoff_days is None else exact("shutoff_days", shutoff_days)
        forecast = forecast_battery(
            remaining_charge_nc=remaining_nc, flow_ml_per_day=flow_ml_per_day,
            now=_instant("now", now), idle_current_na=idle_na, stroke_charge_nc=stroke_nc,
            stroke_volume_nl=stroke_nl, eri_warning_s=warning_days * SECONDS_PER_DAY,
            implanted_at=None if implanted_at is None else _instant("implanted_at", implanted_at),
            automatic_shutoff_s=None if shutoff is None else shutoff * SECONDS_PER_DAY)
        days_to_eos = forecast.seconds_to_eos / SECONDS_PER_DAY
        data = {"eri_at": _iso(forecast.eri_at), "eos_at": _iso(forecast.eos_at),
                "days_to_eri": _x(forecast.days_to_eri), "days_to_eos": _x(days_to_eos),
                "drain_nc_per_s": _x(forecast.drain_nc_per_s),
                "eri_already_due": forecast.eri_already_due,
                "limited_by_shutoff": forecast.limited_by_shutoff}
        rows = [("ERI expected (UTC)", (_iso(forecast.eri_at) or "")
                 + ("  ALREADY DUE" if forecast.eri_already_due else "")),
                ("days to ERI", _shown(forecast.days_to_eri)),
                ("end of service (UTC)", (_iso(forecast.eos_at) or "")
                 + (" (automatic shut-off age)" if forecast.limited_by_shutoff else "")),
                ("drain", _shown(forecast.drain_nc_per_s, "nA"))]
        return data, _table("Battery forecast", rows)

    _run(json_output, compute)


@app.command()
def drugs(json_output: bool = JSON_OPTION) -> None:
    """The marketed intrathecal baclofen strengths (catalogue, with sources)."""

    def compute() -> tuple[dict[str, Any], Callable[[Console], None]]:
        products = [{"brand": p.brand, "concentration_mcg_per_ml": _x(p.concentration_mcg_per_ml),
                     "screening_only": p.screening_only, "source": p.source}
                    for p in catalogue.DRUG_PRODUCTS]
        rows = [(f"{p['brand']} {p['concentration_mcg_per_ml']} mcg/mL",
                 ("screening only" if p["screening_only"] else "pump refill")
                 + f" [{p['source']}]") for p in products]
        return {"products": products}, _table("Intrathecal baclofen strengths", rows,
                                              numbers=False)

    _run(json_output, compute)
