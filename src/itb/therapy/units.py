"""Exact units for doses, volumes, concentrations and rates.

Safety rule: no dose or volume is ever a binary float. Volumes are whole
nanolitres (`int`), doses and concentrations are `Fraction`s of micrograms, and
values are rounded only for display, by `display`, which states its rounding.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeAlias

from itb.errors import InvalidInput

NL_PER_ML = 1_000_000
SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600

Exact: TypeAlias = Fraction
ExactLike: TypeAlias = int | str | Decimal | Fraction

# Number text a person may type: ASCII digits only (no Unicode digits, no "1_000"),
# a decimal with an optional exponent, or a fraction "p/q". Anything else is refused.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_FRACTION_TEXT = re.compile(r"[+-]?\d+/\d+", re.ASCII)
# Bounds on what text may ask for: Fraction(Decimal("1e999999999")) would build a
# billion-digit integer (a hang), and nothing in itb is near 1e100 or 1e-100.
MAX_NUMBER_TEXT_CHARS = 400
MAX_DECIMAL_EXPONENT = 100
_NUMBER_ALLOWED = "a decimal number such as 0.6 or 500"
_MAGNITUDE_ALLOWED = (f"a number between 1e-{MAX_DECIMAL_EXPONENT} and "
                      f"1e{MAX_DECIMAL_EXPONENT} in size (or 0)")


def _exact_decimal(field: str, value: object, number: Decimal) -> Fraction:
    if not number.is_finite():
        raise InvalidInput(field, value, "a finite number")
    if number.is_zero():
        return Fraction(0)  # "-0" and "0e-999" are plain zero
    if number.adjusted() >= MAX_DECIMAL_EXPONENT or number.adjusted() < -MAX_DECIMAL_EXPONENT:
        raise InvalidInput(field, value, _MAGNITUDE_ALLOWED)
    return Fraction(number)


def exact(field: str, value: ExactLike) -> Fraction:
    """Turn a user-given number into an exact Fraction, refusing floats and junk.

    Strings are read as decimals ("0.6", "1e3"), never through float.
    """
    if isinstance(value, (bool, float)):
        raise InvalidInput(field, value, "an exact number (int, Decimal, Fraction or decimal text)",
                           "binary floats are not exact")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        return _exact_decimal(field, value, value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT_CHARS:
            raise InvalidInput(field, text,  # InvalidInput shortens it when echoed
                               f"{_NUMBER_ALLOWED}, at most {MAX_NUMBER_TEXT_CHARS} characters")
        if text.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
            raise InvalidInput(field, value, "a finite number")
        if _FRACTION_TEXT.fullmatch(text):
            numerator, denominator = text.split("/")
            if int(denominator) == 0:
                raise InvalidInput(field, value, _NUMBER_ALLOWED, "division by zero")
            return Fraction(int(numerator), int(denominator))
        if not _DECIMAL_TEXT.fullmatch(text):
            raise InvalidInput(field, value if text else '""', _NUMBER_ALLOWED)
        try:
            number = Decimal(text)
        except InvalidOperation:  # the grammar above should make this unreachable
            raise InvalidInput(field, value, _NUMBER_ALLOWED) from None
        return _exact_decimal(field, value, number)
    raise InvalidInput(field, value, "a number")


def range_words(low: Fraction | None, high: Fraction | None, suffix: str = "", *,
                low_inclusive: bool = True) -> str:
    """An allowed range as a clinician would say it: "0 to 20 mL", "more than 0 mcg",
    "0 mcg or more", "at most 20 mL" (never "to no upper limit" or "-inf to")."""
    if low is None:
        return f"at most {display(high)}{suffix}" if high is not None else "any number"
    bottom = display(low) if low_inclusive else f"more than {display(low)}"
    if high is None:
        return f"{bottom}{suffix} or more" if low_inclusive else f"{bottom}{suffix}"
    return f"{bottom} to {display(high)}{suffix}"


def in_range(field: str, value: ExactLike, low: ExactLike | None, high: ExactLike | None,
             unit: str = "", *, low_inclusive: bool = True) -> Fraction:
    """Exact value of `value`, checked to lie in [low, high] (or (low, high])."""
    number = exact(field, value)
    lo = None if low is None else exact(field + " lower bound", low)
    hi = None if high is None else exact(field + " upper bound", high)
    suffix = f" {unit}" if unit else ""
    allowed = range_words(lo, hi, suffix, low_inclusive=low_inclusive)
    if lo is not None and (number < lo or (not low_inclusive and number == lo)):
        raise InvalidInput(field, display(number) + suffix, allowed)
    if hi is not None and number > hi:
        raise InvalidInput(field, display(number) + suffix, allowed)
    return number


def ml_to_nl(field: str, volume_ml: ExactLike) -> int:
    """Whole nanolitres in `volume_ml`; refuses volumes finer than 1 nL."""
    nl = exact(field, volume_ml) * NL_PER_ML
    if nl.denominator != 1:
        raise InvalidInput(field, volume_ml,
                           "a volume in whole nanolitres (at most 6 decimals of mL)")
    return int(nl)


def require_utc(field: str, moment: object) -> datetime:
    """`moment` if it is a timezone-aware datetime at UTC offset 0, else InvalidInput."""
    if not isinstance(moment, datetime) or moment.tzinfo is None \
            or moment.utcoffset() != timedelta(0):
        raise InvalidInput(field, moment, "a timezone-aware UTC datetime")
    return moment


def hours_after(field: str, moment: datetime, hours: int) -> datetime:
    """`moment` + `hours`, or InvalidInput (naming `field`) if that passes year 9999."""
    try:
        return moment + timedelta(hours=hours)
    except OverflowError:
        raise InvalidInput(field, moment.isoformat(),
                           f"an instant at least {hours} h before the end of year 9999") from None


def nl_to_ml(volume_nl: int | Fraction) -> Fraction:
    return Fraction(volume_nl) / NL_PER_ML


def dose_mcg(volume_nl: int | Fraction, concentration_mcg_per_ml: Fraction) -> Fraction:
    """Micrograms of drug in `volume_nl` nanolitres at a concentration."""
    return Fraction(volume_nl) * concentration_mcg_per_ml / NL_PER_ML


def volume_nl_for_dose(dose: Fraction, concentration_mcg_per_ml: Fraction) -> Fraction:
    """Exact nanolitres (possibly fractional) that carry `dose` micrograms."""
    if concentration_mcg_per_ml <= 0:
        raise InvalidInput("concentration_mcg_per_ml", concentration_mcg_per_ml,
                           "more than 0 mcg/mL")
    return Fraction(dose) * NL_PER_ML / concentration_mcg_per_ml


def flow_ml_per_day(daily_dose_mcg: Fraction, concentration_mcg_per_ml: Fraction) -> Fraction:
    """mL/day that delivers `daily_dose_mcg` at a concentration (exact)."""
    return volume_nl_for_dose(daily_dose_mcg, concentration_mcg_per_ml) / NL_PER_ML


def display(value: Fraction | int | Decimal, places: int = 3) -> str:
    """Text for a person: rounded half-to-even to `places` decimals, trailing zeros cut.

    This is the only rounding in itb's arithmetic, and it is for display only.
    """
    if places < 0:
        raise InvalidInput("places", places, "0 or more decimal places")
    # Round the exact value (Fraction.__round__ is exact half-to-even), then write the
    # integer out: no Decimal context, so no 28-digit double rounding or overflow.
    scaled = round(Fraction(value) * 10 ** places)
    digits = str(abs(scaled)).rjust(places + 1, "0")
    out = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}"
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return "0" if scaled == 0 else ("-" if scaled < 0 else "") + out


def to_decimal_str(value: Fraction | int, places: int = 9) -> str:
    """Exact decimal text where the value terminates, else rounded to `places` (stated)."""
    text = to_exact_str(value)
    # A Decimal division here would round to the context's 28 digits: use the exact text.
    return display(Fraction(value), places) if "/" in text else text


def to_exact_str(value: Fraction | int) -> str:
    """Exact text: a decimal where it terminates ("0.6", "30"), else a fraction ("100/3").

    Used for machine-readable output (JSON), where no rounding is allowed.
    """
    number = Fraction(value)
    den, twos, fives = number.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        return f"{number.numerator}/{number.denominator}"
    # Scale to a whole number of 10^-places exactly (no Decimal context rounding).
    places = max(twos, fives)
    scaled = abs(number.numerator) * (10 ** places // number.denominator)
    digits = str(scaled).rjust(places + 1, "0")
    text = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}".rstrip("0")
    text = text.rstrip(".")
    return ("-" if number < 0 else "") + text
