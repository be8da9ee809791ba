"""Initial dose and titration rules from the labeling."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy.catalogue import AgeGroup, ChangeReason, Origin, PediatricRule, Phase
from itb.therapy.dosing import (
    age_group_for,
    allowed_new_doses,
    check_titration,
    initial_daily_dose,
)
from itb.therapy.errors import OverrideRequired, TitrationLimitExceeded, TitrationTooSoon

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def test_initial_dose_long_effect_is_screening_dose() -> None:
    assert initial_daily_dose(50, 10).daily_dose_mcg == 50


def test_initial_dose_short_effect_is_twice_screening_dose() -> None:
    assert initial_daily_dose(75, 6).daily_dose_mcg == 150


def test_initial_dose_exactly_8h_is_not_more_than_8h() -> None:
    assert initial_daily_dose(100, 8).daily_dose_mcg == 200


def test_initial_dose_no_increase_in_first_24h() -> None:
    dose = initial_daily_dose(50, 10, infusion_start=NOW)
    assert dose.no_increase_before == NOW + timedelta(hours=24)
    with pytest.raises(TitrationTooSoon):
        check_titration(current_mcg_per_day=50, proposed_mcg_per_day=55, origin="spinal",
                        age_group="adult", last_change_at=NOW, now=NOW + timedelta(hours=23),
                        override_reason="post-implant titration")


@pytest.mark.parametrize(("dose", "hours", "field"), [
    (60, 10, "screening_dose_mcg"), ("x", 10, "screening_dose_mcg"),
    (50, 0, "effect_duration_h"), (50, "-1", "effect_duration_h"),
])
def test_initial_dose_refuses_invalid(dose: object, hours: object, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        initial_daily_dose(dose, hours)  # type: ignore[arg-type]
    assert err.value.field == field


def test_spinal_increase_bounds_are_10_to_30_percent() -> None:
    assert allowed_new_doses(400, "spinal", "adult", "increase") == (440, 520)


def test_cerebral_increase_bounds_are_5_to_15_percent() -> None:
    assert allowed_new_doses(200, "cerebral", "adult", "increase") == (210, 230)


def test_child_increase_bounds_and_5_to_10_variant() -> None:
    assert allowed_new_doses(200, "spinal", "child", "increase") == (210, 230)
    assert allowed_new_doses(200, "spinal", "child", "increase", "5-10") == (210, 220)


def test_maintenance_increase_bounds_spinal_10_to_40_cerebral_5_to_20() -> None:
    assert allowed_new_doses(400, "spinal", "adult", "increase", phase="maintenance") == (440, 560)
    assert allowed_new_doses(400, "cerebral", "adult", "increase", phase="maintenance") == (420,
                                                                                           480)
    # children keep the smaller pediatric step in maintenance too
    assert allowed_new_doses(200, "spinal", "child", "increase", phase="maintenance") == (210, 230)


def test_maintenance_phase_accepts_35_percent_spinal_increase_titration_refuses() -> None:
    check_titration(current_mcg_per_day=400, proposed_mcg_per_day=540, origin="spinal",
                    age_group="adult", phase="maintenance")
    with pytest.raises(TitrationLimitExceeded):
        check_titration(current_mcg_per_day=400, proposed_mcg_per_day=540, origin="spinal",
                        age_group="adult")


def test_side_effect_decrease_bounds_are_10_to_20_percent() -> None:
    assert allowed_new_doses(500, "spinal", "adult", "side-effects") == (400, 450)


def test_titration_accepts_step_within_bounds() -> None:
    decision = check_titration(current_mcg_per_day=400, proposed_mcg_per_day=500,
                               origin=Origin.SPINAL, age_group=AgeGroup.ADULT,
                               last_change_at=NOW - timedelta(hours=24), now=NOW)
    assert decision.change_percent == 25
    assert decision.next_change_not_before == NOW + timedelta(hours=24)


def test_titration_refuses_too_large_step_with_allowed_range() -> None:
    with pytest.raises(TitrationLimitExceeded) as err:
        check_titration(current_mcg_per_day=400, proposed_mcg_per_day=600, origin="spinal",
                        age_group="adult")
    assert (err.value.low_mcg_per_day, err.value.high_mcg_per_day) == (440, 520)
    assert "440 to 520 mcg/day" in str(err.value)


def test_titration_refuses_too_small_decrease() -> None:
    with pytest.raises(TitrationLimitExceeded):
        check_titration(current_mcg_per_day=500, proposed_mcg_per_day=480, origin="spinal",
                        age_group="adult", reason=ChangeReason.SIDE_EFFECTS)


def test_titration_refuses_change_within_24h() -> None:
    with pytest.raises(TitrationTooSoon) as err:
        check_titration(current_mcg_per_day=400, proposed_mcg_per_day=450, origin="spinal",
                        age_group="adult", last_change_at=NOW - timedelta(hours=23, minutes=59),
                        now=NOW)
    assert err.value.field == "now"


def test_titration_above_usual_range_needs_override() -> None:
    with pytest.raises(OverrideRequired):
        check_titration(current_mcg_per_day=700, proposed_mcg_per_day=850, origin="spinal",
                        age_group="adult")
    decision = check_titration(current_mcg_per_day=700, proposed_mcg_per_day=850,
                               origin="spinal", age_group="adult",
                               override_reason="spasms persist at 700 mcg/day")
    assert decision.outside_usual_range
    assert decision.override_reason == "spasms persist at 700 mcg/day"


def test_titration_decrease_below_usual_range_needs_override() -> None:
    with pytest.raises(OverrideRequired):
        check_titration(current_mcg_per_day=320, proposed_mcg_per_day=270, origin="spinal",
                        age_group="adult")


def test_titration_increase_still_below_usual_range_needs_no_override() -> None:
    decision = check_titration(current_mcg_per_day=100, proposed_mcg_per_day=120,
                               origin="spinal", age_group="adult")
    assert decision.outside_usual_range and decision.override_reason is None


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"current_mcg_per_day": 0}, "current_mcg_per_day"),
    ({"proposed_mcg_per_day": "-1"}, "proposed_mcg_per_day"),
    ({"proposed_mcg_per_day": 400}, "proposed_mcg_per_day"),
    ({"origin": "lumbar"}, "origin"),
    ({"age_group": "teen"}, "age_group"),
    ({"pediatric_rule": "1-2"}, "pediatric_rule"),
    ({"phase": "loading"}, "phase"),
    ({"reason": "side-effects"}, "reason"),
    ({"override_reason": "  "}, "override_reason"),
    ({"last_change_at": NOW}, "now"),
    ({"last_change_at": NOW + timedelta(hours=1), "now": NOW}, "last_change_at"),
    ({"last_change_at": datetime(2026, 1, 1), "now": NOW}, "last_change_at"),
])
def test_titration_refuses_invalid_input(kwargs: dict, field: str) -> None:
    args = {"current_mcg_per_day": 400, "proposed_mcg_per_day": 450, "origin": "spinal",
            "age_group": "adult"} | kwargs
    with pytest.raises(InvalidInput) as err:
        check_titration(**args)
    assert err.value.field == field


def test_age_group_for_under_12_is_child() -> None:
    assert age_group_for(11) is AgeGroup.CHILD
    assert age_group_for(12) is AgeGroup.ADULT
    with pytest.raises(InvalidInput):
        age_group_for(-1)


def labeled_step_percent(increase: bool, origin: Origin, age: AgeGroup, rule: PediatricRule,
                         phase: Phase) -> tuple[int, int]:
    """The label's step per change (devices.md "Titration"/"Maintenance"), written out
    independently of the catalogue so that the property checks the code against it."""
    if not increase:
        return 10, 20
    if age is AgeGroup.CHILD:
        return (5, 10) if rule is PediatricRule.FIVE_TO_TEN else (5, 15)
    if phase is Phase.MAINTENANCE:
        return (10, 40) if origin is Origin.SPINAL else (5, 20)
    return (10, 30) if origin is Origin.SPINAL else (5, 15)


@settings(max_examples=200, deadline=None)
@given(current=st.integers(min_value=12, max_value=2000),
       # A change of -30.0% to +50.0% in steps of 0.1%: dense around every bound, so both
       # accepted and refused proposals (and the exact bounds themselves) are drawn often.
       change_tenths=st.integers(min_value=-300, max_value=500).filter(lambda t: t != 0),
       origin=st.sampled_from(list(Origin)), age=st.sampled_from(list(AgeGroup)),
       rule=st.sampled_from(list(PediatricRule)), phase=st.sampled_from(list(Phase)))
def test_no_titration_step_ever_exceeds_its_bound(current: int, change_tenths: int,
                                                  origin: Origin, age: AgeGroup,
                                                  rule: PediatricRule, phase: Phase) -> None:
    change_percent = Fraction(change_tenths, 10)
    proposed = current * (100 + change_percent) / 100
    low, high = labeled_step_percent(change_tenths > 0, origin, age, rule, phase)
    within_label = low <= abs(change_percent) <= high
    try:
        decision = check_titration(current_mcg_per_day=current, proposed_mcg_per_day=proposed,
                                   origin=origin, age_group=age, pediatric_rule=rule,
                                   phase=phase, override_reason="property test")
    except TitrationLimitExceeded as err:
        assert not within_label  # refused only outside the labeled step ...
        sign = 1 if change_tenths > 0 else -1
        # ... and the refusal states exactly the labeled range of new doses.
        assert {err.low_mcg_per_day, err.high_mcg_per_day} == {
            Fraction(current * (100 + sign * low), 100),
            Fraction(current * (100 + sign * high), 100)}
        return
    assert within_label  # accepted only inside it
    assert decision.change_percent == change_percent


LAST_HOUR = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)


def test_times_whose_next_24_hours_leave_the_calendar_are_refused_by_field() -> None:
    # Used to raise OverflowError (a traceback in itb calc titrate --now 9999-12-31...).
    with pytest.raises(InvalidInput) as refused:
        check_titration(current_mcg_per_day=400, proposed_mcg_per_day=450, origin="spinal",
                        age_group="adult", now=LAST_HOUR)
    assert refused.value.field == "now"
    with pytest.raises(InvalidInput) as refused:
        initial_daily_dose(50, 10, LAST_HOUR)
    assert refused.value.field == "infusion_start"
