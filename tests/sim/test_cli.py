"""`itb sim run` and `itb sim validate` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from itb.cli import app

from .helpers import SCENARIOS

runner = CliRunner()


def test_run_writes_the_outputs_and_prints_the_summary_as_json(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["sim", "run", str(SCENARIOS / "pocket-fill.toml"),
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["worst"]["overdose"]["stage"] >= 1  # 40 mg systemic: mild (issue 16.6)
    assert sorted(p.name for p in out.iterdir()) == ["events.csv", "summary.json",
                                                     "timeline.csv", "timeline.png"]
    assert json.loads((out / "summary.json").read_text()) == summary
    header = (out / "timeline.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["time", "hours", "reservoir_true_ml", "reservoir_estimate_ml"]
    rows = (out / "timeline.csv").read_text().count("\n") - 1
    assert rows == 5 * 288  # five days at 5-minute resolution
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "refill" in (out / "events.csv").read_text()


def test_run_prints_a_readable_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sim", "run", str(SCENARIOS / "mri-motor-stall.toml"),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "First alarm" in result.output and "motor_stall" in result.output


def test_a_bad_scenario_exits_2_with_file_line_and_key_and_writes_nothing(
        tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = (SCENARIOS / "pocket-fill.toml").read_text().replace(
        'model = "synchromed-ii-20"', 'model = "synchromed-iii"')
    bad.write_text(text)
    out = tmp_path / "out"
    result = runner.invoke(app, ["sim", "run", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "synchromed-iii" in t)
    assert f"bad.toml:{line}: pump.model: must be one of" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_validate_checks_the_whole_library() -> None:
    files = sorted(str(p) for p in SCENARIOS.glob("*.toml"))
    result = runner.invoke(app, ["sim", "validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == len(files)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sim", "run", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2
    assert "cannot read the scenario file" in result.output


def test_deeply_nested_toml_is_refused_without_a_traceback(tmp_path: Path) -> None:
    scenario = tmp_path / "deep.toml"
    scenario.write_text("a = " + "[" * 100_000 + "\n", encoding="utf-8")
    result = runner.invoke(app, ["sim", "validate", str(scenario)])
    assert result.exit_code == 2
    assert "nested too deeply" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a RecursionError


def test_an_oversized_scenario_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    scenario = tmp_path / "huge.toml"
    event = '[[timeline]]\nday = 1\nevent = "refill"\nfill_ml = 1\n'
    scenario.write_text(event * 50_000, encoding="utf-8")  # about 2.2 MB
    result = runner.invoke(app, ["sim", "run", str(scenario), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "larger than 1048576 bytes" in result.output
    assert not (tmp_path / "o").exists()


def test_an_integer_of_thousands_of_digits_is_refused_without_a_traceback(
        tmp_path: Path) -> None:
    text = (SCENARIOS / "missed-refill.toml").read_text(encoding="utf-8")
    scenario = tmp_path / "digits.toml"
    scenario.write_text(text.replace("duration_days = 50", "duration_days = " + "9" * 5000),
                        encoding="utf-8")
    result = runner.invoke(app, ["sim", "validate", str(scenario)])
    assert result.exit_code == 2
    assert "not valid TOML" in result.output and "4300 digits" in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["sim", "validate", str(fifo)])  # would block if opened
    assert result.exit_code == 2
    assert "not a regular file" in result.output
