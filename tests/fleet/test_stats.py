"""The statistics: exact Poisson intervals, rate comparisons, Kaplan-Meier."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from itb.fleet import stats


def test_exact_poisson_interval_matches_the_published_table() -> None:
    # Garwood limits: k = 0 -> (0, 3.689); k = 10 -> (4.795, 18.39) (standard tables).
    assert stats.poisson_ci(0, 1.0) == pytest.approx((0.0, 3.6889), abs=1e-4)
    assert stats.poisson_ci(10, 1.0) == pytest.approx((4.7954, 18.3904), abs=1e-4)
    row = stats.incidence(10, 2000.0)
    assert row["per_1000_patient_years"] == 5.0
    assert row["ci95"] == pytest.approx([2.3977, 9.1952], abs=1e-4)


@given(st.integers(0, 500), st.floats(1, 1e6))
def test_the_poisson_interval_always_holds_the_observed_rate(k: int, years: float) -> None:
    low, high = stats.poisson_ci(k, years)
    assert low <= k / years <= high


def test_rate_comparison_of_equal_rates_spans_no_difference_and_ratio_one() -> None:
    diff = stats.rate_difference(20, 1000.0, 20, 1000.0)
    ratio = stats.rate_ratio(20, 1000.0, 20, 1000.0)
    assert diff["per_1000_patient_years"] == 0
    assert diff["ci95"][0] < 0 < diff["ci95"][1]
    assert ratio["ratio"] == 1 and ratio["ci95"][0] < 1 < ratio["ci95"][1]


def test_a_clear_difference_has_an_interval_away_from_no_effect() -> None:
    ratio = stats.rate_ratio(10, 1000.0, 60, 1000.0)
    assert ratio["ratio"] == 6 and ratio["ci95"][0] > 2
    diff = stats.rate_difference(10, 1000.0, 60, 1000.0)
    assert diff["ci95"][0] > 0


@given(st.integers(0, 200), st.integers(0, 200))
def test_the_rate_ratio_interval_holds_the_ratio(k1: int, k2: int) -> None:
    result = stats.rate_ratio(k1, 500.0, k2, 700.0)
    if k1 and k2:
        assert result["ci95"][0] <= result["ratio"] <= result["ci95"][1]


def test_kaplan_meier_with_no_censoring_is_the_empirical_survival() -> None:
    durations = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    events = np.array([True] * 2 + [False] * 8)
    km = stats.kaplan_meier(durations, events, [2.5, 20.0])
    assert km["at"]["2.5"]["survival"] == pytest.approx(0.8)
    assert km["at"]["20"] is None  # beyond follow-up
    assert km["units"] == 10 and km["events"] == 2


def test_quantiles_are_median_and_90th_percentile() -> None:
    q = stats.quantiles(np.arange(1, 11, dtype=float))
    assert q == {"n": 10, "median_hours": 5.5, "p90_hours": 9.1}
