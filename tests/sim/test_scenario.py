"""Scenario files: bad ones are refused with the file, line, key and reason, before running."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from itb.sim import ScenarioError, parse_scenario
from itb.sim.scenario import key_lines

# A small valid scenario; each test breaks one thing in it.
GOOD = (Path(__file__).parent / "scenario_good.toml").read_text(encoding="utf-8")


def refused(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.toml")
    return caught.value


def test_a_good_scenario_parses_with_exact_numbers_and_ordered_events() -> None:
    scenario = parse_scenario(GOOD, "s.toml")
    refill = scenario.events[0][2]
    # 19.5 came from a TOML float: read as the decimal it says, never through binary.
    assert refill.fill_ml == Fraction(39, 2)
    assert [e[2].event for e in scenario.events] == ["refill", "program"]
    assert scenario.end_s - scenario.start_s == 3 * 86_400


def test_unknown_key_is_refused_with_its_line_and_key() -> None:
    error = refused(GOOD.replace('model = "synchromed-ii-20"', 'modle = "synchromed-ii-20"'))
    line, key, reason = error.problems[0]
    assert (line, key) == (11, "pump.modle")
    assert "unknown key" in reason
    assert str(error).startswith("s.toml:11: pump.modle: unknown key")


def test_missing_required_key_names_the_table() -> None:
    error = refused(GOOD.replace("concentration_mcg_per_ml = 2000\n", ""))
    line, key, _reason = error.problems[0]
    assert (key, line) == ("implant.concentration_mcg_per_ml", 13)  # the [implant] header
    assert "required" in error.problems[0][2]


def test_bad_value_in_an_array_table_points_at_that_entry() -> None:
    error = refused(GOOD.replace('event = "refill"', 'event = "refil"'))
    line, key, reason = error.problems[0]
    assert key == "timeline[0].event"
    assert line == 24
    assert "event must be one of" in reason


def test_a_dose_that_breaks_the_titration_rule_is_refused_before_running() -> None:
    # 500 -> 800 mcg/day is +60 %: the label allows +10-30 % (spinal, titration phase).
    error = refused(GOOD.replace("daily_dose_mcg = 600", "daily_dose_mcg = 800"))
    line, key, reason = error.problems[0]
    assert key == "timeline[1].program" and line == 30
    assert "titration" in reason and "titration_check = false" in reason


def test_titration_check_can_be_waived_for_a_deliberate_error() -> None:
    text = GOOD.replace("daily_dose_mcg = 600", "daily_dose_mcg = 800").replace(
        'event = "program"', 'event = "program"\ntitration_check = false')
    assert parse_scenario(text, "s.toml").events[1][2].titration_check is False


def test_a_program_that_does_not_fit_the_pump_is_refused() -> None:
    # 500 mcg/day at 2000 mcg/mL is 0.25 mL/day; 1 mcg/day is below the minimum rate.
    error = refused(GOOD.replace("daily_dose_mcg = 500", "daily_dose_mcg = 1"))
    assert error.problems[0][1] == "program"
    assert "daily_dose_mcg" in error.problems[0][2]


def test_toml_syntax_errors_carry_the_line() -> None:
    error = refused(GOOD.replace("fill_ml = 20\n", "fill_ml = = 20\n"))
    assert error.problems[0][0] == 15
    assert "not valid TOML" in error.problems[0][2]


def test_an_event_needs_exactly_one_time() -> None:
    error = refused(GOOD.replace("day = 1\n", ""))
    assert error.problems[0][1] == "timeline[0]"
    assert "exactly one of day" in error.problems[0][2]


def test_events_outside_the_scenario_are_refused() -> None:
    error = refused(GOOD.replace("day = 2\n", "day = 9\n"))
    assert error.problems[0][1] == "timeline[1].day"
    assert "within the scenario" in error.problems[0][2]


def test_error_fields_must_match_the_error() -> None:
    error = refused(GOOD.replace("fill_ml = 19.5", "fill_ml = 19.5\npocket_fill_ml = 3"))
    assert "pocket_fill_ml is only for" in error.problems[0][2]


def test_every_problem_is_listed() -> None:
    text = GOOD.replace('origin = "spinal"', 'origin = "spine"').replace(
        "duration_days = 3", "duration_days = -1")
    error = refused(text)
    keys = {p[1] for p in error.problems}
    assert {"scenario.duration_days", "patient.origin"} <= keys


def test_binary_floats_never_enter_exact_fields() -> None:
    from itb.sim.schema import ScenarioFile

    with pytest.raises(ValueError, match="exact number"):
        ScenarioFile.model_validate({
            "scenario": {"name": "x", "start": "2026-01-05T08:00:00Z", "duration_days": 0.1},
            "implant": {"date": "2026-01-05T08:00:00Z", "concentration_mcg_per_ml": 500}})


def test_established_patient_needs_a_program_and_no_screening() -> None:
    text = GOOD.replace('[program]\ntype = "simple"\ndaily_dose_mcg = 500\n',
                        "[screening]\nstart = 2026-01-05T09:00:00Z\n")
    error = refused(text)
    reasons = " ".join(p[2] for p in error.problems)
    assert "no screening trial" in reasons and "needs the [program]" in reasons


def test_key_lines_follow_array_tables_and_subtables() -> None:
    lines = key_lines(GOOD)
    assert lines[("timeline", 0)] == 22
    assert lines[("timeline", 1, "program", "daily_dose_mcg")] == 32
    assert lines[("implant", "fill_ml")] == 15


def test_a_titration_step_beyond_the_label_is_refused_statically() -> None:
    text = GOOD.replace('event = "program"\n[timeline.program]\ntype = "simple"\n'
                        'daily_dose_mcg = 600\n', 'event = "titrate"\npercent = 45\n')
    error = refused(text)
    assert error.problems[0][1] == "timeline[1].percent"
    assert "titration" in error.problems[0][2]


def test_a_titration_percent_must_change_the_dose() -> None:
    text = GOOD.replace('event = "program"\n[timeline.program]\ntype = "simple"\n'
                        'daily_dose_mcg = 600\n', 'event = "titrate"\npercent = 0\n')
    assert "not 0" in refused(text).problems[0][2]


def test_volumes_finer_than_a_nanolitre_are_refused_not_truncated() -> None:
    error = refused(GOOD.replace("fill_ml = 19.5", 'fill_ml = "19.0000005"'))
    assert error.problems[0][1] == "timeline[0].fill_ml"
    assert "whole nanolitres" in error.problems[0][2]


def test_a_replacement_fill_must_fit_the_new_pump() -> None:
    text = GOOD + '\n[[timeline]]\nday = 2\nevent = "replace_pump"\nmodel = "synchromed-10"\n' \
        'fill_ml = 20\n'
    error = refused(text)
    assert error.problems[0][1] == "timeline[2].fill_ml"
    assert "synchromed-10" in error.problems[0][2]


def test_overlapping_flex_steps_are_refused_naming_the_step() -> None:
    flex = ('type = "flex"\nsteps = [{ start = "07:00", dose_mcg_per_day = 600 },\n'
            '         { start = "07:00", dose_mcg_per_day = 500 }]\n')
    error = refused(GOOD.replace('type = "simple"\ndaily_dose_mcg = 600\n', flex))
    assert "steps[1] (start 07:00) overlaps steps[0]" in str(error)


def test_patient_parameters_the_model_refuses_are_reported_at_their_key() -> None:
    text = GOOD.replace("days_on_therapy = 400",
                        "days_on_therapy = 400\n\n[patient.kinetics]\nhalf_life_h = 1000")
    error = refused(text)
    line, key, reason = error.problems[0]
    assert key == "patient.kinetics.half_life_h" and line == 11
    assert "half_life_h" in reason and "100" in reason


def test_a_scenario_must_end_before_the_calendar_does() -> None:
    error = refused(GOOD.replace("start = 2026-01-05T08:00:00Z", "start = 9999-12-31T23:59:59Z"))
    assert error.problems[0][1] == "scenario.start"


def test_an_empty_pump_cannot_be_implanted() -> None:
    error = refused(GOOD.replace("fill_ml = 20\n", "fill_ml = 0\n", 1))
    assert error.problems[0][1] == "implant.fill_ml"


def test_a_pump_history_longer_than_a_pumps_life_is_refused() -> None:
    error = refused(GOOD.replace("date = 2026-01-05T08:00:00Z", "date = 2015-01-05T08:00:00Z"))
    assert error.problems[0][1] == "implant.date"
    assert "in service at the start" in error.problems[0][2]
