"""`itb pump simulate` through the real CLI."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itb.cli import app

runner = CliRunner()
README_JOB = ["pump", "simulate", "--model", "synchromed-ii-20", "--fill-ml", "20",
              "--concentration", "500", "--daily-dose", "300", "--alarm-ml", "2", "--days", "60",
              "--refill-every-days", "30", "--start", "2026-01-05T08:00:00Z", "--seed", "7"]


def run_json(args: list[str]) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_readme_job_gives_the_documented_json_keys() -> None:
    data = run_json(README_JOB)
    for key in ("delivered_mcg", "commanded_mcg", "reservoir_ml", "reservoir_estimate_ml",
                "alarms", "events"):
        assert key in data
    # 60 days at 300 mcg/day less the priming time; truth and count differ by calibration.
    assert abs(Fraction(data["commanded_mcg"]) - 18_000) < 10
    assert Fraction(data["delivered_mcg"]) != Fraction(data["commanded_mcg"])
    assert data["alarms"][0] == {"time": "2026-02-03T19:03:08+00:00", "kind": "low_reservoir",
                                 "critical": False}
    assert len(data["refills"]) == 1 and isinstance(data["events"], int)


def test_readme_job_is_reproducible_and_the_seed_matters() -> None:
    assert run_json(README_JOB) == run_json(README_JOB)
    other = run_json([*README_JOB[:-1], "8"])
    assert other["delivered_mcg"] != run_json(README_JOB)["delivered_mcg"]


def test_readable_summary() -> None:
    result = runner.invoke(app, README_JOB)
    assert result.exit_code == 0
    assert "spinal fluid" in result.stdout and "low_reservoir" in result.stdout


def _hourly_steps() -> str:
    return "\n".join(f'[[steps]]\nstart = "{h:02d}:00"\n'
                     f"dose_mcg_per_day = {200 + 10 * (h % 6)}\n" for h in range(24))


def test_flex_file_in_the_one_format_with_a_periodic_bolus(tmp_path: Path) -> None:
    flex = tmp_path / "flex.toml"
    flex.write_text('timezone = "Europe/Paris"\n' + _hourly_steps()
                    + '[[periodic_bolus]]\nstart = "08:00"\ndose_mcg = 20\nduration_minutes = 30\n')
    data = run_json(["pump", "simulate", "--flex", str(flex), "--days", "5", "--start",
                     "2026-01-05T00:00:00Z", "--concentration", "1000"])
    assert Fraction(data["commanded_mcg"]) > 5 * 200
    # Steps average 225 mcg/day; the bolus replaces 30 min of the 08:00 step (220 mcg/day).
    assert Fraction(data["programmed_daily_dose_mcg"]) == 225 - Fraction(220, 48) + 20
    assert data["flex_time_zone"] == "Europe/Paris" and data["flex_utc_offset"] == "+01:00"


def test_flex_zone_is_taken_at_its_offset_at_the_start_and_the_output_says_so(
        tmp_path: Path) -> None:
    flex = tmp_path / "flex.toml"
    flex.write_text('timezone = "Europe/Paris"\n' + _hourly_steps())
    summer = ["pump", "simulate", "--flex", str(flex), "--days", "2", "--start",
              "2026-07-06T00:00:00Z"]
    assert run_json(summer)["flex_utc_offset"] == "+02:00"
    result = runner.invoke(app, summer)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "UTC+02:00" in text and "does not follow daylight saving" in text


def test_weekly_flex_extension(tmp_path: Path) -> None:
    flex = tmp_path / "weekly.toml"
    flex.write_text('timezone = "UTC"\nperiod = "weekly"\n'
                    '[[steps]]\nstart = "mon 00:00"\ndose_mcg_per_day = 200\n'
                    '[[steps]]\nstart = "sat 00:00"\ndose_mcg_per_day = 300\n')
    data = run_json(["pump", "simulate", "--flex", str(flex), "--days", "7", "--start",
                     "2026-01-05T00:00:00Z"])
    assert Fraction(data["programmed_daily_dose_mcg"]) == Fraction(5 * 200 + 2 * 300, 7)


def test_faults_show_in_the_output() -> None:
    data = run_json([*README_JOB, "--occlusion-at", "40", "--stall", "10:2",
                     "--pocket-fill-refill", "1"])
    kinds = [a["kind"] for a in data["alarms"]]
    assert "motor_stall" in kinds
    assert Fraction(data["pocket_mcg"]) == 10_000  # 20 mL of 500 mcg/mL into the pocket
    assert data["refills"][0]["pocket_fill"] is True
    clean = run_json(README_JOB)
    assert Fraction(data["delivered_mcg"]) < Fraction(clean["delivered_mcg"])


def test_memory_corruption_and_disconnection_options() -> None:
    data = run_json([*README_JOB, "--memory-corruption-at", "5", "--disconnect-at", "50"])
    assert {"kind": "memory_error", "critical": True} in [
        {k: a[k] for k in ("kind", "critical")} for a in data["alarms"]]
    assert Fraction(data["leaked_mcg"]) > 0


@pytest.mark.parametrize(("args", "field"), [
    (["--daily-dose", "-5"], "daily_dose"),
    (["--daily-dose", "100000"], "12000 mcg/day"),
    (["--model", "medstream-9"], "model"),
    (["--fill-ml", "25"], "fill_ml"),
    (["--alarm-ml", "0.1"], "alarm_ml"),
    (["--days", "0"], "days"),
    (["--concentration", "abc"], "concentration"),
    (["--start", "yesterday"], "start"),
    (["--start", "2026-01-05T08:00:00"], "start"),
    (["--max-daily-dose", "200"], "max_daily_dose_mcg"),
    (["--stall", "10"], "stall"),
    (["--pocket-fill-refill", "3", "--refill-every-days", "30"], "pocket_fill_refill"),
])
def test_bad_input_is_one_clear_error_with_exit_2_and_no_output(args: list[str],
                                                                field: str) -> None:
    base = ["pump", "simulate", "--days", "10", "--start", "2026-01-05T08:00:00Z", "--json"]
    if "--daily-dose" not in args:
        base += ["--daily-dose", "300"]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert field in result.stderr
    assert "allowed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("second", "period"), [
    ('"12:00"', "daily"), ('"06:00"', "daily"), ('"00:00"', "daily"),
    ('"mon 00:00"', "weekly"), ('"tue 12:00"', "weekly")])
def test_overlapping_flex_steps_are_refused(tmp_path: Path, second: str, period: str) -> None:
    first = '"12:00"' if period == "daily" else '"tue 12:00"'
    flex = tmp_path / "bad.toml"
    flex.write_text(f'timezone = "UTC"\nperiod = "{period}"\n'
                    f"[[steps]]\nstart = {first}\ndose_mcg_per_day = 200\n"
                    f"[[steps]]\nstart = {second}\ndose_mcg_per_day = 300\n")
    result = runner.invoke(app, ["pump", "simulate", "--flex", str(flex), "--days", "2"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "steps[1]" in result.stderr and "overlap" in result.stderr


@pytest.mark.req("REQ-FLEX-ZONE")
def test_flex_file_must_state_its_time_zone(tmp_path: Path) -> None:
    flex = tmp_path / "nozone.toml"
    flex.write_text('[[steps]]\nstart = "00:00"\ndose_mcg_per_day = 200\n')
    result = runner.invoke(app, ["pump", "simulate", "--flex", str(flex), "--days", "2"])
    assert result.exit_code == 2 and "timezone" in result.stderr


def test_the_old_pump_only_flex_format_is_gone(tmp_path: Path) -> None:
    flex = tmp_path / "old.toml"
    flex.write_text('time_zone = "+00:00"\n[[step]]\nstart = "00:00"\nend = "24:00"\n'
                    "dose_mcg_per_day = 200\n")
    result = runner.invoke(app, ["pump", "simulate", "--flex", str(flex), "--days", "2"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "old.toml: step" in result.stderr and "only the keys timezone and steps" in result.stderr


def test_daily_dose_and_flex_are_exclusive(tmp_path: Path) -> None:
    result = runner.invoke(app, ["pump", "simulate", "--days", "2"])
    assert result.exit_code == 2 and "exactly one of --daily-dose or --flex" in result.stderr
    # Issue 9.11: the refusal names what was given, not Python's "None".
    assert "= neither given" in result.stderr and "None" not in result.stderr
