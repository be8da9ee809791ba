"""Exact values a scenario file may hold, and the base of every table's model.

Numbers that are doses or volumes are exact: TOML floats are read as decimals (never
through binary floats) and become `Fraction`s; physiological patient parameters may be
plain floats (they are model parameters, not doses). This module knows nothing of the
pump, the patient or the clinic.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from itb.errors import InvalidInput
from itb.therapy.units import NL_PER_ML, exact


def exact_value(value: Any) -> Fraction:
    if isinstance(value, (bool, float)):
        raise ValueError("must be an exact number (an integer or decimal, e.g. 500 or \"0.6\")")
    try:
        return exact("value", value)
    except InvalidInput:
        raise ValueError("must be a number such as 500, 0.6 or \"0.6\"") from None


Exact = Annotated[Fraction, BeforeValidator(exact_value)]


def _utc_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be a date-time such as 2026-01-05T08:00:00Z") from None
    if not isinstance(value, datetime):
        raise ValueError("must be a date-time with a UTC offset, such as 2026-01-05T08:00:00Z")
    if value.tzinfo is None:
        raise ValueError("must state its UTC offset (Z or +01:00): a local time is ambiguous")
    if value.microsecond:
        raise ValueError("must be in whole seconds")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, BeforeValidator(_utc_time)]


def _float(value: Any) -> float:
    """Physiological model parameters are floats; decimals from TOML are converted here."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    return float(value)


ModelFloat = Annotated[float, BeforeValidator(_float)]

HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
UTC_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")


def ml_to_nl(volume_ml: Fraction) -> int:
    nl = volume_ml * NL_PER_ML
    if nl.denominator != 1:
        raise ValueError("must be a volume in whole nanolitres (at most 6 decimals of mL)")
    return int(nl)


def _volume(value: Fraction) -> Fraction:
    if value < 0:
        raise ValueError("must be a volume of 0 mL or more")
    ml_to_nl(value)
    return value


# A volume in mL that the pump can take exactly: whole nanolitres, never negative.
VolumeMl = Annotated[Fraction, BeforeValidator(exact_value), AfterValidator(_volume)]


def within(low: int, high: int, unit: str, *, above_low: bool = False,
           note: str = "") -> AfterValidator:
    """A bound on an exact value, refused in the scenario file's words: "must be 0 to 60
    days", or with `above_low` (the low end itself refused) "must be more than 0 and at most
    2000 mcg". Use as `Annotated[Exact, within(...)]`."""
    wording = (f"must be more than {low} and at most {high} {unit}" if above_low
               else f"must be {low} to {high} {unit}") + note

    def check(value: Fraction) -> Fraction:
        if not (low < value if above_low else low <= value) or value > high:
            raise ValueError(wording)
        return value

    return AfterValidator(check)


class SchemaModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

