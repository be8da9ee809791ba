"""The reminder-policy study end to end: the real `itb` command as a subprocess runs
studies/reminder-policies.toml (three arms) on 20 patients × 1 year, then its report and a
comparison of two arms."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import STUDIES

pytestmark = pytest.mark.e2e
ITB = Path(sys.executable).parent / "itb"
STUDY = STUDIES / "reminder-policies.toml"


def _itb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ITB), *args], capture_output=True, text=True, timeout=600,
                          check=False)


def test_the_reminder_policy_study_runs_its_arms_and_reports_them(tmp_path: Path) -> None:
    out = tmp_path / "reminders"
    done = _itb("fleet", "run", str(STUDY), "--out", str(out), "--patients", "20",
                "--workers", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "arms.json").read_text())
    assert list(result["arms"]) == ["none", "sms", "sms-portal"]
    assert result["study"]["patients"] == 20
    for name, arm in result["arms"].items():
        assert name in done.stdout
        for rate in ("refills_missed", "escalations", "severe_withdrawal"):
            low, high = arm[rate]["ci95"]
            assert low <= arm[rate]["per_1000_patient_years"] <= high
        days = arm["withdrawal_days_per_patient_year"]
        assert days["ci95"][0] <= days["mean"] <= days["ci95"][1]
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["study"]["arm"] == name and summary["study"]["patients"] == 20
    none, sms = result["arms"]["none"], result["arms"]["sms"]
    assert none["reminders"] == 0 < sms["reminders"]
    assert none["care"] == {"appointments": none["care"]["appointments"]}
    # same patients in every arm: the arms differ only in what the reminders change
    assert none["patient_years"] == sms["patient_years"]

    report = _itb("fleet", "report", str(out))
    assert report.returncode == 0, report.stderr
    html = (out / "report.html").read_text()
    assert "sms-portal/report.html" in html and "refills missed" in html
    assert (out / "sms" / "report.html").is_file()

    compared = _itb("fleet", "compare", str(out / "none"), str(out / "sms"), "--json")
    assert compared.returncode == 0, compared.stderr
    rows = json.loads(compared.stdout)["incidence"]
    assert rows["refills_missed"]["a"] == none["refills_missed"]


def test_comparing_a_study_with_arms_is_refused_with_the_next_step() -> None:
    done = _itb("fleet", "compare", str(STUDY), str(STUDY))
    assert done.returncode == 2
    assert "Error:" in done.stderr + done.stdout and "has arms" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
