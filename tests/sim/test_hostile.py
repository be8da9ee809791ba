"""Odd values in every key of a scenario that uses every table: each is refused before
anything runs (ScenarioError with a line and key) or runs to the end; nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from itb.errors import ItbError
from itb.sim import ScenarioError, build_timeline, parse_scenario, run_scenario, summarize

BASE = (Path(__file__).parent / "every_key.toml").read_text(encoding="utf-8")
ODD = ['""', '"x"', "-1", "0", "1e999", "99999999999999999999999", "nan", "inf", "true", "[]",
       "{}", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-01-05T08:00:00",
       '"1/0"', '"1e999999999"', "0.0000001", "3653"]
KEYS = [(i, m.group(1)) for i, line in enumerate(BASE.splitlines())
        if (m := re.match(r"^(\s*[A-Za-z_]+\s*=\s*)", line))]


def test_the_base_scenario_uses_every_table_and_event_kind_and_runs() -> None:
    scenario = parse_scenario(BASE, "every_key.toml")
    kinds = {event.event for _t, _i, event in scenario.events}
    assert kinds == {"bolus", "fault", "titrate", "refill", "catheter_revision",
                     "replace_pump", "acknowledge_alarms"}
    result = run_scenario(scenario)
    assert summarize(result, build_timeline(result))["implanted"] is True


@pytest.mark.parametrize(("index", "prefix"), KEYS, ids=[p.strip(" =") for _, p in KEYS])
def test_odd_values_are_refused_by_key_or_run(index: int, prefix: str) -> None:
    lines = BASE.splitlines()
    for odd in ODD:
        text = "\n".join([*lines[:index], prefix + odd, *lines[index + 1:]]) + "\n"
        try:
            scenario = parse_scenario(text, "odd.toml")
        except ScenarioError as error:
            assert error.problems and all(key or line for line, key, _ in error.problems)
            continue
        try:
            result = run_scenario(scenario)
        except ItbError as error:  # pragma: no cover - reported with the value if it happens
            pytest.fail(f"{prefix}{odd}: refused only at run time: {error}")
        summarize(result, build_timeline(result))
