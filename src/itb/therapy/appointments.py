"""The appointment rules shared by the clinic (`itb.clinic`) and the fleet studies
(`itb.fleet`): when a refill may be booked, when its reminders go out, and how urgent a
missed refill is. Pure: no session, no clock (`now` is always given), no errors raised;
the clinic turns a refusal into its own 422 sentence (`itb.clinic.booking_window`).

A refill, from the pump's projection at its last interrogation:

- *safe until* the pump's refill-by date: later needs an override reason;
- *never after* the low-reservoir alarm date (no override). The seeds say "Missing a pump
  refill appointment may lead to baclofen withdrawal" (seed 004; domain.md "Missing a refill
  leads to withdrawal"), and past the low-reservoir alarm the pump is already warning that it
  is nearly empty: a booking there plans a withdrawal risk, which no reason makes safe. When
  that date has already passed at booking time, the refill is urgent: it may be booked only
  within `urgent_hours` of now (with an override reason, since the refill-by date has passed
  too). With no low-alarm date the pump's projected empty date stands in for it.
- *not before* the drug in the pump would be wasted beyond the policy's limit: the volume
  left at the visit (withdrawn and discarded at a refill) is projected at the interrogated
  daily dose and strength; booking while more than `max_wasted_fraction` of the volume
  interrogated would be left needs an override reason (*unconfirmed*: no label figure; the
  clinic sets it).

Reminders go out at offsets before the visit (default 7 days and 1 day, *unconfirmed*:
itb's choice); an offset already past when the visit is booked is not sent.

A missed refill's urgency comes from the pump, as interrogated last: the days left to its
low-reservoir alarm date and to its projected empty date. Levels (itb's thresholds,
*unconfirmed*):

- `critical`: the low-reservoir alarm date has passed, or the pump is projected empty within
  `CRITICAL_EMPTY_DAYS` days, or a second visit in a row was missed;
- `high`: the low-reservoir alarm is within `HIGH_ALARM_DAYS` days, or the pump gave no
  projection (unknown is not safe);
- `moderate`: otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

MINUTE = timedelta(minutes=1)
DEFAULT_OFFSETS_MINUTES = (7 * 24 * 60, 24 * 60)
LEVELS = ("critical", "high", "moderate")
CRITICAL_EMPTY_DAYS = 7
HIGH_ALARM_DAYS = 7


@dataclass(frozen=True)
class BookingPolicy:
    """The clinic's settings for the booking window (each *unconfirmed*: itb's defaults)."""

    # at most this share of the volume interrogated may be left in the pump (and discarded)
    # at a refill booked without a reason
    max_wasted_fraction: Fraction = Fraction(1, 2)
    # when the low-reservoir alarm date is already past: book within this many hours
    urgent_hours: int = 24


@dataclass(frozen=True)
class Projection:
    """What the pump said at its last interrogation (itb.clinic.models.Interrogation). Every
    figure is given, None where the pump gave none: no caller leaves one out by default."""

    at: datetime
    reservoir_ml: Decimal | None
    strength_mcg_per_ml: Decimal | None
    daily_dose_mcg: Decimal | None
    refill_by: datetime | None
    low_alarm_at: datetime | None
    empty_at: datetime | None
    eri: bool
    eri_at: datetime | None
    end_of_service_at: datetime | None


@dataclass(frozen=True)
class Window:
    """Book at or after `earliest`, at or before `safe_until` without a reason, never after
    `last`. Any bound may be None (no projection of it). `basis` says where each comes from."""

    earliest: datetime | None
    safe_until: datetime | None
    last: datetime | None
    basis: str

    def words(self) -> str:
        def at(moment: datetime | None) -> str:
            return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
        return (f"earliest {at(self.earliest)}, safe until {at(self.safe_until)}, never after "
                f"{at(self.last)} ({self.basis})")


def ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


def waste_limit_time(p: Projection, policy: BookingPolicy) -> datetime | None:
    """The first minute at which the volume left is within the policy's waste limit, at the
    interrogated daily dose and strength (exact; None if the pump gave no such figures)."""
    if p.reservoir_ml is None or not p.strength_mcg_per_ml or not p.daily_dose_mcg:
        return None
    if p.daily_dose_mcg <= 0 or p.strength_mcg_per_ml <= 0:
        return None
    volume = Fraction(p.reservoir_ml)
    ml_per_day = Fraction(p.daily_dose_mcg) / Fraction(p.strength_mcg_per_ml)
    excess = volume - volume * policy.max_wasted_fraction
    if excess <= 0:
        return None
    seconds = math.ceil(excess / ml_per_day * 86_400)
    return ceil_minute(p.at + timedelta(seconds=seconds))


def urgent(last: datetime | None, now: datetime, policy: BookingPolicy,
           what: str) -> tuple[datetime | None, str]:
    """The last date as booked at `now`: past already, it becomes `urgent_hours` from now."""
    if last is not None and last <= now:
        return (ceil_minute(now) + timedelta(hours=policy.urgent_hours),
                f"the {what} has passed: book within {policy.urgent_hours} hours")
    return last, f"the {what}"


def refill_window(p: Projection, now: datetime, policy: BookingPolicy) -> Window:
    alarm, alarm_name = p.low_alarm_at, "low-reservoir alarm date"
    if alarm is None:
        alarm, alarm_name = p.empty_at, "projected empty date"
    last, last_words = urgent(alarm, now, policy, alarm_name)
    safe = p.refill_by if p.refill_by is not None else last
    if safe is not None and last is not None:
        safe = min(safe, last)
    earliest = waste_limit_time(p, policy)
    basis = (f"interrogation of {p.at:%Y-%m-%d %H:%M} UTC: refill-by date, never after "
             f"{last_words}, earliest when at most {policy.max_wasted_fraction} of "
             f"{p.reservoir_ml} mL would be discarded")
    return Window(earliest, safe, last, basis)


def reminder_times(starts_at: datetime, booked_at: datetime,
                   offsets_minutes: tuple[int, ...]) -> list[tuple[int, datetime]]:
    """(offset, due) of each reminder of a visit booked at `booked_at`, earliest first; an
    offset already past at booking is not sent."""
    due = [(offset, starts_at - timedelta(minutes=offset))
           for offset in sorted(set(offsets_minutes), reverse=True)]
    return [(offset, at) for offset, at in due if at >= booked_at]


def days_until(later: datetime | None, now: datetime) -> Fraction | None:
    if later is None:
        return None
    return Fraction(int((later - now).total_seconds()), 86_400)


def urgency(now: datetime, low_alarm_at: datetime | None, empty_at: datetime | None,
            misses_in_a_row: int = 1) -> str:
    """The level of a missed refill at `now`."""
    to_alarm, to_empty = days_until(low_alarm_at, now), days_until(empty_at, now)
    if misses_in_a_row >= 2 or (to_alarm is not None and to_alarm <= 0) or (
            to_empty is not None and to_empty <= CRITICAL_EMPTY_DAYS):
        return "critical"
    if to_alarm is None or to_alarm <= HIGH_ALARM_DAYS:
        return "high"
    return "moderate"


def place_refill(window: Window, wanted: datetime, now: datetime, *,
                 with_reason: bool = False) -> datetime:
    """Where a refill wanted at `wanted` is booked by the rules: not before now, never after
    the window's last date; without a reason also not before the earliest (waste) nor after
    the safe date. A chase after a no-show books with a reason (the refill-by date may have
    passed) but still never after the last date."""
    at = wanted
    if not with_reason:
        if window.earliest is not None:
            at = max(at, window.earliest)
        if window.safe_until is not None:
            at = min(at, window.safe_until)
    at = max(at, now)
    return at if window.last is None else min(at, window.last)
