"""Poor response to rising doses: the definition (issue 16.15)."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from itb.therapy.response import dose_rise, poor_response

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def day(n: int) -> datetime:
    return NOW - timedelta(days=n)


def test_the_dose_in_force_30_days_ago_is_the_baseline() -> None:
    history = [(day(60), Fraction(200)), (day(40), Fraction(300)), (day(10), Fraction(330))]
    rise = dose_rise(history, NOW)
    assert rise is not None and rise.dose_at_start_mcg_per_day == 300
    assert rise.increases == 1 and rise.rise_percent == 10 and not rise.steep


@pytest.mark.parametrize(("history", "steep"), [
    ([(day(40), Fraction(300)), (day(10), Fraction(330)), (day(5), Fraction(360))], True),
    ([(day(40), Fraction(300)), (day(10), Fraction(450))], True),  # +50% in one step
    ([(day(40), Fraction(300)), (day(10), Fraction(420))], False),  # +40%, once
    ([(day(40), Fraction(300)), (day(10), Fraction(360)), (day(5), Fraction(300))], False),
])
def test_steep_means_two_increases_or_a_50_percent_rise(history: list, steep: bool) -> None:
    rise = dose_rise(history, NOW)
    assert rise is not None and rise.steep is steep


@pytest.mark.req("REQ-PRG-POOR-RESPONSE")
def test_poor_response_needs_no_improvement_and_a_steep_rise() -> None:
    history = [(day(40), Fraction(300)), (day(10), Fraction(330)), (day(5), Fraction(360))]
    assert poor_response(history, NOW, "unchanged") is not None
    assert poor_response(history, NOW, "worse") is not None
    assert poor_response(history, NOW, "improved") is None
    assert poor_response([], NOW, "worse") is None
