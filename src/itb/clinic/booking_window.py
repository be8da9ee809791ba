"""When a visit may be booked, from the pump's projection at its last interrogation (pure: no
session, no clock; docs/clinic-appointments.md).

A refill:

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

A replacement (devices.md, battery row: "replacement is best scheduled about 6 months before
the shut-off"; the pump stops 90 days after ERI): safe until the earlier of 6 months before
the projected end of service and the projected ERI date; later needs an override reason;
never after the end of service (the pump stops: withdrawal). If ERI is already on, the end of
service (or ERI + 90 days) is the last day.

Other kinds (titration, catheter check, follow-up) have no window beyond "in the future".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from itb.clinic.errors import InvalidRecord
from itb.clinic.worklist import ERI_TO_STOP_DAYS, REPLACEMENT_LEAD_MONTHS, add_months

MINUTE = timedelta(minutes=1)


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
    """What the pump said at its last interrogation (itb.clinic.models.Interrogation)."""

    at: datetime
    reservoir_ml: Decimal | None = None
    strength_mcg_per_ml: Decimal | None = None
    daily_dose_mcg: Decimal | None = None
    refill_by: datetime | None = None
    low_alarm_at: datetime | None = None
    empty_at: datetime | None = None
    eri: bool = False
    eri_at: datetime | None = None
    end_of_service_at: datetime | None = None


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


def _ceil_minute(moment: datetime) -> datetime:
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
    return _ceil_minute(p.at + timedelta(seconds=seconds))


def _urgent(last: datetime | None, now: datetime, policy: BookingPolicy,
            what: str) -> tuple[datetime | None, str]:
    if last is not None and last <= now:
        return (_ceil_minute(now) + timedelta(hours=policy.urgent_hours),
                f"the {what} has passed: book within {policy.urgent_hours} hours")
    return last, f"the {what}"


def refill_window(p: Projection, now: datetime, policy: BookingPolicy) -> Window:
    alarm, alarm_name = p.low_alarm_at, "low-reservoir alarm date"
    if alarm is None:
        alarm, alarm_name = p.empty_at, "projected empty date"
    last, last_words = _urgent(alarm, now, policy, alarm_name)
    safe = p.refill_by if p.refill_by is not None else last
    if safe is not None and last is not None:
        safe = min(safe, last)
    earliest = waste_limit_time(p, policy)
    basis = (f"interrogation of {p.at:%Y-%m-%d %H:%M} UTC: refill-by date, never after "
             f"{last_words}, earliest when at most {policy.max_wasted_fraction} of "
             f"{p.reservoir_ml} mL would be discarded")
    return Window(earliest, safe, last, basis)


def _months_before(moment: datetime, months: int) -> datetime:
    day = add_months(moment.date(), -months)
    return datetime.combine(day, moment.timetz())


def replacement_window(p: Projection, now: datetime, policy: BookingPolicy) -> Window:
    stop = p.end_of_service_at
    if p.eri:
        if stop is None:
            stop = (p.eri_at or p.at) + timedelta(days=ERI_TO_STOP_DAYS)
        last, words = _urgent(stop, now, policy, "end of service (ERI is on)")
        return Window(None, last, last, f"interrogation of {p.at:%Y-%m-%d %H:%M} UTC: {words}"
                      f" (devices.md: the pump stops {ERI_TO_STOP_DAYS} days after ERI)")
    safe_dates = [d for d in (None if stop is None else _months_before(
        stop, REPLACEMENT_LEAD_MONTHS), p.eri_at) if d is not None]
    last, words = _urgent(stop, now, policy, "end of service")
    safe = min(safe_dates) if safe_dates else last
    return Window(None, safe, last, (
        f"interrogation of {p.at:%Y-%m-%d %H:%M} UTC: safe until {REPLACEMENT_LEAD_MONTHS} "
        f"months before the end of service and not after ERI (devices.md), never after {words}"))


def window_for(kind: str, p: Projection | None, now: datetime,
               policy: BookingPolicy) -> Window:
    if p is None or kind not in ("refill", "replacement"):
        basis = "no interrogation on record" if p is None else f"no window for a {kind}"
        return Window(None, None, None, basis)
    if kind == "refill":
        return refill_window(p, now, policy)
    return replacement_window(p, now, policy)


def check_start(window: Window, kind: str, starts_at: datetime, now: datetime,
                override_reason: str | None) -> str:
    """Refuse a start outside `window` (422 naming the field), or return what was checked.
    After the safe date, or before the earliest, only with an override reason; never after
    the last date, nor in the past."""
    if starts_at < now:
        raise InvalidRecord("starts_at", starts_at.isoformat(),
                            f"a time after now ({now:%Y-%m-%d %H:%M} UTC)")
    if window.last is not None and starts_at > window.last:
        raise InvalidRecord("starts_at", starts_at.isoformat(), (
            f"a time at or before {window.last:%Y-%m-%d %H:%M} UTC ({window.basis}); no "
            f"override reason allows a {kind} after it: missing a pump refill may lead to "
            "baclofen withdrawal (seed 004)"))
    late = window.safe_until is not None and starts_at > window.safe_until
    early = window.earliest is not None and starts_at < window.earliest
    if (late or early) and not override_reason:
        bound = window.safe_until if late else window.earliest
        assert bound is not None
        side = "after the safe date" if late else "before the earliest date"
        raise InvalidRecord("override_reason", override_reason, (
            f"a reason for booking {side} {bound:%Y-%m-%d %H:%M} UTC ({window.basis}), "
            "or another starts_at inside the window"))
    note = " (after the safe date, with an override reason)" if late else (
        " (early, with an override reason)" if early else "")
    return window.words() + note


def local(moment: datetime, zone: str) -> str:
    """A time as the patient reads it: local, with the zone's abbreviation."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def local_start(value: object, zone_name: str) -> datetime:
    """A visit's start as UTC: ISO-8601 with an offset, or a local time in the patient's IANA
    zone. A local time that does not exist (the spring-forward gap) or happens twice (the
    autumn fall-back) is refused: the offset must then be given."""
    from zoneinfo import ZoneInfo

    allowed = ("an ISO-8601 time, with a UTC offset or as a local time in the patient's zone "
               f"{zone_name}")
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidRecord("starts_at", value, allowed) from None
    if not isinstance(moment, datetime) or not date(1900, 1, 1) <= moment.date() <= date(
            2200, 1, 1):
        raise InvalidRecord("starts_at", value, allowed)
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return moment.astimezone(UTC)
    zone = ZoneInfo(zone_name)
    first, second = moment.replace(tzinfo=zone, fold=0), moment.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        in_gap = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment
        what = "does not exist (the clocks go forward)" if in_gap else \
            "happens twice (the clocks go back)"
        raise InvalidRecord("starts_at", value, (
            f"a local time that exists once in {zone_name}: {moment:%Y-%m-%d %H:%M} {what}; "
            "give the UTC offset, e.g. +01:00"))
    return first.astimezone(UTC)
