"""`itb calc` through the real CLI (Typer's CliRunner on the top-level app)."""

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itb.cli import app

runner = CliRunner()
NOW = "2026-01-01T08:00:00Z"


def run(*args: str):
    return runner.invoke(app, ["calc", *args])


def test_refill_json_worked_example_exact_values() -> None:
    result = run("refill", "--reservoir-ml", "20", "--concentration", "500", "--daily-dose", "300",
                 "--alarm-ml", "2", "--now", NOW, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["flow_ml_per_day"] == "0.6"
    assert data["days_to_alarm"] == "30"
    assert data["days_to_empty"] == "100/3"
    assert data["alarm_at"] == "2026-01-31T08:00:00+00:00"
    assert data["empty_at"] == "2026-02-03T16:00:00+00:00"
    assert data["refill_by"] == "2026-01-24T08:00:00+00:00"


def test_refill_readable_output_names_the_rounding() -> None:
    result = run("refill", "--reservoir-ml", "20", "--concentration", "500", "--daily-dose", "300",
                 "--alarm-ml", "2", "--now", NOW)
    assert result.exit_code == 0
    assert "33.333 (exact 100/3)" in result.stdout
    assert "half-to-even" in result.stdout


def test_refill_with_flex_file(tmp_path: Path) -> None:
    flex = tmp_path / "flex.toml"
    flex.write_text('timezone = "UTC"\n[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 600\n'
                    '[[steps]]\nstart = "22:00"\ndose_mcg_per_day = 120\n')
    result = run("refill", "--reservoir-ml", "0.05", "--concentration", "500", "--alarm-ml", "0",
                 "--flex", str(flex), "--now", "2026-01-01T22:00:00Z", "--margin-days", "0",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["seconds_to_empty"] == "18000"  # 25 mcg at the night rate of 120 mcg/day
    assert data["daily_dose_mcg"] == "420"
    assert data["flex"] is True


def test_refill_flex_daily_dose_must_match_schedule_total(tmp_path: Path) -> None:
    flex = tmp_path / "flex.toml"
    flex.write_text('timezone = "UTC"\n[[steps]]\nstart = "00:00"\ndose_mcg_per_day = 300\n')
    result = run("refill", "--reservoir-ml", "20", "--concentration", "500", "--alarm-ml", "2",
                 "--flex", str(flex), "--daily-dose", "400", "--now", NOW, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "daily_dose_mcg" in result.stderr


def test_flex_file_error_names_file_key_and_reason(tmp_path: Path) -> None:
    flex = tmp_path / "bad.toml"
    flex.write_text('timezone = "UTC"\n[[steps]]\nstart = "25:00"\ndose_mcg_per_day = 300\n')
    result = run("refill", "--reservoir-ml", "20", "--concentration", "500", "--alarm-ml", "2",
                 "--flex", str(flex), "--now", NOW)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{flex}: steps[0].start" in result.stderr


def test_missing_flex_file_is_one_clear_error(tmp_path: Path) -> None:
    result = run("rate", "--concentration", "500", "--flex", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert "nope.toml" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ("refill", "--reservoir-ml", "20", "--concentration", "0", "--daily-dose", "300",
     "--alarm-ml", "2", "--now", NOW),
    ("refill", "--reservoir-ml", "20", "--concentration", "500", "--daily-dose", "300",
     "--alarm-ml", "2", "--now", "2026-01-01T08:00:00"),
    ("refill", "--reservoir-ml", "20", "--concentration", "500", "--alarm-ml", "2"),
    ("refill", "--reservoir-ml", "2", "--concentration", "500", "--daily-dose", "300",
     "--alarm-ml", "2", "--now", NOW),
    ("rate", "--concentration", "500"),
    ("titrate", "--current", "400", "--proposed", "600", "--origin", "spinal",
     "--age-group", "adult"),
    ("titrate", "--current", "400", "--proposed", "450", "--origin", "spinal"),
    ("refill-check", "--expected-ml", "6", "--withdrawn-ml", "3", "--fill-ml", "20",
     "--capacity-ml", "20"),
    ("refill-check", "--expected-ml", "2", "--withdrawn-ml", "2", "--fill-ml", "21",
     "--capacity-ml", "20"),
    ("bridge", "--old-concentration", "500", "--new-concentration", "500", "--daily-dose", "300",
     "--pump-tubing-ml", "0.2", "--catheter-ml", "0.1"),
    ("bridge", "--old-concentration", "500", "--new-concentration", "2000", "--daily-dose", "300",
     "--pump-tubing-ml", "0.2"),
    ("initial-dose", "--screening-dose", "60", "--effect-hours", "10"),
    ("dilution", "--target", "3000", "--total-ml", "20", "--stock", "2000"),
    ("battery", "--remaining-nc", "-1", "--flow-ml-per-day", "0.6", "--idle-na", "8000",
     "--stroke-nc", "43200", "--stroke-nl", "250"),
    ("candidate", "--weight-kg", "0", "--severe", "--oral-inadequate"),
])
def test_invalid_input_exits_2_with_one_message_and_no_output(args: tuple[str, ...]) -> None:
    result = run(*args, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert len(result.stderr.strip().splitlines()) == 2  # the error, then "Next: ..."
    assert "Traceback" not in result.stderr


def test_refill_check_discrepancy_message_lists_causes() -> None:
    result = run("refill-check", "--expected-ml", "6", "--withdrawn-ml", "3", "--fill-ml", "20",
                 "--capacity-ml", "20")
    assert "pocket fill" in result.stderr and "refill blocked" in result.stderr


def test_refill_check_accepted_json() -> None:
    result = run("refill-check", "--expected-ml", "4.5", "--withdrawn-ml", "3.8", "--fill-ml",
                 "20", "--capacity-ml", "20", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["discrepancy_ml"] == "-0.7"


def test_rate_json() -> None:
    result = run("rate", "--concentration", "2000", "--daily-dose", "300", "--json")
    data = json.loads(result.stdout)
    assert data["flow_ml_per_day"] == "0.15" and data["dose_mcg_per_hour"] == "12.5"


def test_bridge_json_from_catheter_length() -> None:
    result = run("bridge", "--old-concentration", "500", "--new-concentration", "2000",
                 "--daily-dose", "300", "--pump-tubing-ml", "0.2", "--catheter-length-cm", "100",
                 "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dead_volume_ml"] == "0.46"  # 0.2 + 100 cm x 0.0026 mL/cm
    assert data["bridge_rate_ml_per_day"] == "0.6"
    assert data["new_rate_ml_per_day"] == "0.15"
    assert Fraction(data["bridge_duration_h"]) == Fraction("0.46") / Fraction("0.6") * 24


def test_titrate_accepts_and_reports_next_change_time() -> None:
    result = run("titrate", "--current", "400", "--proposed", "480", "--origin", "spinal",
                 "--age-years", "40", "--last-change", "2026-01-01T08:00:00Z",
                 "--now", "2026-01-02T08:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["change_percent"] == "20"
    assert data["next_change_not_before"] == "2026-01-03T08:00:00+00:00"


def test_titrate_too_soon() -> None:
    result = run("titrate", "--current", "400", "--proposed", "480", "--origin", "spinal",
                 "--age-group", "adult", "--last-change", "2026-01-01T08:00:00Z",
                 "--now", "2026-01-02T07:00:00Z")
    assert result.exit_code == 2 and "24 hours" in result.stderr


def test_initial_dose_json() -> None:
    result = run("initial-dose", "--screening-dose", "75", "--effect-hours", "6", "--json")
    assert json.loads(result.stdout)["daily_dose_mcg"] == "150"


def test_screening_protocol_and_trial_file(tmp_path: Path) -> None:
    protocol = run("screening", "--json")
    assert [b["dose_mcg"] for b in json.loads(protocol.stdout)["boluses"]] == ["50", "75", "100"]
    trial = tmp_path / "trial.toml"
    trial.write_text(
        "[[bolus]]\ndose_mcg = 50\ngiven_at = 2026-03-02T09:00:00Z\ninjection_s = 90\n"
        'observed_h = 8\nashworth_before = "3"\nashworth_after = "3"\n'
        "spasm_frequency_before = 3\nspasm_frequency_after = 3\n"
        "[[bolus]]\ndose_mcg = 75\ngiven_at = 2026-03-03T09:00:00Z\ninjection_s = 90\n"
        'observed_h = 10\nashworth_before = "3"\nashworth_after = "1+"\n'
        "spasm_frequency_before = 3\nspasm_frequency_after = 1\neffect_duration_h = 9\n")
    result = run("screening", "--trial", str(trial), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["decision"] == "candidate"
    assert data["initial_daily_dose_mcg"] == "75"


def test_screening_trial_file_errors(tmp_path: Path) -> None:
    trial = tmp_path / "trial.toml"
    trial.write_text("[[bolus]]\ndose_mcg = 50\n")
    result = run("screening", "--trial", str(trial))
    assert result.exit_code == 2 and "bolus[0]" in result.stderr


GOOD_BOLUS = ("dose_mcg = 50\ngiven_at = 2026-03-02T09:00:00Z\ninjection_s = 90\n"
              'observed_h = 8\nashworth_before = "3"\nspasm_frequency_before = 3\n'
              "spasm_frequency_after = 3\n")


@pytest.mark.parametrize(("content", "where"), [
    (b"bolus = [1, 2]\n", "bolus[0] = 1 "),  # was a TypeError traceback
    (b"\xff\xfe[[bolus]]\n", "not UTF-8"),  # was a UnicodeDecodeError traceback
    (("[[bolus]]\n" + GOOD_BOLUS + 'ashworth_after = "9"\n').encode(),
     "bolus[0].ashworth_after = 9 "),
    (("[[bolus]]\n" + GOOD_BOLUS.replace("injection_s = 90", "injection_s = 9.5")
      + 'ashworth_after = "3"\n').encode(), "bolus[0].injection_s = 9.5 "),
    (("[[bolus]]\n" + GOOD_BOLUS.replace("spasm_frequency_after = 3", "spasm_frequency_after = 7")
      + 'ashworth_after = "3"\n').encode(), "bolus[0].spasm_frequency_after = 7 "),
    (("[[bolus]]\n" + GOOD_BOLUS + 'ashworth_after = "3"\n' + "[[bolus]]\n"
      + GOOD_BOLUS + 'ashworth_after = "3"\n').encode(), "bolus[1].dose_mcg = 50 "),
])
def test_trial_file_errors_name_the_file_the_bolus_and_the_key(tmp_path: Path, content: bytes,
                                                               where: str) -> None:
    trial = tmp_path / "trial.toml"
    trial.write_bytes(content)
    result = run("screening", "--trial", str(trial), "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 2
    assert result.stderr.startswith(f"Error: {trial}") and where in result.stderr


def test_flex_file_that_is_not_utf8_is_one_sentence(tmp_path: Path) -> None:
    flex = tmp_path / "flex.toml"
    flex.write_bytes(b"\xfftimezone = 'UTC'\n")
    result = run("rate", "--concentration", "500", "--flex", str(flex))
    assert result.exit_code == 2 and result.stdout == ""
    assert str(flex) in result.stderr and "not UTF-8" in result.stderr


def test_candidate_json() -> None:
    result = run("candidate", "--weight-kg", "12", "--severe", "--oral-inadequate", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["eligible"] is False


def test_battery_json() -> None:
    result = run("battery", "--remaining-nc", str(9200 * 86400 * 1000), "--flow-ml-per-day",
                 "0.6", "--idle-na", "8000", "--stroke-nc", "43200", "--stroke-nl", "250",
                 "--now", "2026-01-01T00:00:00Z", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["days_to_eri"] == "910"
    assert data["eri_at"] == "2028-06-29T00:00:00+00:00"


def test_dilution_readable() -> None:
    result = run("dilution", "--target", "100", "--total-ml", "20", "--stock", "300")
    assert result.exit_code == 0
    assert "exact 20/3" in result.stdout


def test_drugs_lists_catalogue() -> None:
    data = json.loads(run("drugs", "--json").stdout)
    assert {"brand": "Gablofen", "concentration_mcg_per_ml": "1000", "screening_only": False,
            "source": "GAB-LABEL"} in data["products"]


@pytest.mark.parametrize(("args", "field", "value"), [
    (("rate", "--concentration", "500"), "--daily-dose / --flex", "neither given"),
    (("rate", "--concentration", "500", "--daily-dose", "300", "--flex", "f.toml"),
     "--daily-dose / --flex", "both given"),
    (("refill", "--reservoir-ml", "20", "--concentration", "500", "--alarm-ml", "2"),
     "--daily-dose / --flex", "neither given"),
    (("titrate", "--current", "400", "--proposed", "450", "--origin", "spinal"),
     "--age-group / --age-years", "neither given"),
    (("bridge", "--old-concentration", "500", "--new-concentration", "2000", "--daily-dose",
      "300", "--pump-tubing-ml", "0.2", "--catheter-ml", "0.1", "--catheter-length-cm", "50"),
     "--catheter-ml / --catheter-length-cm", "both given"),
])
def test_option_choices_are_refused_in_the_field_value_allowed_form(
        args: tuple[str, ...], field: str, value: str) -> None:
    result = run(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"Error: {field} = {value} is not allowed: allowed is ")
