"""Two-tier guardrails around the limits the programmer checks (issue 14).

Each limit has a **warning** tier (shown in the preview; the clinician confirms it) and a
**block** tier (the act needs an override reason, which is recorded). The thresholds are data,
one table (`GUARDRAILS`), each row with its source or marked *unconfirmed*; functions below
judge a value against them and return typed `Finding`s. Pure: nothing here prints, asks or
refuses by itself, and a value is never changed (never clipped): `blocked` raises when a block
has no reason.

The labeled hard rules (a marketed strength as prescribed, the pump's hard limits, the
model's alarm range, the largest access-port bolus) stay hard refusals elsewhere that no
reason lifts; the guardrails sit around them.

One rule for every limit, shared with the titration rule (`itb.therapy.dosing`, issue 16.1):
- a value beyond a warning threshold is a warning;
- a value beyond a block threshold is a block, but only when the change moves it further
  that way than it already is (raises a dose or a strength, lowers the alarm volume); a
  value kept, or moved toward safety, stays a warning. So a decrease is never blocked;
- a warning marked `explicit` (the large decrease's withdrawal warning) is confirmed on its
  own, not by the routine confirmation (`--yes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.errors import GuardrailBlocked
from itb.therapy.units import display, to_exact_str


class Limit(StrEnum):
    DOSE_INCREASE = "dose increase per step"
    DOSE_DECREASE = "dose decrease per step"
    INCREASE_INTERVAL = "time since the last change"
    BOLUS = "bolus size"
    FLEX_STEP = "flex step rate"
    DAILY_TOTAL = "daily total"
    STRENGTH = "strength"
    ALARM_VOLUME = "alarm volume"


class Tier(StrEnum):
    WARNING = "warning"
    BLOCK = "block"


class Beyond(StrEnum):
    ABOVE = "above"
    BELOW = "below"


@dataclass(frozen=True)
class Guardrail:
    """One row: crossing `threshold` in direction `beyond` gives a finding of `tier`.

    `threshold` is a number, or the name of a figure that depends on the patient or the pump
    (given to `check` in its `figures`), such as the top of the labeled titration step.
    """

    limit: Limit
    tier: Tier
    beyond: Beyond
    threshold: Fraction | str
    unit: str
    meaning: str
    source: str
    confirmed: bool  # False: *unconfirmed* (itb policy or a figure not found in the labeling)
    explicit: bool = False  # a warning confirmed on its own, not by --yes


_W, _B, _UP, _DOWN = Tier.WARNING, Tier.BLOCK, Beyond.ABOVE, Beyond.BELOW
_LABEL_STEP = "LIO-LABEL titration/maintenance steps via devices.md 'Titration' (catalogue)"
_LABEL_RANGE = "LIO-LABEL maintenance ranges via devices.md 'Maintenance' (catalogue.MAINTENANCE)"
_SCREENING = "LIO-LABEL screening via devices.md 'Screening' (catalogue.SCREENING_DOSES_MCG)"

GUARDRAILS: tuple[Guardrail, ...] = (
    Guardrail(Limit.DOSE_INCREASE, _W, _UP, "step_middle_percent", "%",
              "in the upper half of the labeled usual step", "itb policy", False),
    Guardrail(Limit.DOSE_INCREASE, _B, _UP, "step_top_percent", "%",
              "beyond the largest labeled step", _LABEL_STEP, True),
    Guardrail(Limit.DOSE_DECREASE, _W, _UP, catalogue.LARGE_DECREASE_PERCENT, "%",
              "a cut beyond the labeled 10-20% decrease for side effects can bring on "
              "withdrawal (boxed warning)", "LIO-LABEL decrease step and boxed warning "
              "(catalogue.LARGE_DECREASE_PERCENT)", True, explicit=True),
    # A decrease has no block tier: down to a stop it is allowed at any time (issue 16.1).
    Guardrail(Limit.INCREASE_INTERVAL, _B, _DOWN, Fraction(catalogue.TITRATION_INTERVAL_H),
              "h", "an increase within 24 h of the last change (or of the infusion start)",
              "LIO-LABEL: once every 24 h; no increase in the first 24 h", True),
    Guardrail(Limit.DAILY_TOTAL, _W, _UP, "usual_high_mcg_per_day", "mcg/day",
              "above the usual maintenance range", _LABEL_RANGE, True),
    Guardrail(Limit.DAILY_TOTAL, _B, _UP, "usual_high_mcg_per_day", "mcg/day",
              "raised above the usual maintenance range", _LABEL_RANGE
              + "; the override procedure is itb policy", True),
    Guardrail(Limit.FLEX_STEP, _W, _UP, "usual_high_mcg_per_day", "mcg/day",
              "a step rate above the usual maintenance range", _LABEL_RANGE, True),
    Guardrail(Limit.FLEX_STEP, _B, _UP, "reported_high_mcg_per_day", "mcg/day",
              "a step rate above the highest maintenance dose the label reports",
              _LABEL_RANGE, True),
    Guardrail(Limit.BOLUS, _W, _UP, catalogue.SCREENING_DOSES_MCG[0], "mcg",
              "larger than the labeled first screening bolus", _SCREENING, True),
    Guardrail(Limit.BOLUS, _B, _UP, catalogue.SCREENING_DOSES_MCG[-1], "mcg",
              "larger than the largest labeled screening bolus", _SCREENING, True),
    Guardrail(Limit.STRENGTH, _W, _UP, "current_mcg_per_ml", "mcg/mL",
              "stronger than the drug in the pump (a bridge bolus and a new rate follow)",
              "itb policy; wrong strength is the hazard HAZ-OD-02", False),
    Guardrail(Limit.STRENGTH, _W, _DOWN, "current_mcg_per_ml", "mcg/mL",
              "weaker than the drug in the pump (a bridge bolus and a new rate follow)",
              "itb policy; wrong strength is the hazard HAZ-OD-02", False),
    Guardrail(Limit.STRENGTH, _B, _UP, "twice_current_mcg_per_ml", "mcg/mL",
              "more than twice the strength in the pump (a fourfold strength error is issue "
              "16.5's example)", "itb policy", False),
    Guardrail(Limit.ALARM_VOLUME, _W, _DOWN, catalogue.DEFAULT_LOW_RESERVOIR_ALARM_ML, "mL",
              "below the manufacturer's recommended alarm residual",
              "NEUROSURG-2004; devices.md 'low reservoir alarm volume' (about 2 mL)", False),
    Guardrail(Limit.ALARM_VOLUME, _B, _DOWN, Fraction(1), "mL",
              "below half the recommended alarm residual", "itb policy", False),
)


@dataclass(frozen=True)
class Finding:
    """A value beyond a guardrail: what, which tier, the value and the threshold it crossed."""

    limit: Limit
    tier: Tier
    value: Fraction
    threshold: Fraction
    beyond: Beyond
    unit: str
    source: str
    confirmed: bool
    sentence: str
    subject: str = ""  # which part, for a limit checked per part ("step 07:00")
    explicit: bool = False

    @property
    def value_text(self) -> str:
        return f"{display(self.value)} {self.unit}"

    @property
    def allowed(self) -> str:
        side = "at most" if self.beyond is Beyond.ABOVE else "at least"
        return f"{side} {display(self.threshold)} {self.unit}"

    def to_json(self) -> dict[str, Any]:
        """Exact strings, for the session journal and a clinic record."""
        return {"limit": self.limit.value, "tier": self.tier.value,
                "subject": self.subject or None, "value": to_exact_str(self.value),
                "threshold": to_exact_str(self.threshold), "beyond": self.beyond.value,
                "unit": self.unit, "source": self.source, "confirmed_source": self.confirmed,
                "sentence": self.sentence}


def rows(limit: Limit) -> tuple[Guardrail, ...]:
    return tuple(row for row in GUARDRAILS if row.limit is limit)


def _crosses(value: Fraction, beyond: Beyond, threshold: Fraction) -> bool:
    return value > threshold if beyond is Beyond.ABOVE else value < threshold


def check(limit: Limit, value: Fraction, *, current: Fraction | None = None,
          figures: Mapping[str, Fraction] | None = None, subject: str = ""
          ) -> tuple[Finding, ...]:
    """The findings of `value` against the limit's rows: at most one, of the highest tier.

    `current` is the value in force (None: a new act, such as a bolus); a block applies only
    when the value moves beyond `current` in the block's direction, else it is a warning.
    """
    crossed: list[tuple[Guardrail, Fraction]] = []
    for row in rows(limit):
        threshold = row.threshold if isinstance(row.threshold, Fraction) \
            else (figures or {})[row.threshold]
        if _crosses(value, row.beyond, threshold):
            crossed.append((row, threshold))
    if not crossed:
        return ()
    row, threshold = next(((r, t) for r, t in crossed if r.tier is Tier.BLOCK), crossed[0])
    tier = row.tier
    kept = ""
    if tier is Tier.BLOCK and current is not None and not _crosses(value, row.beyond, current):
        tier, kept = Tier.WARNING, "; not blocked: the change does not move it further that way"
    where = f" ({subject})" if subject else ""
    side = "above" if row.beyond is Beyond.ABOVE else "below"
    unsourced = "" if row.confirmed else ", *unconfirmed*"
    sentence = (f"{limit.value}{where} {display(value)} {row.unit} is {side} "
                f"{display(threshold)} {row.unit}: {row.meaning} [{row.source}{unsourced}]"
                f"{kept}")
    return (Finding(limit, tier, value, threshold, row.beyond, row.unit, row.source,
                    row.confirmed, sentence, subject, row.explicit and tier is Tier.WARNING),)


# ---- the limits, one function each -------------------------------------------------------------


def check_dose_change(*, current_mcg_per_day: Fraction, proposed_mcg_per_day: Fraction,
                      step_low_percent: Fraction, step_high_percent: Fraction,
                      hours_since_last_change: Fraction | None = None) -> tuple[Finding, ...]:
    """A change of the daily dose: an increase against the labeled step (and the 24-hour
    rule), a decrease against the labeled decrease step. The step is the one
    `itb.therapy.dosing.step_percent_bounds` gives for this patient."""
    if proposed_mcg_per_day == current_mcg_per_day:
        return ()
    change = (proposed_mcg_per_day - current_mcg_per_day) * 100 / current_mcg_per_day
    if change < 0:
        return check(Limit.DOSE_DECREASE, -change)
    found = check(Limit.DOSE_INCREASE, change, figures={
        "step_middle_percent": (step_low_percent + step_high_percent) / 2,
        "step_top_percent": step_high_percent})
    if hours_since_last_change is not None:
        found += check(Limit.INCREASE_INTERVAL, hours_since_last_change)
    return found


def check_daily_total(total_mcg_per_day: Fraction, usual: catalogue.MaintenanceRange, *,
                      current_mcg_per_day: Fraction | None) -> tuple[Finding, ...]:
    return check(Limit.DAILY_TOTAL, total_mcg_per_day, current=current_mcg_per_day,
                 figures={"usual_high_mcg_per_day": usual.usual_high_mcg_per_day})


def check_flex_steps(step_rates: Iterable[tuple[str, Fraction]],
                     usual: catalogue.MaintenanceRange, *,
                     current_highest_mcg_per_day: Fraction | None) -> tuple[Finding, ...]:
    """Each step's rate (mcg/day, as if it ran all day) against the maintenance ranges."""
    figures = {"usual_high_mcg_per_day": usual.usual_high_mcg_per_day,
               "reported_high_mcg_per_day": usual.reported_high_mcg_per_day}
    found: tuple[Finding, ...] = ()
    for subject, rate in step_rates:
        found += check(Limit.FLEX_STEP, rate, current=current_highest_mcg_per_day,
                       figures=figures, subject=subject)
    return found


def check_bolus(dose_mcg: Fraction) -> tuple[Finding, ...]:
    return check(Limit.BOLUS, dose_mcg)


def check_strength(new_mcg_per_ml: Fraction, current_mcg_per_ml: Fraction
                   ) -> tuple[Finding, ...]:
    return check(Limit.STRENGTH, new_mcg_per_ml, current=current_mcg_per_ml,
                 figures={"current_mcg_per_ml": current_mcg_per_ml,
                          "twice_current_mcg_per_ml": 2 * current_mcg_per_ml})


def check_alarm_volume(new_ml: Fraction, current_ml: Fraction | None) -> tuple[Finding, ...]:
    return check(Limit.ALARM_VOLUME, new_ml, current=current_ml)


# ---- settling the findings ---------------------------------------------------------------------


def warnings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.tier is Tier.WARNING)


def blocks(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(f for f in findings if f.tier is Tier.BLOCK)


def check_override_reason(override_reason: str | None) -> None:
    """A reason given to go beyond a rule or lift a block must say something (None: no
    reason given); blank text is refused, naming the field."""
    if override_reason is not None and not override_reason.strip():
        raise InvalidInput("override_reason", repr(override_reason), "a non-empty reason")


def blocked(findings: Iterable[Finding], override_reason: str | None) -> None:
    """Raise `GuardrailBlocked` naming every block when no override reason is given."""
    found = blocks(findings)
    if found and not (override_reason and override_reason.strip()):
        raise GuardrailBlocked(found)


def record(findings: Iterable[Finding], override_reason: str | None) -> dict[str, Any]:
    """What the journal keeps: every finding (tier, value, threshold, source) and the reason
    that lifted the blocks."""
    found = tuple(findings)
    return {"guardrails": [f.to_json() for f in found],
            "guardrail_override_reason": (override_reason.strip() if blocks(found)
                                          and override_reason else None)}
