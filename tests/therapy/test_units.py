"""Exact unit round-trips and the exact text format used in JSON output."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy.units import (
    NL_PER_ML,
    display,
    dose_mcg,
    exact,
    flow_ml_per_day,
    ml_to_nl,
    nl_to_ml,
    to_decimal_str,
    to_exact_str,
    volume_nl_for_dose,
)


@pytest.mark.req("REQ-UNITS-EXACT")
@settings(max_examples=200, deadline=None)
@given(nl=st.integers(min_value=0, max_value=10**12))
def test_unit_round_trip_nl_ml_nl_is_exact(nl: int) -> None:
    assert ml_to_nl("v", nl_to_ml(nl)) == nl


@pytest.mark.req("REQ-UNITS-EXACT")
@settings(max_examples=200, deadline=None)
@given(nl=st.integers(min_value=0, max_value=10**9),
       conc=st.sampled_from([50, 500, 1000, 2000]))
def test_unit_round_trip_volume_dose_volume_is_exact(nl: int, conc: int) -> None:
    assert volume_nl_for_dose(dose_mcg(nl, Fraction(conc)), Fraction(conc)) == nl


@settings(max_examples=200, deadline=None)
@given(value=st.fractions(min_value=-10**6, max_value=10**6))
def test_exact_text_round_trips(value: Fraction) -> None:
    assert exact("x", to_exact_str(value)) == value


def test_exact_text_formats() -> None:
    assert to_exact_str(Fraction(3, 5)) == "0.6"
    assert to_exact_str(30) == "30"
    assert to_exact_str(Fraction(100, 3)) == "100/3"


def test_flow_of_worked_example() -> None:
    assert flow_ml_per_day(Fraction(300), Fraction(500)) * NL_PER_ML == 600_000


@pytest.mark.req("REQ-UNITS-EXACT")
@pytest.mark.parametrize("text, allowed", [
    ("NaN", "a finite number"), ("-inf", "a finite number"), ("Infinity", "a finite number"),
    ("", "a decimal number"), ("   ", "a decimal number"), ("1/0", "division by zero"),
    ("\u0665\u0660\u0660", "a decimal number"),  # Arabic-Indic digits for 500
    ("\uff15\uff10\uff10", "a decimal number"),  # full-width digits for 500
    ("1_000", "a decimal number"), ("0x10", "a decimal number"), ("1e", "a decimal number"),
    ("1e999", "between 1e-100 and 1e100"), ("1e999999999", "between 1e-100 and 1e100"),
    ("1e-999999999", "between 1e-100 and 1e100"), ("9" * 401, "at most 400 characters"),
])
def test_exact_refuses_odd_text_quickly_with_the_allowed_form(text: str, allowed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        exact("dose", text)
    assert refused.value.field == "dose"
    assert allowed in str(refused.value)


def test_exact_reads_signed_zero_and_tiny_zero_as_plain_zero() -> None:
    assert exact("v", "-0") == 0
    assert exact("v", "0e-999999999") == 0
    assert exact("v", Decimal("-0.000")) == 0


def test_exact_refuses_a_huge_decimal_object() -> None:
    with pytest.raises(InvalidInput, match="between 1e-100 and 1e100"):
        exact("v", Decimal("1e1000000"))


def test_display_rounds_large_and_tiny_values_exactly_half_to_even() -> None:
    # Beyond Decimal's 28-digit context: used to raise InvalidOperation.
    assert display(Fraction(10**40)) == "1" + "0" * 40
    assert display(Fraction(10**40) + Fraction(1, 10**35)) == "1" + "0" * 40
    assert display(Fraction(5, 10**4)) == "0"  # 0.0005 -> 0.000 (half to even)
    assert display(Fraction(15, 10**4)) == "0.002"  # 0.0015 -> 0.002 (half to even)
    assert display(Fraction(-15, 10**4)) == "-0.002"
    assert display(Fraction(-1, 10**4)) == "0"  # never "-0"
    # 0.5 + 1e-40 is above the half: rounds up (a 28-digit division would have said 0).
    assert display(Fraction(1, 2) + Fraction(1, 10**40), 0) == "1"


def test_decimal_text_is_exact_past_28_digits() -> None:
    value = Fraction(1, 2**100)
    assert exact("v", to_decimal_str(value)) == value
    assert to_decimal_str(Fraction(1, 3)) == "0.333333333"
