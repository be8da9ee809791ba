"""The two-tier guardrails (`itb.therapy.guardrails`, issue 14) applied to what the programmer
is about to send: a program, a bolus, a refill's strength, an alarm volume.

Pure: each function takes what the workflow already read (the `PumpView`, the request) and
returns the findings; the workflow refuses a block without a reason, the front end lists
the warnings and asks for their confirmation. The words of a front end come from here, so
the command line and the web clinic show the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from fractions import Fraction

from itb.programmer.programming import PatientFacts, TitrationReview
from itb.programmer.view import PumpView
from itb.therapy import guardrails
from itb.therapy.catalogue import MAINTENANCE
from itb.therapy.flex import FlexSchedule
from itb.therapy.guardrails import Finding, Tier
from itb.therapy.units import NL_PER_ML

_US_PER_H = 3_600 * 10**6


def hours_between(earlier: datetime | None, later: datetime) -> Fraction | None:
    """Exact hours from `earlier` to `later`; None when unknown or when the clock went back
    (the titration review cannot judge the 24-hour rule then either)."""
    if earlier is None or earlier > later:
        return None
    return Fraction((later - earlier) // timedelta(microseconds=1), _US_PER_H)


def program_findings(view: PumpView, titration: TitrationReview, patient: PatientFacts,
                     daily_mcg: Fraction, flex: FlexSchedule | None) -> tuple[Finding, ...]:
    """A new program: the dose change (increase step, 24-hour rule, decrease step), the
    daily total and, for a flex schedule, each step's rate."""
    usual = MAINTENANCE[(patient.origin, patient.age_group)]
    current = view.daily_dose_mcg if view.daily_dose_mcg else None
    found: tuple[Finding, ...] = ()
    decision = titration.decision
    if decision is not None and current is not None:
        step_high = (decision.usual_step_high_mcg_per_day - current) * 100 / current
        step_low = (decision.usual_step_low_mcg_per_day - current) * 100 / current
        found += guardrails.check_dose_change(
            current_mcg_per_day=current, proposed_mcg_per_day=daily_mcg,
            step_low_percent=step_low, step_high_percent=step_high,
            hours_since_last_change=hours_between(view.last_program_change_at, view.now))
    found += guardrails.check_daily_total(daily_mcg, usual, current_mcg_per_day=current)
    if flex is not None and len(flex.steps) > 1:
        highest = current
        if view.schedule is not None:
            highest = max(step.dose_mcg_per_day for step in view.schedule.steps)
        found += guardrails.check_flex_steps(
            ((f"step {step.start:%H:%M}", step.dose_mcg_per_day) for step in flex.steps),
            usual, current_highest_mcg_per_day=highest)
    return found


def bolus_findings(dose_mcg: Fraction) -> tuple[Finding, ...]:
    return guardrails.check_bolus(dose_mcg)


def strength_findings(view: PumpView, new_mcg_per_ml: Fraction) -> tuple[Finding, ...]:
    return guardrails.check_strength(new_mcg_per_ml, view.concentration_mcg_per_ml)


def alarm_volume_findings(view: PumpView, volume_nl: int) -> tuple[Finding, ...]:
    current = view.report.reservoir.low_reservoir_alarm_nl
    return guardrails.check_alarm_volume(Fraction(volume_nl, NL_PER_ML),
                                         Fraction(current, NL_PER_ML))


def lines(findings: Iterable[Finding], override_reason: str | None = None) -> list[str]:
    """One line per finding for a preview, blocks first; then the reason that lifts them."""
    found = sorted(findings, key=lambda f: f.tier is not Tier.BLOCK)
    out = [("BLOCK (needs an override reason): " if f.tier is Tier.BLOCK else "Warning: ")
           + f.sentence for f in found]
    if override_reason and guardrails.blocks(found):
        out.append(f"Override reason (recorded): {override_reason.strip()}")
    return out


def question(base: str, findings: Iterable[Finding]) -> str:
    """The confirmation question; with warnings it says they are being confirmed."""
    count = sum(1 for f in findings if f.tier is Tier.WARNING and not f.explicit)
    if not count:
        return base
    return f"Confirm the {count} warning{'s' if count > 1 else ''} above and " \
        + base[0].lower() + base[1:]
