"""The initial pump dose after a positive screening trial, and titration.

Rules from the Lioresal Intrathecal / Gablofen labeling (catalogue [LIO-LABEL]):
- initial daily dose: the screening dose if its effect lasted more than 8 h,
  otherwise twice the screening dose; no increase in the first 24 h;
- titration once every 24 h: spinal origin +10-30%, cerebral origin +5-15%,
  children +5-15% (some labels +5-10%), decreases for side effects -10-20%;
- maintenance (at refill visits): spinal +10-40%, cerebral +5-20%, side effects -10-20%;
- a dose outside the usual maintenance range needs an explicit override with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.catalogue import AgeGroup, ChangeReason, Origin, PediatricRule, Phase
from itb.therapy.errors import OverrideRequired, TitrationLimitExceeded, TitrationTooSoon
from itb.therapy.units import (
    ExactLike,
    display,
    exact,
    hours_after,
    in_range,
    require_utc,
)


def _choice(field: str, value: object, enum: type) -> object:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(field, value, "one of: " + ", ".join(m.value for m in enum)) from None


def age_group_for(age_years: ExactLike) -> AgeGroup:
    """Child under 12 years (the label's pediatric maintenance figures), else adult."""
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
                       infusion_start: datetime | None = None) -> InitialDose:
    """The starting daily dose from the screening dose that gave a positive response."""
    dose = exact("screening_dose_mcg", screening_dose_mcg)
    if dose not in catalogue.SCREENING_DOSES_MCG:
        raise InvalidInput("screening_dose_mcg", display(dose),
                           "one of the labeled screening doses: "
                           + ", ".join(display(d) for d in catalogue.SCREENING_DOSES_MCG) + " mcg")
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


def step_percent_bounds(origin: Origin | str, age_group: AgeGroup | str, reason: ChangeReason | str,
                        pediatric_rule: PediatricRule | str = PediatricRule.FIVE_TO_FIFTEEN,
                        phase: Phase | str = Phase.TITRATION) -> tuple[Fraction, Fraction, str]:
    """(low %, high %, rule text) of the allowed change in one step (at most one per 24 h)."""
    origin = _choice("origin", origin, Origin)
    age_group = _choice("age_group", age_group, AgeGroup)
    reason = _choice("reason", reason, ChangeReason)
    pediatric_rule = _choice("pediatric_rule", pediatric_rule, PediatricRule)
    phase = _choice("phase", phase, Phase)
    if reason is ChangeReason.SIDE_EFFECTS:
        low, high = catalogue.TITRATION_SIDE_EFFECT_DECREASE_PERCENT
        return low, high, f"decrease for side effects by {low}-{high}% per 24 h"
    if age_group is AgeGroup.CHILD:
        low, high = catalogue.TITRATION_CHILD_INCREASE_PERCENT[pediatric_rule]
        return low, high, f"increase for children by {low}-{high}% per 24 h"
    if phase is Phase.MAINTENANCE:
        low, high = catalogue.MAINTENANCE_INCREASE_PERCENT[origin]
        return low, high, (f"maintenance increase for spasticity of {origin} origin by "
                           f"{low}-{high}% at a refill visit")
    low, high = catalogue.TITRATION_INCREASE_PERCENT[origin]
    return low, high, f"increase for spasticity of {origin} origin by {low}-{high}% per 24 h"


def allowed_new_doses(current_mcg_per_day: ExactLike, origin: Origin | str,
                      age_group: AgeGroup | str, reason: ChangeReason | str,
                      pediatric_rule: PediatricRule | str = PediatricRule.FIVE_TO_FIFTEEN,
                      phase: Phase | str = Phase.TITRATION) -> tuple[Fraction, Fraction]:
    """The exact range of new daily doses one step may reach from `current_mcg_per_day`."""
    current = in_range("current_mcg_per_day", current_mcg_per_day, 0, None, "mcg/day",
                       low_inclusive=False)
    low, high, _ = step_percent_bounds(origin, age_group, reason, pediatric_rule, phase)
    if ChangeReason(reason) is ChangeReason.SIDE_EFFECTS:
        return current * (100 - high) / 100, current * (100 - low) / 100
    return current * (100 + low) / 100, current * (100 + high) / 100


@dataclass(frozen=True)
class TitrationDecision:
    """An accepted dose change."""

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
    next_change_not_before: datetime | None


def check_titration(*, current_mcg_per_day: ExactLike, proposed_mcg_per_day: ExactLike,
                    origin: Origin | str, age_group: AgeGroup | str,
                    reason: ChangeReason | str | None = None,
                    pediatric_rule: PediatricRule | str = PediatricRule.FIVE_TO_FIFTEEN,
                    phase: Phase | str = Phase.TITRATION,
                    last_change_at: datetime | None = None, now: datetime | None = None,
                    override_reason: str | None = None) -> TitrationDecision:
    """Accept a proposed new daily dose, or refuse it with a typed error.

    - less than 24 h since `last_change_at` (or since the infusion started): `TitrationTooSoon`;
    - outside the labeled step for origin and age group: `TitrationLimitExceeded`
      with the exact allowed range;
    - above the usual maintenance range, or a decrease to below it, without
      `override_reason`: `OverrideRequired`. (An increase that is still below the
      usual range is the expected post-implant titration and needs no override.)
    """
    current = in_range("current_mcg_per_day", current_mcg_per_day, 0, None, "mcg/day",
                       low_inclusive=False)
    proposed = in_range("proposed_mcg_per_day", proposed_mcg_per_day, 0, None, "mcg/day",
                        low_inclusive=False)
    origin = _choice("origin", origin, Origin)
    age_group = _choice("age_group", age_group, AgeGroup)
    pediatric_rule = _choice("pediatric_rule", pediatric_rule, PediatricRule)
    phase = _choice("phase", phase, Phase)
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
    if override_reason is not None and not override_reason.strip():
        raise InvalidInput("override_reason", repr(override_reason), "a non-empty reason")

    next_not_before = None
    if last_change_at is not None:
        if now is None:
            raise InvalidInput("now", None, "the current UTC time when last_change_at is given")
        last = require_utc("last_change_at", last_change_at)
        now = require_utc("now", now)
        if last > now:
            raise InvalidInput("last_change_at", last.isoformat(),
                               f"not after now {now.isoformat()}")
        earliest = hours_after("last_change_at", last, catalogue.TITRATION_INTERVAL_H)
        if now < earliest:
            raise TitrationTooSoon("now", now.isoformat(), f"{earliest.isoformat()} or later",
                                   "the dose may change once every 24 hours "
                                   "(and not in the first 24 hours of infusion)")
        next_not_before = hours_after("now", now, catalogue.TITRATION_INTERVAL_H)
    elif now is not None:
        next_not_before = hours_after("now", require_utc("now", now),
                                      catalogue.TITRATION_INTERVAL_H)

    _, _, rule = step_percent_bounds(origin, age_group, direction, pediatric_rule, phase)
    low, high = allowed_new_doses(current, origin, age_group, direction, pediatric_rule, phase)
    if not low <= proposed <= high:
        raise TitrationLimitExceeded(
            "proposed_mcg_per_day", f"{display(proposed)} mcg/day",
            f"{display(low)} to {display(high)} mcg/day ({rule} from {display(current)})",
            low_mcg_per_day=low, high_mcg_per_day=high)

    usual = catalogue.MAINTENANCE[(origin, age_group)]
    above = proposed > usual.usual_high_mcg_per_day
    below_on_decrease = direction is ChangeReason.SIDE_EFFECTS \
        and proposed < usual.usual_low_mcg_per_day
    outside = proposed > usual.usual_high_mcg_per_day or proposed < usual.usual_low_mcg_per_day
    if (above or below_on_decrease) and override_reason is None:
        raise OverrideRequired(
            "proposed_mcg_per_day", f"{display(proposed)} mcg/day",
            f"the usual maintenance range {display(usual.usual_low_mcg_per_day)} to "
            f"{display(usual.usual_high_mcg_per_day)} mcg/day for {origin} origin, {age_group}",
            "outside it, give an explicit override with a reason")
    change_pct = (proposed - current) * 100 / current
    return TitrationDecision(
        current_mcg_per_day=current, proposed_mcg_per_day=proposed, change_percent=change_pct,
        reason=direction, allowed_low_mcg_per_day=low, allowed_high_mcg_per_day=high, rule=rule,
        usual_low_mcg_per_day=usual.usual_low_mcg_per_day,
        usual_high_mcg_per_day=usual.usual_high_mcg_per_day, outside_usual_range=outside,
        override_reason=override_reason.strip() if override_reason else None,
        next_change_not_before=next_not_before,
    )
