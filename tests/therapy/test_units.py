"""Exact unit round-trips and the exact text format used in JSON output."""

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from itb.therapy.units import (
    NL_PER_ML,
    dose_mcg,
    exact,
    flow_ml_per_day,
    ml_to_nl,
    nl_to_ml,
    to_exact_str,
    volume_nl_for_dose,
)


@settings(max_examples=200, deadline=None)
@given(nl=st.integers(min_value=0, max_value=10**12))
def test_unit_round_trip_nl_ml_nl_is_exact(nl: int) -> None:
    assert ml_to_nl("v", nl_to_ml(nl)) == nl


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
