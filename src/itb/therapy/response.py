"""A poor response to rising doses: check the catheter and the pump before the next increase.

Issue 16.15. "Poor response" is defined explicitly (catalogue, *unconfirmed* thresholds):
the clinician judges spasticity unchanged or worse, and within the last 30 days the daily
dose rose at least twice, or by at least 50% from the dose in force 30 days ago. A rise
that steep without effect points to a catheter or pump problem (kink, dislodgement,
disconnection, under-delivery) as much as to tolerance [LIO-LABEL, DEVICES]; a further
increase before the system is checked risks an overdose once the fault is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise

from itb.therapy import catalogue
from itb.therapy.units import display, require_utc


class ClinicalResponse(StrEnum):
    """The clinician's judgement of the spasticity since the last increase."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    WORSE = "worse"


@dataclass(frozen=True)
class DoseRise:
    """How the daily dose rose over the window."""

    window_start: datetime
    dose_at_start_mcg_per_day: Fraction
    dose_now_mcg_per_day: Fraction
    increases: int

    @property
    def rise_percent(self) -> Fraction:
        start = self.dose_at_start_mcg_per_day
        return (self.dose_now_mcg_per_day - start) * 100 / start if start else Fraction(0)

    @property
    def steep(self) -> bool:
        return (self.increases >= catalogue.POOR_RESPONSE_MIN_INCREASES
                or self.rise_percent >= catalogue.POOR_RESPONSE_MIN_RISE_PERCENT)

    def sentence(self) -> str:
        return (f"the daily dose rose {self.increases} time(s) in the last "
                f"{catalogue.POOR_RESPONSE_WINDOW_DAYS} days, from "
                f"{display(self.dose_at_start_mcg_per_day)} to "
                f"{display(self.dose_now_mcg_per_day)} mcg/day "
                f"({display(self.rise_percent, 1)}%)")


def dose_rise(history: Sequence[tuple[datetime, Fraction]], now: datetime) -> DoseRise | None:
    """The rise over the window from a time-ordered history of (change time, new daily dose);
    None without a dose in force at some point of the window."""
    now = require_utc("now", now)
    start = now - timedelta(days=catalogue.POOR_RESPONSE_WINDOW_DAYS)
    before = [dose for at, dose in history if at <= start]
    within = [dose for at, dose in history if start < at <= now]
    if not before and not within:
        return None
    first = before[-1] if before else within[0]
    doses = [first, *(within if before else within[1:])]
    increases = sum(1 for a, b in pairwise(doses) if b > a)
    return DoseRise(start, first, doses[-1], increases)


def poor_response(history: Sequence[tuple[datetime, Fraction]], now: datetime,
                  response: ClinicalResponse | str) -> DoseRise | None:
    """The steep rise that, with no improvement, makes a poor response (else None)."""
    judged = ClinicalResponse(response)
    rise = dose_rise(history, now)
    if judged is ClinicalResponse.IMPROVED or rise is None or not rise.steep:
        return None
    return rise
