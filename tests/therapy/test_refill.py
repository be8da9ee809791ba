"""Refill planning and the refill check, with domain.md's worked example."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy.errors import Overfill, RefillDiscrepancy
from itb.therapy.flex import MAX_DELIVERY_DAYS, make_schedule, volume_delivered_nl
from itb.therapy.refill import check_refill, plan_refill

NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def test_domain_worked_example_20ml_500_300() -> None:
    # domain.md "Worked example": 0.6 mL/day, alarm after 30 days with 2 mL, empty at 33.33 days.
    plan = plan_refill(reservoir_ml=20, concentration_mcg_per_ml=500, program=300, alarm_ml=2,
                       now=NOW)
    assert plan.flow_ml_per_day == Fraction(3, 5)
    assert plan.days_to_alarm == 30
    assert plan.days_to_empty == Fraction(100, 3)
    assert plan.alarm_at == NOW + timedelta(days=30)
    assert plan.empty_at == NOW + timedelta(days=33, hours=8)
    assert plan.refill_by == NOW + timedelta(days=23)  # default 7-day margin
    assert not plan.refill_overdue


def test_refill_by_never_past_stability_limit() -> None:
    # 40 mL at 2000 mcg/mL and 100 mcg/day lasts 800 days: the stability limit decides.
    plan = plan_refill(reservoir_ml=40, concentration_mcg_per_ml=2000, program=100, alarm_ml=2,
                       now=NOW, stability_limit_days=180)
    assert plan.refill_by == NOW + timedelta(days=180)
    assert "stability" in plan.refill_by_reason


def test_stability_limit_counts_from_fill_time() -> None:
    filled = NOW - timedelta(days=100)
    plan = plan_refill(reservoir_ml=40, concentration_mcg_per_ml=2000, program=100, alarm_ml=2,
                       now=NOW, filled_at=filled, stability_limit_days=180)
    assert plan.refill_by == filled + timedelta(days=180)


def test_margin_larger_than_time_to_alarm_is_reported_overdue_not_clamped() -> None:
    plan = plan_refill(reservoir_ml=3, concentration_mcg_per_ml=500, program=300, alarm_ml=2,
                       now=NOW, safety_margin_days=7)
    assert plan.refill_by < NOW
    assert plan.refill_overdue


def test_flex_alarm_time_follows_step_rates_not_the_average() -> None:
    # High rate 07:00-22:00, low at night; starting at 22:00 the first hours run slowly.
    flex = make_schedule([("07:00", 600), ("22:00", 120)], "UTC")
    start = datetime(2026, 1, 1, 22, 0, tzinfo=UTC)
    plan = plan_refill(reservoir_ml="0.05", concentration_mcg_per_ml=500, program=flex,
                       alarm_ml=0, now=start, stability_limit_days=None, safety_margin_days=0)
    # 0.05 mL = 25 mcg at 120 mcg/day takes 5 h, all within the night step.
    assert plan.seconds_to_empty == 5 * 3600
    average_s = Fraction(25) / flex.total_daily_dose_mcg() * 86400
    assert plan.seconds_to_empty != average_s


def test_flex_plan_delivers_exactly_the_usable_volume_by_the_alarm_across_dst() -> None:
    flex = make_schedule([("01:30", 200), ("02:30", 900), ("08:00", 400), ("21:00", 150)],
                         "America/New_York")
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # DST starts 2026-03-08 in New York
    plan = plan_refill(reservoir_ml=20, concentration_mcg_per_ml=1000, program=flex, alarm_ml=2,
                       now=start)
    delivered = volume_delivered_nl(flex, Fraction(1000), start,
                                    start + timedelta(microseconds=int(
                                        plan.seconds_to_alarm * 1_000_000)))
    assert abs(delivered - 18_000_000) < 1  # exact up to the microsecond floor of the instant


@settings(max_examples=60, deadline=None)
@given(dose=st.integers(min_value=12, max_value=2000), factor=st.integers(min_value=2, max_value=5),
       conc=st.sampled_from([500, 1000, 2000]), reservoir=st.sampled_from([10, 20, 40]))
def test_refill_days_scale_inversely_with_dose(dose: int, factor: int, conc: int,
                                               reservoir: int) -> None:
    one = plan_refill(reservoir_ml=reservoir, concentration_mcg_per_ml=conc, program=dose,
                      alarm_ml=2, now=NOW)
    many = plan_refill(reservoir_ml=reservoir, concentration_mcg_per_ml=conc,
                       program=dose * factor, alarm_ml=2, now=NOW)
    assert one.days_to_alarm == many.days_to_alarm * factor
    assert one.days_to_empty == many.days_to_empty * factor


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"reservoir_ml": 0}, "reservoir_ml"),
    ({"reservoir_ml": "-1"}, "reservoir_ml"),
    ({"reservoir_ml": "1.0000001"}, "reservoir_ml"),
    ({"concentration_mcg_per_ml": 0}, "concentration_mcg_per_ml"),
    ({"program": 0}, "daily_dose_mcg"),
    ({"program": "abc"}, "daily_dose_mcg"),
    ({"alarm_ml": 20}, "alarm_ml"),
    ({"alarm_ml": "-1"}, "alarm_ml"),
    ({"safety_margin_days": "-1"}, "safety_margin_days"),
    ({"stability_limit_days": 0}, "stability_limit_days"),
    ({"now": datetime(2026, 1, 1)}, "now"),
    ({"filled_at": NOW + timedelta(days=1)}, "filled_at"),
    # values that would leave the calendar
    ({"safety_margin_days": "1e99"}, "safety_margin_days"),
    ({"stability_limit_days": "36526"}, "stability_limit_days"),
    ({"now": datetime(9999, 12, 1, tzinfo=UTC)}, "now"),
])
def test_plan_refill_refuses_invalid_input(kwargs: dict, field: str) -> None:
    args = {"reservoir_ml": 20, "concentration_mcg_per_ml": 500, "program": 300, "alarm_ml": 2,
            "now": NOW} | kwargs
    with pytest.raises(InvalidInput) as err:
        plan_refill(**args)
    assert err.value.field == field


def test_plan_refill_refuses_float_volume() -> None:
    with pytest.raises(InvalidInput):
        plan_refill(reservoir_ml=20.0, concentration_mcg_per_ml=500, program=300,  # type: ignore[arg-type]
                    alarm_ml=2, now=NOW)


def test_plan_refill_refuses_reservoir_beyond_capacity() -> None:
    with pytest.raises(Overfill):
        plan_refill(reservoir_ml=25, concentration_mcg_per_ml=500, program=300, alarm_ml=2,
                    now=NOW, capacity_ml=20)


def test_refill_check_accepts_small_discrepancy() -> None:
    check = check_refill(expected_residual_ml="4.5", withdrawn_ml="3.8", fill_ml=20, capacity_ml=20)
    assert check.discrepancy_nl == -700_000
    assert check.new_reservoir_nl == 20_000_000


def test_refill_check_blocks_less_withdrawn_with_pocket_fill_among_causes() -> None:
    with pytest.raises(RefillDiscrepancy) as err:
        check_refill(expected_residual_ml=6, withdrawn_ml="3.5", fill_ml=20, capacity_ml=20)
    assert any("pocket" in cause for cause in err.value.possible_causes)
    assert err.value.field == "withdrawn_ml"


def test_refill_check_blocks_more_withdrawn_with_catheter_among_causes() -> None:
    with pytest.raises(RefillDiscrepancy) as err:
        check_refill(expected_residual_ml=2, withdrawn_ml="4.1", fill_ml=20, capacity_ml=20)
    assert any("catheter" in cause for cause in err.value.possible_causes)


def test_refill_check_threshold_is_a_parameter() -> None:
    check_refill(expected_residual_ml=2, withdrawn_ml="4.1", fill_ml=20, capacity_ml=20,
                 threshold_ml=3)
    with pytest.raises(RefillDiscrepancy):
        check_refill(expected_residual_ml=2, withdrawn_ml="2.6", fill_ml=20, capacity_ml=20,
                     threshold_ml="0.5")


def test_refill_check_refuses_overfill() -> None:
    with pytest.raises(Overfill) as err:
        check_refill(expected_residual_ml=2, withdrawn_ml=2, fill_ml="20.5", capacity_ml=20)
    assert err.value.field == "fill_ml"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"capacity_ml": 0}, "capacity_ml"),
    ({"expected_residual_ml": "-1"}, "expected_residual_ml"),
    ({"withdrawn_ml": 50}, "withdrawn_ml"),
    ({"fill_ml": 0}, "fill_ml"),
    ({"threshold_ml": "-1"}, "threshold_ml"),
    ({"fill_ml": "x"}, "fill_ml"),
])
def test_refill_check_refuses_invalid_input(kwargs: dict, field: str) -> None:
    args = {"expected_residual_ml": 2, "withdrawn_ml": 2, "fill_ml": 18, "capacity_ml": 20} | kwargs
    with pytest.raises(InvalidInput) as err:
        check_refill(**args)
    assert err.value.field == field


def test_plan_refill_refuses_a_dose_too_slow_to_empty_within_the_horizon_quickly() -> None:
    # 1e-9 mcg/day used to walk ~10^13 days and overflow datetime; now one clear refusal.
    with pytest.raises(InvalidInput) as refused:
        plan_refill(reservoir_ml=20, concentration_mcg_per_ml=500, program="1e-9", alarm_ml=2,
                    now=NOW)
    assert refused.value.field == "daily_dose_mcg"
    assert "36525 days" in refused.value.allowed


def test_plan_refill_at_the_horizon_is_still_planned_exactly() -> None:
    lowest = Fraction(20) * 500 / MAX_DELIVERY_DAYS
    plan = plan_refill(reservoir_ml=20, concentration_mcg_per_ml=500, program=lowest, alarm_ml=2,
                       now=NOW, stability_limit_days=None)
    assert plan.days_to_empty == MAX_DELIVERY_DAYS


def test_a_running_bolus_is_delivered_before_the_program_starts() -> None:
    """Issue 9.3: 0.5 mL of bolus over 12 h, then 300 mcg/day at 500 mcg/mL (0.6 mL/day)."""
    now = datetime(2026, 1, 5, 8, tzinfo=UTC)
    plan = plan_refill(reservoir_ml="10.5", concentration_mcg_per_ml=500, program=300,
                       alarm_ml=2, now=now, running_bolus_nl=500_000,
                       bolus_until=now + timedelta(hours=12))
    # 8.5 mL to the alarm: 0.5 mL in the first 12 h, then 8 mL at 0.6 mL/day.
    assert plan.seconds_to_alarm == 12 * 3600 + Fraction(8, Fraction(6, 10)) * 86_400
    assert plan.seconds_to_empty == 12 * 3600 + Fraction(10, Fraction(6, 10)) * 86_400
    without = plan_refill(reservoir_ml="10.5", concentration_mcg_per_ml=500, program=300,
                          alarm_ml=2, now=now)
    assert plan.alarm_at < without.alarm_at


def test_an_alarm_within_the_running_bolus_is_taken_as_the_bolus_leaves_evenly() -> None:
    now = datetime(2026, 1, 5, 8, tzinfo=UTC)
    plan = plan_refill(reservoir_ml="2.5", concentration_mcg_per_ml=500, program=300,
                       alarm_ml=2, now=now, running_bolus_nl=1_000_000,
                       bolus_until=now + timedelta(hours=10))
    assert plan.seconds_to_alarm == 5 * 3600  # half the bolus volume: half its time


def test_plan_refill_refuses_a_negative_running_bolus() -> None:
    with pytest.raises(InvalidInput, match="running_bolus_nl"):
        plan_refill(reservoir_ml=10, concentration_mcg_per_ml=500, program=300, alarm_ml=2,
                    now=datetime(2026, 1, 5, tzinfo=UTC), running_bolus_nl=-1)
