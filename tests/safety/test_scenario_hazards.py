"""The scenario schema's `hazards` key: the form is checked, unknown keys are still refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from itb.sim import ScenarioError, parse_scenario

BASE = (Path(__file__).resolve().parents[2] / "scenarios" / "pocket-fill.toml").read_text(
    encoding="utf-8")


def _with(line: str) -> str:
    return BASE.replace('hazards = ["HAZ-OD-03"]  # safety/hazards.toml', line)


def test_a_scenario_declares_the_hazards_it_exercises() -> None:
    assert parse_scenario(BASE, "pocket-fill.toml").spec.scenario.hazards == ("HAZ-OD-03",)
    assert parse_scenario(_with(""), "none.toml").spec.scenario.hazards == ()


@pytest.mark.parametrize("line", ['hazards = ["OD-03"]', 'hazards = "HAZ-OD-03"',
                                  'hazards = ["HAZ-OD-03", "HAZ-OD-03"]', "hazards = [3]",
                                  'hazard = ["HAZ-OD-03"]'])
def test_a_bad_hazards_key_is_refused_at_its_line(line: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_with(line), "bad.toml")
    assert any(key.startswith("scenario.hazard") and number for number, key, _
               in caught.value.problems), caught.value.problems
