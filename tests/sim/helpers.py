"""Shared helpers for the scenario tests: run a library scenario once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from itb.sim import build_timeline, parse_scenario, run_scenario, summarize
from itb.sim.runner import SimulationResult

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@dataclass(frozen=True)
class Outcome:
    result: SimulationResult
    frame: pd.DataFrame
    summary: dict[str, Any]

    def rows_between(self, from_day: float, to_day: float) -> pd.DataFrame:
        hours = self.frame["hours"]
        return self.frame[(hours >= from_day * 24) & (hours < to_day * 24)]


@cache
def outcome(name: str) -> Outcome:
    path = SCENARIOS / f"{name}.toml"
    scenario = parse_scenario(path.read_text(encoding="utf-8"), str(path))
    result = run_scenario(scenario)
    frame = build_timeline(result)
    return Outcome(result, frame, summarize(result, frame))
