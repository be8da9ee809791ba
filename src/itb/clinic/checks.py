"""Boundary checks shared by the clinic's services: each refuses with `InvalidRecord`
(422 in the API, `Error:`/`Next:` in the CLI) naming the field, the value and the range.

The services check every field themselves, whatever shell calls them (the API's models
bound the same fields again, for the OpenAPI schema).
"""

from __future__ import annotations

import contextlib
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from itb.clinic.errors import InvalidRecord

# Dates a clinic record can carry: no patient record before 1900, nothing planned beyond
# 2200 (itb's bounds, *unconfirmed*); they also keep every time inside what both back ends
# and Python's datetime arithmetic can hold.
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 1, 1)
PLACES = 6  # ExactDecimal stores millionths (columns.py)


def text(field: str, value: Any, *, most: int, least: int = 0, lines: bool = False) -> str:
    """Text of `least` to `most` characters without control characters (newlines and tabs
    only where `lines`) and without lone surrogates: both back ends store it as given."""
    if not isinstance(value, str):
        raise InvalidRecord(field, value, f"text of {least} to {most} characters")
    allowed_controls = "\n\r\t" if lines else ""
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs")
                and c not in allowed_controls), None)
    if bad is not None or not least <= len(value.strip()) <= most or len(value) > most:
        kind = "" if lines else " on one line"
        raise InvalidRecord(field, value, f"{least} to {most} printable characters{kind}")
    return value.strip()


def optional_text(field: str, value: Any, *, most: int) -> str | None:
    if value is None:
        return None
    return text(field, value, most=most) or None


def choice(field: str, value: Any, options: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise InvalidRecord(field, value, "one of: " + ", ".join(options))
    return value


def decimal(field: str, value: Any, low: Decimal, high: Decimal, *,
            low_open: bool = False, unit: str = "") -> Decimal:
    """An exact decimal within [low, high] (or (low, high]) with at most 6 places."""
    try:
        number = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    suffix = f" {unit}" if unit else ""
    allowed = f"{'more than ' if low_open else ''}{low} to {high}{suffix}, at most {PLACES} places"
    if not number.is_finite() or number < low or number > high or (low_open and number == low):
        raise InvalidRecord(field, value, allowed)
    scaled = number.scaleb(PLACES)  # bounded above, so this is exact
    if scaled != scaled.to_integral_value():
        raise InvalidRecord(field, value, allowed)
    return number


def optional_decimal(field: str, value: Any, low: Decimal, high: Decimal, *,
                     low_open: bool = False, unit: str = "") -> Decimal | None:
    return None if value is None else decimal(field, value, low, high, low_open=low_open,
                                              unit=unit)


def whole(field: str, value: Any, low: int, high: int, *, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRecord(field, value, f"a whole number {low} to {high}"
                            + (f" {unit}" if unit else ""))
    return value


def optional_whole(field: str, value: Any, low: int, high: int, *, unit: str = "") -> int | None:
    return None if value is None else whole(field, value, low, high, unit=unit)


def day(field: str, value: Any, *, latest: date = LATEST, earliest: date = EARLIEST) -> date:
    """A calendar date from `earliest` to `latest` (a date, or ISO text)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if isinstance(value, datetime) or not isinstance(value, date) \
            or not earliest <= value <= latest:
        raise InvalidRecord(field, value, f"a date from {earliest} to {latest}")
    return value


def optional_day(field: str, value: Any, *, latest: date = LATEST,
                 earliest: date = EARLIEST) -> date | None:
    return None if value is None else day(field, value, latest=latest, earliest=earliest)


def moment(field: str, value: Any, *, latest: datetime | None = None) -> datetime:
    """An aware time (a datetime or ISO-8601 text with an offset), as UTC, within the
    clinic's dates (and not after `latest` when given)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    top = latest or datetime.combine(LATEST, datetime.min.time(), UTC)
    bottom = datetime.combine(EARLIEST, datetime.min.time(), UTC)
    allowed = (f"an ISO-8601 time with its UTC offset, from {bottom:%Y-%m-%d} to "
               f"{top:%Y-%m-%d %H:%M} UTC")
    if not isinstance(value, datetime) or value.tzinfo is None \
            or value.utcoffset() is None or not EARLIEST <= value.date() <= LATEST:
        raise InvalidRecord(field, value, allowed)
    utc = value.astimezone(UTC)
    if not bottom <= utc <= top:
        raise InvalidRecord(field, value, allowed)
    return utc
