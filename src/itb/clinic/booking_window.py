"""When a visit may be booked, from the pump's projection at its last interrogation (pure: no
session, no clock; docs/clinic-appointments.md).

A refill's window (refill-by date, never after the low-reservoir alarm date, not so early
that the drug is wasted) is the shared rule of `itb.therapy.appointments`, which the fleet
studies use too; this module adds the replacement's window and the clinic's refusals.

A replacement (devices.md, battery row: "replacement is best scheduled about 6 months before
the shut-off"; the pump stops 90 days after ERI): safe until the earlier of 6 months before
the projected end of service and the projected ERI date; later needs an override reason;
never after the end of service (the pump stops: withdrawal). If ERI is already on, the end of
service (or ERI + 90 days) is the last day.

Other kinds (titration, catheter check, follow-up) have no window beyond "in the future".
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from itb.clinic.errors import InvalidRecord
from itb.clinic.worklist import ERI_TO_STOP_DAYS, REPLACEMENT_LEAD_MONTHS, add_months
from itb.therapy.appointments import (  # the shared rules, named here for the clinic's callers
    BookingPolicy,
    Projection,
    Window,
    refill_window,
    urgent,
    waste_limit_time,
)

__all__ = ["BookingPolicy", "Projection", "Window", "check_start", "local", "local_start",
           "refill_window", "replacement_window", "waste_limit_time", "window_for"]


def _months_before(moment: datetime, months: int) -> datetime:
    day = add_months(moment.date(), -months)
    return datetime.combine(day, moment.timetz())


def replacement_window(p: Projection, now: datetime, policy: BookingPolicy) -> Window:
    stop = p.end_of_service_at
    if p.eri:
        if stop is None:
            stop = (p.eri_at or p.at) + timedelta(days=ERI_TO_STOP_DAYS)
        last, words = urgent(stop, now, policy, "end of service (ERI is on)")
        return Window(None, last, last, f"interrogation of {p.at:%Y-%m-%d %H:%M} UTC: {words}"
                      f" (devices.md: the pump stops {ERI_TO_STOP_DAYS} days after ERI)")
    safe_dates = [d for d in (None if stop is None else _months_before(
        stop, REPLACEMENT_LEAD_MONTHS), p.eri_at) if d is not None]
    last, words = urgent(stop, now, policy, "end of service")
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
