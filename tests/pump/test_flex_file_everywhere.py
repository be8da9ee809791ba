"""One flex file format: the same file through `itb calc` and `itb pump simulate` (real CLI)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itb.cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flex-24-step.toml"


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("start", ["2026-01-05T08:00:00Z", "2026-07-06T08:00:00Z"])
def test_example_24_step_file_gives_the_same_daily_total_in_calc_and_pump(start: str) -> None:
    assert EXAMPLE.read_text(encoding="utf-8").count("[[steps]]") == 24
    plan = _json(["calc", "refill", "--flex", str(EXAMPLE), "--reservoir-ml", "20",
                  "--concentration", "500", "--alarm-ml", "2", "--now", start])
    pump = _json(["pump", "simulate", "--flex", str(EXAMPLE), "--concentration", "500",
                  "--days", "2", "--start", start])
    assert plan["flex"] is True
    assert Fraction(plan["daily_dose_mcg"]) == Fraction(7340, 24)
    assert Fraction(pump["programmed_daily_dose_mcg"]) == Fraction(plan["daily_dose_mcg"])
    assert pump["flex_time_zone"] == "Europe/Paris"
    # Two days of strokes deliver the programmed dose to within a stroke or so.
    assert abs(Fraction(pump["commanded_mcg"]) - 2 * Fraction(7340, 24)) < 5


def test_example_file_is_accepted_by_calc_rate() -> None:
    data = _json(["calc", "rate", "--flex", str(EXAMPLE), "--concentration", "500"])
    assert len(data["steps"]) == 24 and data["steps"][23]["start"] == "23:00"
    assert Fraction(data["daily_dose_mcg"]) == Fraction(7340, 24)


def test_a_pump_extension_file_is_refused_by_calc_by_name(tmp_path: Path) -> None:
    weekly = tmp_path / "weekly.toml"
    weekly.write_text('timezone = "UTC"\nperiod = "weekly"\n'
                      '[[steps]]\nstart = "mon 00:00"\ndose_mcg_per_day = 200\n')
    result = runner.invoke(app, ["calc", "refill", "--flex", str(weekly), "--reservoir-ml", "20",
                                 "--concentration", "500", "--alarm-ml", "2"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "period" in result.stderr and "pump-program extension" in result.stderr
    assert "Traceback" not in result.stderr
