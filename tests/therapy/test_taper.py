"""Taper plan before an elective explant (issue 16.17)."""

import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from itb.cli import app
from itb.errors import InvalidInput
from itb.therapy.taper import taper_plan

START = datetime(2026, 1, 1, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(current=st.integers(min_value=30, max_value=2000),
       conc=st.sampled_from([50, 250, 500, 1000, 2000]),
       step=st.integers(min_value=10, max_value=20), interval=st.integers(1, 7))
def test_every_taper_step_is_a_labeled_decrease_and_none_goes_below_the_floor(
        current: int, conc: int, step: int, interval: int) -> None:
    try:
        plan = taper_plan(current_mcg_per_day=current, concentration_mcg_per_ml=conc,
                          start=START, step_percent=step, interval_days=interval)
    except InvalidInput as refused:
        assert refused.field == "current_mcg_per_day"  # already at or below the pump's floor
        assert current <= Fraction("0.048") * conc
        return
    previous = Fraction(current)
    for index, taper_step in enumerate(plan.steps):
        assert taper_step.daily_dose_mcg == previous * (100 - step) / 100
        assert taper_step.daily_dose_mcg >= plan.floor_mcg_per_day
        assert taper_step.at == START + timedelta(days=interval * index)
        previous = taper_step.daily_dose_mcg
    assert previous * (100 - step) / 100 < plan.floor_mcg_per_day  # tapered as far as it goes
    assert plan.floor_mcg_per_day == Fraction("0.048") * conc


def test_step_outside_the_labeled_decrease_is_refused() -> None:
    for step in (5, 30):
        with pytest.raises(InvalidInput) as refused:
            taper_plan(current_mcg_per_day=300, concentration_mcg_per_ml=500, start=START,
                       step_percent=step)
        assert refused.value.field == "step_percent"


def test_calc_taper_prints_the_plan() -> None:
    result = CliRunner().invoke(app, ["calc", "taper", "--current", "300", "--concentration",
                                      "500", "--start", "2026-01-01T00:00:00Z", "--floor", "100",
                                      "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [s["daily_dose_mcg"] for s in data["steps"]][:3] == ["270", "243", "218.7"]
    assert data["floor_mcg_per_day"] == "100"
