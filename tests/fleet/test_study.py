"""Study files are validated whole before anything runs: every problem at `file:line: key`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from itb.cli import app
from itb.fleet.errors import StudyError
from itb.fleet.study import parse_study

from .helpers import STUDIES, study_text

runner = CliRunner()


def test_every_shipped_study_is_valid_and_every_hazard_states_its_source() -> None:
    files = sorted(STUDIES.glob("*.toml"))
    assert len(files) == 6
    for path in files:
        study = parse_study(path.read_text(), str(path))
        hazards = [h for _name, h in study.spec.hazards if h is not None]
        assert hazards and all(h.source.strip() for h in hazards)


def test_all_problems_are_reported_at_once_with_file_line_and_key() -> None:
    text = study_text().replace("patients = 4", "patients = 0").replace(
        "late_refill_share = 0.0", "late_refill_share = 1.5").replace(
        "[care]", "[care]\nrefil_interval_days = 30")
    with pytest.raises(StudyError) as caught:
        parse_study(text, "bad.toml")
    lines = text.splitlines()
    message = str(caught.value)
    for key, needle in (("cohort.patients", "patients = 0"),
                        ("care.late_refill_share", "late_refill_share = 1.5"),
                        ("care.refil_interval_days", "refil_interval_days")):
        line = next(i for i, t in enumerate(lines, 1) if needle in t)
        assert f"bad.toml:{line}: {key}:" in message
    assert "unknown key" in message
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize(("old", "new", "key", "reason"), [
    ("child = 0.1 }", "child = 0.2 }", "cohort.origin", "add up to 1"),
    ("[care]", "[care]\nlow_reservoir_alarm_ml = 9", "care.low_reservoir_alarm_ml",
     "0.5 to 5 mL"),
    ("[care]", "[care]\nrefill_margin_days = 95", "care.refill_margin_days", "less than"),
    ("years = 1", "years = 0.00001", "study.years", "whole number of hours"),
    ('seed = 11', 'seed = "x"', "study.seed", "integer"),
])
def test_a_bad_value_names_the_key_and_the_rule(old: str, new: str, key: str,
                                                reason: str) -> None:
    with pytest.raises(StudyError) as caught:
        parse_study(study_text().replace(old, new), "s.toml")
    assert key in str(caught.value) and reason in str(caught.value)


def test_a_hazard_without_its_source_is_refused() -> None:
    text = study_text(pocket=0.01).replace('source = "unconfirmed (test)"\n', "")
    with pytest.raises(StudyError, match=r"hazards\.pocket_fill\.source: missing"):
        parse_study(text, "s.toml")


def test_the_cli_refuses_a_bad_study_in_two_lines_exit_2_and_writes_nothing(
        tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(study_text().replace("patients = 4", "patients = -1"))
    out = tmp_path / "out"
    result = runner.invoke(app, ["fleet", "run", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "bad.toml:9: cohort.patients:" in result.output
    assert result.output.splitlines()[0].startswith("Error: ")
    assert result.output.splitlines()[-1].startswith("Next: ")
    assert "Traceback" not in result.output and not out.exists()


def test_the_cli_refuses_workers_and_scheduler_together(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(study_text())
    result = runner.invoke(app, ["fleet", "run", str(good), "--workers", "2",
                                 "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "cannot be given together" in result.output
