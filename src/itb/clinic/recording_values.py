"""Reading a programmer journal entry's values at the clinic's boundary.

The programmer writes quantities as exact text ("12.5", or "100/3" where a decimal does not
terminate: itb.therapy.units.to_exact_str) and instants as ISO-8601 with an offset. Each
value is checked here; a bad one is refused (422) naming its place in the entry, e.g.
`details.refill.withdrawn_ml`. A quantity with more than 6 decimal places (the clinic's
columns hold millionths: itb.clinic.columns) is rounded half-to-even to 6 places for the
column; the exact text stays in the recording (`recordings.entry`) and the record's details.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from itb.clinic.errors import InvalidRecord

PLACES = Decimal("0.000001")
# No recorded dose or volume comes near this; the column holds up to ~9.2e12 (itb's bound).
LARGEST = Decimal(10) ** 9
NOT_RECORDED = "not recorded"  # the programmer's word for an optional field left out
_SESSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# what itb.therapy.units.to_exact_str writes: a decimal, or a fraction that does not terminate
_QUANTITY = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,30})?|-?[0-9]{1,30}/[0-9]{1,30}")
_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")


def quantity(field: str, value: Any) -> Decimal | None:
    """An exact quantity ("12.5", "100/3", 3) as a Decimal of at most 6 places, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) \
            or _QUANTITY.fullmatch(str(value)) is None:
        raise InvalidRecord(field, value, "an exact quantity as text, such as 12.5 or 100/3")
    try:
        exact = Fraction(value)  # never a binary float
    except ZeroDivisionError:
        raise InvalidRecord(field, value, "a fraction with a denominator above 0") from None
    if abs(exact) >= LARGEST:
        raise InvalidRecord(field, value, f"a quantity below {LARGEST}")
    number = Decimal(exact.numerator) / Decimal(exact.denominator)
    if (exact * 1_000_000).denominator != 1:
        return number.quantize(PLACES, rounding=ROUND_HALF_EVEN)
    return number


def instant(field: str, value: Any, *, required: bool = False) -> datetime | None:
    """An ISO-8601 instant with a UTC offset, as an aware UTC datetime."""
    if value is None and not required:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 1900 <= moment.year <= 2200:
        raise InvalidRecord(field, value, "an ISO-8601 time with a UTC offset, such as "
                            "2026-03-01T08:00:00+00:00")
    return moment.astimezone(UTC)


def day(field: str, value: Any) -> date | None:
    """A date (YYYY-MM-DD), or None for nothing or "not recorded"."""
    if value is None or value == NOT_RECORDED:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRecord(field, value, "a date such as 2027-06-30, or "
                            f"'{NOT_RECORDED}'") from None


def text(field: str, value: Any, longest: int) -> str | None:
    """Optional text for a column of `longest` characters; "not recorded" is None. Longer
    text is cut for the column (with '…'); the whole text stays in the record's details."""
    if value is None or value == NOT_RECORDED:
        return None
    if not isinstance(value, str) or not value.isprintable():
        raise InvalidRecord(field, value, "printable text")
    return value if len(value) <= longest else value[:longest - 1] + "…"


def required_text(field: str, value: Any, longest: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= longest \
            or not value.isprintable():
        raise InvalidRecord(field, value, f"1 to {longest} printable characters")
    return value.strip()


def session_id(value: Any) -> str:
    if not isinstance(value, str) or _SESSION.fullmatch(value) is None:
        raise InvalidRecord("session", value, "the programmer's session id: 1 to 64 letters, "
                            "digits, '.', ':', '-' or '_'")
    return value


def entry_kind(value: Any) -> str:
    if not isinstance(value, str) or _KIND.fullmatch(value) is None:
        raise InvalidRecord("kind", value, "a journal entry kind such as interrogation, "
                            "refill, program or bolus")
    return value


def sequence(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= 2**31 - 1:
        raise InvalidRecord("seq", value, "a whole number from 1 to 2147483647 (the entry's "
                            "place in its session)")
    return value


# The programmer's outcomes of an act carried out, as the clinic files them: a program sent
# with an override reason ("overridden": the reason is its own column) and a refill that
# the pump's log showed carried out after a lost link ("refilled") are done, so the
# worklists and the FHIR export (which go by "done") count them.
DONE_WORDS = {"overridden": "done", "refilled": "done"}


def outcome(value: Any) -> str:
    """The column's short outcome ("done", "not done", "refused", ...): the programmer's full
    words stay in the summary and the recording ("done (answer lost; confirmed ...)")."""
    words = required_text("outcome", value, 200)
    short = words.split(" (")[0].split(":")[0].strip()[:16] or words[:16]
    return DONE_WORDS.get(short, short)


def mapping(field: str, value: Any) -> dict[str, Any]:
    """A JSON object of the entry, or {} for nothing."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidRecord(field, value, "a JSON object")
    return value


# The details the programmer writes nest a few levels and hold a few kB (a refill with the
# pump as read after it: ~6 kB); these bounds are far above that (itb's, *unconfirmed*).
DEEPEST = 12
MOST_VALUES = 20_000


def plain_json(field: str, value: Any) -> None:
    """Refuse what a database's JSON column cannot hold the same on both back ends: a lone
    surrogate or NUL in text, a number that is not finite, nesting or size beyond bounds."""
    todo: list[tuple[str, Any, int]] = [(field, value, 0)]
    seen = 0
    while todo:
        where, item, depth = todo.pop()
        seen += 1
        if depth > DEEPEST or seen > MOST_VALUES:
            raise InvalidRecord(field, "(too large)", f"at most {DEEPEST} levels and "
                                f"{MOST_VALUES} values")
        if isinstance(item, str):
            if "\x00" in item or any(0xD800 <= ord(c) <= 0xDFFF for c in item):
                # echoed escaped: the refusal itself must be valid UTF-8 JSON
                raise InvalidRecord(where, ascii(item[:40]), "text without NUL or lone "
                                    "surrogates")
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidRecord(where, item, "a finite number")
        elif isinstance(item, dict):
            for key, inner in item.items():
                todo.append((f"{where}.{key}", key, depth + 1))
                todo.append((f"{where}.{key}", inner, depth + 1))
        elif isinstance(item, list):
            todo.extend((f"{where}[{i}]", inner, depth + 1) for i, inner in enumerate(item))


@dataclass(frozen=True)
class EntryIn:
    """A journal entry as checked at the boundary."""

    session: str
    seq: int
    at: datetime
    kind: str
    serial: str
    pump_time: datetime | None
    outcome: str
    summary: str
    details: dict[str, Any]
    body: dict[str, Any]  # as received, kept in `recordings.entry`


def checked_entry(body: dict[str, Any]) -> EntryIn:
    """The boundary check of a posted entry (422 naming the field)."""
    return EntryIn(
        session=session_id(body.get("session")), seq=sequence(body.get("seq")),
        at=instant("at", body.get("at"), required=True),  # type: ignore[arg-type]
        kind=entry_kind(body.get("kind")),
        serial=required_text("serial", body.get("serial"), 64),
        pump_time=instant("pump_time", body.get("pump_time")),
        outcome=required_text("outcome", body.get("outcome"), 200),
        summary=required_text("summary", body.get("summary"), 4000),
        details=_checked_details(body.get("details")), body=dict(body))


def _checked_details(value: Any) -> dict[str, Any]:
    details = mapping("details", value)
    plain_json("details", details)
    return details
