"""The initial pump dose after a positive screening trial, and titration.

Rules from the Lioresal Intrathecal / Gablofen labeling (catalogue [LIO-LABEL]):
- initial daily dose: the screening dose if its effect lasted more than 8 h,
  otherwise twice the screening dose; no increase in the first 24 h;
- increases at most once every 24 h, usual steps: spinal origin +10-30%, cerebral origin
  +5-15%, children (the cerebral-origin rule) +5-15% (some labels +5-10%); maintenance
  (at refill visits): spinal +10-40%, cerebral/children +5-20%. Smaller steps are allowed
  with a note; beyond the top of the step needs an override with a reason;
- decreases at any time, down to a stop; -10-20% is the suggested step for side
  effects; a larger cut warns of withdrawal and needs confirmation;
- an increase above the usual maintenance range needs an explicit override with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.catalogue import AgeGroup, ChangeReason, Origin, PediatricRule, Phase
from itb.therapy.errors import (
    LargeDecreaseUnconfirmed,
    OverrideRequired,
    TitrationLimitExceeded,
    TitrationTooSoon,
)
from itb.therapy.guardrails import check_override_reason
from itb.therapy.units import ExactLike, display, exact, hours_after, in_range, require_utc


def _choice(field: str, value: object, enum: type) -> object:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(field, value, "one of: " + ", ".join(m.value for m in enum)) from None


def age_group_for(age_years: ExactLike) -> AgeGroup:
    """Child under 12 years (the label's under-12 maintenance figures), else adult."""
    age = in_range("age_years", age_years, 0, 130, "years")
    return AgeGroup.CHILD if age < catalogue.CHILD_MAX_AGE_YEARS else AgeGroup.ADULT


# --- Initial dose ---------------------------------------------------------------------


@dataclass(frozen=True)
class InitialDose:
    screening_dose_mcg: Fraction
    effect_duration_h: Fraction
    daily_dose_mcg: Fraction
    rule: str
    no_increase_before: datetime | None  # 24 h after the infusion starts, when known


def initial_daily_dose(screening_dose_mcg: ExactLike, effect_duration_h: ExactLike,
                       infusion_start: datetime | None = None, *,
                       small_child: bool = False) -> InitialDose:
    """The starting daily dose from the screening dose that gave a positive response
    (25 mcg too for a very small child, catalogue.SMALL_CHILD_SCREENING_DOSE_MCG)."""
    dose = exact("screening_dose_mcg", screening_dose_mcg)
    doses = catalogue.SCREENING_DOSES_MCG
    if small_child:
        doses = (catalogue.SMALL_CHILD_SCREENING_DOSE_MCG, *doses)
    if dose not in doses:
        raise InvalidInput("screening_dose_mcg", display(dose),
                           "one of the labeled screening doses: "
                           + ", ".join(display(d) for d in doses) + " mcg",
                           "25 mcg only for a very small child" if not small_child
                           and dose == catalogue.SMALL_CHILD_SCREENING_DOSE_MCG else None)
    hours = in_range("effect_duration_h", effect_duration_h, 0, 72, "h", low_inclusive=False)
    if hours > catalogue.INITIAL_DOSE_LONG_EFFECT_H:
        daily, rule = dose, "effect lasted more than 8 h: daily dose = screening dose"
    else:
        daily = dose * catalogue.INITIAL_DOSE_SHORT_EFFECT_MULTIPLIER
        rule = "effect lasted 8 h or less: daily dose = twice the screening dose"
    no_increase_before = None
    if infusion_start is not None:
        no_increase_before = hours_after("infusion_start", require_utc(
            "infusion_start", infusion_start), catalogue.NO_INCREASE_AFTER_START_H)
    return InitialDose(dose, hours, daily, rule, no_increase_before)


# --- Titration ------------------------------------------------------------------------


def pediatric_rules_apply(age_years: ExactLike) -> bool:
    """Whether the pediatric step (the cerebral-origin rule) applies: under 18 (*unconfirmed*).

    Not the under-12 cut-off, which only selects the label's under-12 maintenance figures.
    """
    age = in_range("age_years", age_years, 0, 130, "years")
    return age < catalogue.PEDIATRIC_RULES_MAX_AGE_YEARS


def step_percent_bounds(origin: Origin | str, age_group: AgeGroup | str, reason: ChangeReason | str,
                        pediatric_rule: PediatricRule | str = PediatricRule.FIVE_TO_FIFTEEN,
                        phase: Phase | str = Phase.TITRATION,
                        pediatric: bool | None = None) -> tuple[Fraction, Fraction, str]:
    """(low %, high %, rule text) of the usual change in one step.

    `pediatric` (default: the child age group) selects the children's rule, which is the
    cerebral-origin rule (catalogue.PEDIATRIC_RULES_MAX_AGE_YEARS).
    """
    origin = _choice("origin", origin, Origin)
    age_group = _choice("age_group", age_group, AgeGroup)
    reason = _choice("reason", reason, ChangeReason)
    pediatric_rule = _choice("pediatric_rule", pediatric_rule, PediatricRule)
    phase = _choice("phase", phase, Phase)
    if pediatric is None:
        pediatric = age_group is AgeGroup.CHILD
    if reason is ChangeReason.SIDE_EFFECTS:
        low, high = catalogue.TITRATION_SIDE_EFFECT_DECREASE_PERCENT
        return low, high, f"decrease for side effects usually by {low}-{high}%"
    if pediatric:
        table = catalogue.MAINTENANCE_CHILD_INCREASE_PERCENT if phase is Phase.MAINTENANCE \
            else catalogue.TITRATION_CHILD_INCREASE_PERCENT
        low, high = table[pediatric_rule]
        when = "at a refill visit" if phase is Phase.MAINTENANCE else "per 24 h"
        return low, high, f"increase for children usually by {low}-{high}% {when}, at most {high}%"
    if phase is Phase.MAINTENANCE:
        low, high = catalogue.MAINTENANCE_INCREASE_PERCENT[origin]
        return low, high, (f"maintenance increase for spasticity of {origin} origin usually by "
                           f"{low}-{high}% at a refill visit, at most {high}%")
    low, high = catalogue.TITRATION_INCREASE_PERCENT[origin]
    return low, high, (f"increase for spasticity of {origin} origin usually by {low}-{high}% "
                       f"per 24 h, at most {high}%")


def allowed_new_doses(current_mcg_per_day: ExactLike, origin: Origin | str,
                      age_group: AgeGroup | str, reason: ChangeReason | str,
                      pediatric_rule: PediatricRule | str = PediatricRule.FIVE_TO_FIFTEEN,
                      phase: Phase | str = Phase.TITRATION,
                      pediatric: bool | None = None) -> tuple[Fraction, Fraction]:
    """The exact range of new daily doses the usual step reaches from `current_mcg_per_day`."""
    current = in_range("current_mcg_per_day", current_mcg_per_day, 0, None, "mcg/day",
                       low_inclusive=False)
    low, high, _ = step_percent_bounds(origin, age_group, reason, pediatric_rule, phase,
                                       pediatric)
    if ChangeReason(reason) is ChangeReason.SIDE_EFFECTS:
        return current * (100 - high) / 100, current * (100 - low) / 100
    return current * (100 + low) / 100, current * (100 + high) / 100




@dataclass(frozen=True)
class TitrationDecision:
    """A dose change judged against the rules.

    `allowed_low/high` is what one change may reach without an override (an increase: above
    the current dose up to the largest labeled step; a decrease: down to a stop). The usual
    step (`usual_step_low/high`) is what the label describes as the usual step; a change
    outside it but within the allowed range carries a note. `violations` are the rules the
    change breaks (each needs an override reason); `large_decrease` needs confirmation.
    """

    current_mcg_per_day: Fraction
    proposed_mcg_per_day: Fraction
    change_percent: Fraction  # signed, exact
    reason: ChangeReason
    allowed_low_mcg_per_day: Fraction
    allowed_high_mcg_per_day: Fraction
    rule: str
    usual_low_mcg_per_day: Fraction
    usual_high_mcg_per_day: Fraction
    outside_usual_range: bool
    override_reason: str | None
    next_change_not_before: datetime | None  # the next increase; a decrease is always allowed
    usual_step_low_mcg_per_day: Fraction = Fraction(0)
    usual_step_high_mcg_per_day: Fraction = Fraction(0)
    notes: tuple[str, ...] = ()
    violations: tuple[InvalidInput, ...] = ()
    large_decrease: bool = False
    withdrawal_warning: str | None = None


WITHDRAWAL_WARNING = (
    "a cut of {pct}% is larger than the labeled {low}-{high}% decrease for side effects: "
    "abrupt reduction can bring on withdrawal (boxed warning: high fever, altered mental "
    "status, exaggerated rebound spasticity, muscle rigidity); watch the patient closely")


def _too_soon(direction: ChangeReason, last_change_at: datetime | None,
              now: datetime | None) -> tuple[TitrationTooSoon | None, datetime | None]:
    """The 24-hour rule (increases only) and the time of the next allowed increase."""
    if last_change_at is None:
        if now is None:
            return None, None
        return None, hours_after("now", require_utc("now", now), catalogue.TITRATION_INTERVAL_H)
    if now is None:
        raise InvalidInput("now", None, "the current UTC time when last_change_at is given")
    last = require_utc("last_change_at", last_change_at)
    now = require_utc("now", now)
    if last > now:
        raise InvalidInput("last_change_at", last.isoformat(), f"not after now {now.isoformat()}")
    earliest = hours_after("last_change_at", last, catalogue.TITRATION_INTERVAL_H)
    following = hours_after("now", now, catalogue.TITRATION_INTERVAL_H)
    if direction is ChangeReason.INCREASE and now < earliest:
        error = TitrationTooSoon(
            "time of the increase", now.isoformat(),
            f"{earliest.isoformat()} or later",
            f"too soon: the dose may be increased only once every 24 hours (and not in the "
            f"first 24 hours of infusion); the last change was at {last.isoformat()}, so the "
            f"next increase is allowed at {earliest.isoformat()}; a decrease is allowed at "
            "any time")
        error.next_allowed_at = earliest  # type: ignore[attr-defined]
        return error, following
    return None, following


def _increase_findings(current: Fraction, proposed: Fraction, step_low: Fraction,
                       step_high: Fraction, high_pct: Fraction, rule: str,
                       usual: catalogue.MaintenanceRange, who: str, notes: list[str],
                       violations: list[InvalidInput]) -> None:
    """An increase: a note below the usual step; a rule break beyond its top or above the
    usual maintenance range."""
    if proposed < step_low:
        notes.append(f"smaller than the usual step ({rule}): allowed")
    if proposed > step_high:
        violations.append(TitrationLimitExceeded(
            "proposed_mcg_per_day", f"{display(proposed)} mcg/day",
            f"more than {display(current)} up to {display(step_high)} mcg/day ({rule})",
            low_mcg_per_day=current, high_mcg_per_day=step_high,
            reason=f"beyond the largest labeled step of {high_pct}%"))
    if proposed > usual.usual_high_mcg_per_day:
        violations.append(OverrideRequired(
            "proposed_mcg_per_day", f"{display(proposed)} mcg/day",
            f"the usual maintenance range {display(usual.usual_low_mcg_per_day)} to "
            f"{display(usual.usual_high_mcg_per_day)} mcg/day for {who}",
            "outside it, give an explicit override with a reason"))


def _decrease_findings(proposed: Fraction, cut: Fraction, low_pct: Fraction, high_pct: Fraction,
                       rule: str, usual: catalogue.MaintenanceRange, notes: list[str]
                       ) -> str | None:
    """A decrease: notes only; the withdrawal warning (returned) for a large cut."""
    if proposed == 0:
        notes.append("a stop: the pump keeps its minimum rate (see itb programmer stop)")
    if cut < low_pct:
        notes.append(f"smaller than the suggested decrease for side effects ({rule}): allowed")
    if proposed < usual.usual_low_mcg_per_day:
        notes.append(f"below the usual maintenance range {display(usual.usual_low_mcg_per_day)}"
                     f" to {display(usual.usual_high_mcg_per_day)} mcg/day: allowed")
    if cut > catalogue.LARGE_DECREASE_PERCENT:
        return WITHDRAWAL_WARNING.format(pct=display(cut), low=low_pct, high=high_pct)
    return None


def assess_titration(*, current_mcg_per_day: ExactLike, proposed_mcg_per_day: ExactLike,
                     origin: Origin | str, age_group: AgeGroup | str,
                     reason: ChangeReason | str | None = None,
                     pediatric_rule: PediatricRule | str = PediatricRule.FIVE_TO_FIFTEEN,
                     phase: Phase | str = Phase.TITRATION,
                     last_change_at: datetime | None = None, now: datetime | None = None,
                     override_reason: str | None = None, age_years: ExactLike | None = None
                     ) -> TitrationDecision:
    """Judge a proposed daily dose: notes, rule breaks and the large-cut warning, no refusal.

    The one rule (itb calc titrate and itb programmer program both use it):
    - an increase may be as small as wanted (below the usual step: a note); beyond the
      largest labeled step, above the usual maintenance range, or sooner than 24 h after
      the last change it breaks a rule that needs an override reason;
    - a decrease, down to a stop (0), is allowed at any time; the 10-20% step is the
      suggested step for side effects (outside it: a note); a cut larger than 20% warns of
      withdrawal and needs confirmation (`large_decrease`).
    `age_years`, when given, picks both the pediatric rule (under 18, *unconfirmed*) and the
    maintenance figures (under 12); otherwise `age_group` picks both.
    """
    current = in_range("current_mcg_per_day", current_mcg_per_day, 0, None, "mcg/day",
                       low_inclusive=False)
    proposed = in_range("proposed_mcg_per_day", proposed_mcg_per_day, 0, None, "mcg/day")
    origin = _choice("origin", origin, Origin)
    age_group = _choice("age_group", age_group, AgeGroup)
    pediatric_rule = _choice("pediatric_rule", pediatric_rule, PediatricRule)
    phase = _choice("phase", phase, Phase)
    pediatric = age_group is AgeGroup.CHILD
    if age_years is not None:
        age_group = age_group_for(age_years)
        pediatric = pediatric_rules_apply(age_years)
    if proposed == current:
        raise InvalidInput("proposed_mcg_per_day", display(proposed),
                           f"a dose different from the current {display(current)} mcg/day")
    direction = ChangeReason.INCREASE if proposed > current else ChangeReason.SIDE_EFFECTS
    if reason is not None:
        given = _choice("reason", reason, ChangeReason)
        if given is not direction:
            raise InvalidInput("reason", given.value,
                               f"'{direction.value}' for a change from {display(current)} to "
                               f"{display(proposed)} mcg/day",
                               "increases are for effect, decreases are for side effects")
    check_override_reason(override_reason)
    too_soon, next_not_before = _too_soon(direction, last_change_at, now)
    low_pct, high_pct, rule = step_percent_bounds(origin, age_group, direction, pediatric_rule,
                                                  phase, pediatric)
    step_low, step_high = allowed_new_doses(current, origin, age_group, direction,
                                            pediatric_rule, phase, pediatric)
    usual = catalogue.MAINTENANCE[(origin, age_group)]
    change_pct = (proposed - current) * 100 / current
    notes: list[str] = []
    violations: list[InvalidInput] = [] if too_soon is None else [too_soon]
    warning: str | None = None  # set for a large cut
    if direction is ChangeReason.INCREASE:
        allowed_low, allowed_high = current, step_high
        _increase_findings(current, proposed, step_low, step_high, high_pct, rule, usual,
                           f"{origin} origin, {age_group}", notes, violations)
    else:
        allowed_low, allowed_high = Fraction(0), current
        warning = _decrease_findings(proposed, -change_pct, low_pct, high_pct, rule, usual,
                                     notes)
    if pediatric and age_years is not None \
            and in_range("age_years", age_years, 0, 130, "years") \
            < catalogue.PEDIATRIC_MIN_AGE_YEARS:
        notes.append("under 4 years: safety and effectiveness not established (label)")
    return TitrationDecision(
        current_mcg_per_day=current, proposed_mcg_per_day=proposed, change_percent=change_pct,
        reason=direction, allowed_low_mcg_per_day=allowed_low,
        allowed_high_mcg_per_day=allowed_high, rule=rule,
        usual_low_mcg_per_day=usual.usual_low_mcg_per_day,
        usual_high_mcg_per_day=usual.usual_high_mcg_per_day,
        outside_usual_range=not usual.usual_low_mcg_per_day <= proposed
        <= usual.usual_high_mcg_per_day,
        override_reason=override_reason.strip() if override_reason else None,
        next_change_not_before=next_not_before, usual_step_low_mcg_per_day=step_low,
        usual_step_high_mcg_per_day=step_high, notes=tuple(notes),
        violations=tuple(violations), large_decrease=warning is not None,
        withdrawal_warning=warning)


def check_titration(*, confirm_large_decrease: bool = False, **kwargs: object
                    ) -> TitrationDecision:
    """`assess_titration`, refusing with a typed error what the rules do not let through.

    - a broken rule without `override_reason`: the first of `TitrationTooSoon` (an increase
      within 24 h of the last change), `TitrationLimitExceeded` (beyond the largest step),
      `OverrideRequired` (above the usual maintenance range);
    - a cut larger than 20% without `confirm_large_decrease`: `LargeDecreaseUnconfirmed`.
    """
    decision = assess_titration(**kwargs)  # type: ignore[arg-type]
    if decision.violations and decision.override_reason is None:
        raise decision.violations[0]
    if decision.large_decrease and not confirm_large_decrease:
        raise LargeDecreaseUnconfirmed(
            "proposed_mcg_per_day", f"{display(decision.proposed_mcg_per_day)} mcg/day",
            "a confirmed large decrease", decision.withdrawal_warning)
    return decision
