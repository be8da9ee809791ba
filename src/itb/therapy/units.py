"""Exact units for doses, volumes, concentrations and rates.

Safety rule: no dose or volume is ever a binary float. Volumes are whole
nanolitres (`int`), doses and concentrations are `Fraction`s of micrograms, and
values are rounded only for display, by `display`, which states its rounding.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction
from typing import TypeAlias

from itb.errors import InvalidInput

NL_PER_ML = 1_000_000
SECONDS_PER_DAY = 86_400
SECONDS_PER_HOUR = 3_600

Exact: TypeAlias = Fraction
ExactLike: TypeAlias = int | str | Decimal | Fraction


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
        if not value.is_finite():
            raise InvalidInput(field, value, "a finite number")
        return Fraction(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:
                return Fraction(text)
            number = Decimal(text)
        except (InvalidOperation, ValueError, ZeroDivisionError):
            raise InvalidInput(field, value, "a decimal number such as 0.6 or 500") from None
        if not number.is_finite():
            raise InvalidInput(field, value, "a finite number")
        return Fraction(number)
    raise InvalidInput(field, value, "a number")


def in_range(field: str, value: ExactLike, low: ExactLike | None, high: ExactLike | None,
             unit: str = "", *, low_inclusive: bool = True) -> Fraction:
    """Exact value of `value`, checked to lie in [low, high] (or (low, high])."""
    number = exact(field, value)
    lo = None if low is None else exact(field + " lower bound", low)
    hi = None if high is None else exact(field + " upper bound", high)
    suffix = f" {unit}" if unit else ""
    allowed = (
        f"{'more than ' if not low_inclusive else ''}{display(lo) if lo is not None else '-inf'}"
        f" to {display(hi) if hi is not None else 'no upper limit'}{suffix}"
    )
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
    number = Fraction(value)
    quantum = Decimal(1).scaleb(-places)
    text = Decimal(number.numerator) / Decimal(number.denominator) if number.denominator != 1 \
        else Decimal(number.numerator)
    rounded = text.quantize(quantum, rounding=ROUND_HALF_EVEN) if places >= 0 else text
    out = format(rounded, "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def to_decimal_str(value: Fraction | int, places: int = 9) -> str:
    """Exact decimal text where the value terminates, else rounded to `places` (stated)."""
    number = Fraction(value)
    den = number.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den == 1:
        d = Decimal(number.numerator) / Decimal(number.denominator)
        out = format(d.normalize(), "f") if d != 0 else "0"
        return out
    return display(number, places)


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
