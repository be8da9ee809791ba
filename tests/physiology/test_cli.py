"""`itb triage` through the real command line (typer's runner on itb.cli.app)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from itb.cli import app
from itb.physiology.symptoms import SYMPTOM_NAMES

runner = CliRunner()


def test_json_output_for_a_withdrawal_sign_with_an_alarm() -> None:
    result = runner.invoke(app, ["triage", "--symptom", "itchy-skin", "--symptom", "sweating",
                                 "--alarm-heard", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["disposition"] == "emergency"
    assert out["causes"][:2] == ["withdrawal", "pump-or-catheter-problem"]
    assert out["reason"] and out["tell_the_team"]


def test_text_output_names_the_disposition_and_what_to_tell() -> None:
    result = runner.invoke(app, ["triage", "-s", "swelling-over-pump", "--days-since-implant",
                                 "5"])
    assert result.exit_code == 0
    assert result.stdout.startswith("CALL THE CARE TEAM")
    assert "Tell the team:" in result.stdout and "swelling over the pump" in result.stdout


def test_pump_facts_sharpen_the_cause() -> None:
    result = runner.invoke(app, ["triage", "-s", "drowsiness", "--hours-since-program-change",
                                 "3", "--json"])
    assert json.loads(result.stdout)["causes"][0] == "overdose"
    result = runner.invoke(app, ["triage", "-s", "sleepiness", "--days-since-refill", "20",
                                 "--json"])
    assert json.loads(result.stdout)["disposition"] == "routine"


def test_list_prints_the_known_names_one_a_line() -> None:
    result = runner.invoke(app, ["triage", "--list"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == list(SYMPTOM_NAMES)


def test_unknown_symptom_exits_2_listing_the_known_names_and_prints_nothing_else() -> None:
    result = runner.invoke(app, ["triage", "-s", "itchy-skin", "-s", "achy", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "achy" in result.stderr and "itchy-skin" in result.stderr
    assert "Traceback" not in result.output


def test_bad_number_exits_2_naming_the_field() -> None:
    result = runner.invoke(app, ["triage", "-s", "fever", "--days-since-refill", "two"])
    assert result.exit_code == 2
    assert "days_since_refill" in result.stderr


def test_nothing_to_triage_exits_2() -> None:
    result = runner.invoke(app, ["triage"])
    assert result.exit_code == 2
    assert "--symptom" in result.stderr


def test_alarm_tone_alone_is_accepted_and_bad_tone_refused() -> None:
    ok = runner.invoke(app, ["triage", "--alarm-tone", "two-tone", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["disposition"] == "call-care-team"
    bad = runner.invoke(app, ["triage", "--alarm-tone", "loud"])
    assert bad.exit_code == 2 and "alarm_tone" in bad.stderr


def test_installed_itb_command_runs_triage() -> None:
    # The real entry point, as a person would run it.
    import subprocess
    import sys
    from pathlib import Path

    itb = Path(sys.executable).parent / "itb"
    done = subprocess.run([str(itb), "triage", "-s", "difficulty-breathing", "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["disposition"] == "emergency"
    bad = subprocess.run([str(itb), "triage", "-s", "nope"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr


def test_list_with_other_options_is_refused_not_silently_ignored() -> None:
    result = runner.invoke(app, ["triage", "--list", "-s", "fever"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "--list" in result.stderr and "--symptom" in result.stderr


def test_odd_numbers_for_pump_facts_exit_2_with_one_sentence() -> None:
    for value in ("NaN", "-inf", "1e999999999", "", "\u0663", "-1", "1e99"):
        result = runner.invoke(app, ["triage", "-s", "fever", "--days-since-refill", value])
        assert result.exit_code == 2, (value, result.output)
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 2, value
        assert "days_since_refill" in result.stderr, value


def test_symptom_names_are_case_insensitive_on_the_command_line() -> None:
    # Issue 9.15.
    result = runner.invoke(app, ["triage", "-s", "Fever", "-s", "NECK-STIFFNESS", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["symptoms"] == ["fever", "neck-stiffness"]
    assert out["disposition"] == "emergency" and out["causes"][0] == "meningitis"
