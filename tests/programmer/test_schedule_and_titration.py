"""Pure parts: program <-> therapy schedule conversion, the dose table, the titration review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.programmer import schedule as sched
from itb.programmer.programming import (
    NEEDS_OVERRIDE,
    NOT_CHECKED,
    OVERRIDDEN,
    SAME_TOTAL,
    WITHIN,
    patient_facts,
    review_titration,
)
from itb.telemetry.protocol.commands import HardLimitsSpec
from itb.therapy.flex import make_schedule, volume_delivered_nl

LIMITS = HardLimitsSpec(Fraction(2000), Fraction(100))
NOW = datetime(2026, 1, 30, 8, 0, tzinfo=UTC)
ADULT_SPINAL = patient_facts("spinal", "40")


@st.composite
def flex_schedules(draw: st.DrawFn) -> tuple[list[tuple[str, int]], str]:
    minutes = sorted(draw(st.sets(st.integers(0, 24 * 60 - 1), min_size=1, max_size=6)))
    doses = draw(st.lists(st.integers(50, 900), min_size=len(minutes), max_size=len(minutes)))
    zone = draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]))
    return [(f"{m // 60:02d}:{m % 60:02d}", d) for m, d in zip(minutes, doses, strict=True)], zone


@settings(max_examples=40, deadline=None)
@given(flex_schedules(), st.integers(0, 364))
def test_pump_program_delivers_what_the_flex_schedule_says_at_its_offset(
        data: tuple[list[tuple[str, int]], str], day: int) -> None:
    steps, zone = data
    flex = make_schedule(steps, zone)
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
    spec = sched.flex_program(flex, at, LIMITS, None)
    utc = sched.program_schedule(spec)
    assert utc is not None
    assert utc.total_daily_dose_mcg() == flex.total_daily_dose_mcg()
    # Over one pump day (fixed offset), the rotated UTC schedule delivers exactly the sum of
    # each local step's rate over its length.
    conc = Fraction(500)
    start = sched.local_day(spec, at) - timedelta(minutes=sched.utc_offset_minutes(spec))
    delivered = volume_delivered_nl(utc, conc, start, start + timedelta(days=1))
    assert delivered * conc / 1_000_000 == flex.total_daily_dose_mcg()


@settings(max_examples=40, deadline=None)
@given(flex_schedules())
def test_hourly_dose_table_adds_up_to_the_daily_total(
        data: tuple[list[tuple[str, int]], str]) -> None:
    steps, zone = data
    spec = sched.flex_program(make_schedule(steps, zone), NOW, LIMITS, None)
    rows = sched.hourly_doses(spec, Fraction(2000), sched.local_day(spec, NOW))
    assert rows is not None and len(rows) == 24
    assert sum((row.dose_mcg for row in rows), Fraction(0)) == sched.daily_dose_mcg(spec)


def test_flex_program_tiles_the_day_in_local_time() -> None:
    flex = make_schedule([("07:00", 400), ("22:00", "250")], "Europe/Paris")
    spec = sched.flex_program(flex, NOW, LIMITS, None)
    therapy = spec.therapy
    assert therapy.utc_offset_minutes == 60
    assert sum(step.duration_s for step in therapy.steps) == 86_400
    summer = sched.flex_program(flex, datetime(2026, 7, 1, tzinfo=UTC), LIMITS, None)
    assert summer.therapy.utc_offset_minutes == 120


def test_continuous_program_is_one_constant_step() -> None:
    spec = sched.continuous_program(Fraction(300), LIMITS, None)
    assert sched.daily_dose_mcg(spec) == 300
    assert sched.describe_program(spec) == "simple continuous, 300 mcg/day"
    with pytest.raises(InvalidInput):
        sched.continuous_program(Fraction(0), LIMITS, None)


def review(current: int | None, proposed: int, *, patient=ADULT_SPINAL,
           last: datetime | None = None, reason: str | None = None):
    return review_titration(current_mcg_per_day=None if current is None else Fraction(current),
                            proposed_mcg_per_day=Fraction(proposed), patient=patient,
                            last_change_at=last, now=NOW, override_reason=reason)


def test_titration_within_the_step() -> None:
    result = review(300, 360)
    assert result.status == WITHIN and not result.violations
    assert (result.allowed_low_mcg_per_day, result.allowed_high_mcg_per_day) == (300, 390)
    assert result.change_mcg_per_day == 60 and result.change_percent == 20


def test_titration_beyond_the_step_needs_an_override_and_takes_one() -> None:
    refused = review(300, 450)
    assert refused.status == NEEDS_OVERRIDE and refused.needs_override
    assert "more than 300 up to 390 mcg/day" in str(refused.refusal())
    accepted = review(300, 450, reason="  team decision ")
    assert accepted.status == OVERRIDDEN and accepted.override_reason == "team decision"


def test_titration_too_soon_and_beyond_the_step_are_both_listed() -> None:
    result = review(300, 450, last=NOW - timedelta(hours=3))
    assert result.status == NEEDS_OVERRIDE
    assert len(result.violations) == 2
    assert result.violations[0].startswith("too soon")
    assert result.violations[1].startswith("beyond the largest step")
    assert result.next_increase_at == NOW + timedelta(hours=21)
    refusal = result.refusal()
    assert refusal.field == "increase" and (NOW + timedelta(hours=21)).isoformat() in str(refusal)
    assert refusal.next_step and "Wait until" in refusal.next_step


def test_decreases_are_allowed_at_any_time_and_a_large_cut_is_flagged_for_confirmation(
        ) -> None:
    assert review(500, 420).status == WITHIN  # -16%
    small = review(500, 495, last=NOW - timedelta(hours=12))  # -1%, 12 h after a change
    assert small.status == WITHIN and small.notes and not small.large_decrease
    large = review(500, 300, last=NOW - timedelta(hours=12))  # -40%
    assert large.status == WITHIN and large.large_decrease
    assert large.withdrawal_warning and "withdrawal" in large.withdrawal_warning


def test_a_small_increase_is_within_the_rules_with_a_note() -> None:
    result = review(400, 405)  # issue 9.7: +1.25%, spinal adult
    assert result.status == WITHIN and "smaller than the usual step" in result.notes[0]


def test_above_the_usual_range_needs_an_override_even_within_the_step() -> None:
    result = review(700, 840)  # +20%, above the usual 300-800 (spinal adult)
    assert result.status == NEEDS_OVERRIDE and "maintenance range" in result.violations[0]
    overridden = review(700, 840, reason="refractory spasticity")
    assert overridden.status == OVERRIDDEN
    assert any("usual maintenance range" in v for v in overridden.violations)


def test_same_total_is_not_a_titration_step_and_no_program_is_not_checked() -> None:
    assert review(300, 300).status == SAME_TOTAL
    assert review(None, 300).violations == ()


def test_maintenance_phase_allows_the_larger_spinal_step() -> None:
    maintenance = patient_facts("spinal", "40", "maintenance")
    assert review(300, 420, patient=maintenance).status == WITHIN  # +40%
    assert review(300, 420).status == NEEDS_OVERRIDE


def test_patient_facts_are_validated() -> None:
    with pytest.raises(InvalidInput, match="origin"):
        patient_facts("lumbar", "40")
    with pytest.raises(InvalidInput, match="age_years"):
        patient_facts("spinal", "-1")
    with pytest.raises(InvalidInput):
        review(300, 330, reason="   ")


def test_without_a_program_a_dose_above_the_usual_range_still_needs_an_override() -> None:
    # A pump in memory error has lost its program; reprogramming it must not bypass the
    # labeled usual maintenance range (spinal adult 300-800 mcg/day, LIO-LABEL).
    assert review(None, 800).status == NOT_CHECKED
    refused = review(None, 100_000)
    assert refused.status == NEEDS_OVERRIDE and refused.needs_override
    assert "800 mcg/day" in str(refused.refusal())
    accepted = review(None, 900, reason="restoring the dose in the patient's record")
    assert accepted.status == OVERRIDDEN
    assert accepted.override_reason == "restoring the dose in the patient's record"
