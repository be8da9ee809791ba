"""interrogate and program through the real CLI, against an in-process pump over the wand link."""

from __future__ import annotations

import json
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from tests.programmer.conftest import IMPLANTED, SERIAL, Cli, make_pump

from itb.pump import ContinuousTherapy, FlexTherapy
from itb.therapy.units import exact


def journal(cli: Cli) -> list[dict]:
    return [json.loads(line) for line in cli.session_file.read_text().splitlines()]


def test_interrogate_json_has_the_issue_fields_with_exact_values(cli: Cli) -> None:
    result = cli("interrogate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("serial", "model", "reservoir_estimate_ml", "concentration_mcg_per_ml",
                "daily_dose_mcg", "program", "alarms", "battery_eri_at",
                "low_reservoir_alarm_at"):
        assert key in data
    pump = cli.wand.pump
    assert data["serial"] == SERIAL
    assert data["model"] == "synchromed-ii-20"
    assert exact("r", data["reservoir_estimate_ml"]) == Fraction(pump.reservoir_estimate_nl,
                                                                 1_000_000)
    assert data["concentration_mcg_per_ml"] == "500"
    assert data["daily_dose_mcg"] == "300"
    assert data["program"]["therapy"] == {"type": "continuous", "daily_dose_mcg": "300"}
    assert len(data["dose_table"]) == 24
    assert sum(exact("d", row["dose_mcg"]) for row in data["dose_table"]) == 300
    # Low-reservoir alarm: (estimate - one stroke - 2 mL) at 0.6 mL/day from the pump clock,
    # exactly (the pump may be up to one stroke ahead of the estimate it reports).
    now = IMPLANTED + timedelta(days=25)
    days = (Fraction(pump.reservoir_estimate_nl - pump.model.nominal_stroke_nl, 1_000_000)
            - 2) / Fraction(6, 10)
    expected = now + timedelta(microseconds=int(days * 86_400_000_000))
    assert data["low_reservoir_alarm_at"] == expected.isoformat()
    assert data["battery_eri_at"] > data["pump_time"]
    assert data["alarms"] == []
    assert journal(cli)[-1]["kind"] == "interrogation"


@pytest.mark.req("REQ-PRG-PROJECTION")
def test_interrogate_readable_output_shows_table_battery_and_alarm_date(cli: Cli) -> None:
    result = cli("interrogate")
    assert result.exit_code == 0
    out = result.stdout
    assert SERIAL in out and "expected ERI" in out and "24-hour dose" in out
    assert "Low-reservoir alarm projected" in out and "300 mcg/day" in out


def test_interrogate_lists_alarms_with_kind_critical_and_since(tmp_path: Path) -> None:
    wand = make_pump(days=31)  # past the 2 mL alarm at 30 days
    result = Cli(wand, tmp_path)("interrogate", "--json")
    data = json.loads(result.stdout)
    kinds = {a["kind"]: a for a in data["alarms"]}
    assert "low_reservoir" in kinds
    assert kinds["low_reservoir"]["critical"] is False
    assert kinds["low_reservoir"]["since"].startswith("2026-02-0")
    assert data["low_reservoir_alarm_due"] is True


def test_program_within_the_titration_step_is_sent_and_verified(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "360", "--origin", "spinal", "--age-years", "40",
                 "--yes")
    assert result.exit_code == 0, result.output
    assert "+60 mcg/day (+20%)" in result.stdout
    assert "within the titration rules" in result.stdout
    assert "sent and verified" in result.stdout
    therapy = cli.wand.pump.active_program.therapy
    assert therapy == ContinuousTherapy(Fraction(360))
    entry = journal(cli)[-1]
    assert entry["kind"] == "program" and entry["outcome"] == "done"
    assert entry["details"]["daily_dose_mcg"] == "360"


@pytest.mark.req("REQ-PRG-REVIEW")
def test_program_beyond_the_step_is_refused_and_the_pump_keeps_its_program(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "450", "--origin", "spinal", "--age-years", "40",
                 "--yes")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "more than 300 up to 390 mcg/day" in result.stderr
    assert "--override-reason" in result.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))
    assert journal(cli)[-1]["outcome"] == "refused"


@pytest.mark.req("REQ-PRG-REVIEW")
def test_program_beyond_the_step_with_an_override_reason_is_sent(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "450", "--origin", "spinal", "--age-years", "40",
                 "--override-reason", "severe spasms despite 390; team decision", "--yes")
    assert result.exit_code == 0, result.output
    assert "overridden" in result.stdout
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(450))
    entry = journal(cli)[-1]
    assert entry["outcome"] == "overridden"
    assert entry["details"]["override_reason"] == "severe spasms despite 390; team decision"


def test_cerebral_origin_child_uses_the_smaller_step(cli: Cli) -> None:
    # Children: +5-15% per step (label) -> at most 345 from 300.
    result = cli("program", "--daily-dose", "360", "--origin", "cerebral", "--age-years", "9",
                 "--yes")
    assert result.exit_code == 2
    assert "more than 300 up to 345 mcg/day" in result.stderr


@pytest.mark.req("REQ-PRG-REVIEW")
def test_a_second_change_within_24_hours_needs_an_override(cli: Cli) -> None:
    assert cli("program", "--daily-dose", "330", "--origin", "spinal", "--age-years", "40",
               "--yes").exit_code == 0
    result = cli("program", "--daily-dose", "363", "--origin", "spinal", "--age-years", "40",
                 "--yes")
    assert result.exit_code == 2
    assert "too soon" in result.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(330))


@pytest.mark.req("REQ-PRG-REVIEW")
def test_declining_the_confirmation_sends_nothing(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "360", "--origin", "spinal", "--age-years", "40",
                 input="n\n")
    assert result.exit_code == 1
    assert "nothing was sent" in result.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))
    assert journal(cli)[-1]["outcome"] == "cancelled"


def test_program_needs_the_patient_facts(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "360", "--yes")
    assert result.exit_code == 2
    assert "--origin spinal|cerebral and --age-years N" in result.stderr


@pytest.mark.req("REQ-FLEX-ZONE")
def test_flex_program_from_toml_is_sent_with_its_utc_offset(cli: Cli, tmp_path: Path) -> None:
    flex = tmp_path / "flex.toml"
    # 07:00-22:00 at 360 mcg/day (15 h), 22:00-07:00 at 280 mcg/day (9 h): total 330 mcg/day.
    flex.write_text('timezone = "Europe/Paris"\n[[steps]]\nstart = "07:00"\n'
                    'dose_mcg_per_day = 360\n[[steps]]\nstart = "22:00"\ndose_mcg_per_day = 280\n')
    result = cli("program", "--flex", str(flex), "--origin", "spinal", "--age-years", "40",
                 "--yes")
    assert result.exit_code == 0, result.output
    assert "+30 mcg/day (+10%)" in result.stdout
    assert "reprogram after" in result.stdout
    therapy = cli.wand.pump.active_program.therapy
    assert isinstance(therapy, FlexTherapy)
    assert therapy.utc_offset_minutes == 60  # Paris in winter
    assert [(s.start_s, s.duration_s, s.dose_rate_mcg_per_day) for s in therapy.steps] == [
        (7 * 3600, 15 * 3600, Fraction(360)), (22 * 3600, 9 * 3600, Fraction(280))]
    data = json.loads(cli("interrogate", "--json").stdout)
    assert data["daily_dose_mcg"] == "330"
    rows = {row["hour"]: row["dose_mcg"] for row in data["dose_table"]}
    assert rows["06:00"] == "35/3"  # 280 / 24, exact
    assert rows["07:00"] == "15"


def test_bad_flex_file_is_one_sentence(cli: Cli, tmp_path: Path) -> None:
    flex = tmp_path / "bad.toml"
    flex.write_text('timezone = "UTC"\n[[steps]]\nstart = "25:00"\ndose_mcg_per_day = 300\n')
    result = cli("program", "--flex", str(flex), "--origin", "spinal", "--age-years", "40")
    assert result.exit_code == 2
    assert "steps[0].start" in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(("content", "reason"), [
    (b"a = " + b"[" * 100_000 + b"\n", "nested too deeply"),
    (b"start = \xff\xfe\n", "not UTF-8 text"),
    (b'timezone = "UTC"\n[[steps]]\nstart = "00:00"\ndose_mcg_per_day = ' + b"9" * 5000,
     "4300 digits"),
])
def test_a_hostile_flex_file_is_refused_as_input_not_a_fault(
        cli: Cli, tmp_path: Path, content: bytes, reason: str) -> None:
    flex = tmp_path / "hostile.toml"
    flex.write_bytes(content)
    result = cli("program", "--flex", str(flex), "--origin", "spinal", "--age-years", "40",
                 "--yes")
    assert result.exit_code == 2
    assert "--flex" in result.stderr and reason in result.stderr
    assert "failed unexpectedly" not in result.stderr
    assert cli.wand.sessions == 0  # refused before the pump was read


def test_a_periodic_bolus_flex_file_is_refused_as_a_pump_extension(cli: Cli,
                                                                   tmp_path: Path) -> None:
    # The programmer's figures could not count the bolus: refused by name, nothing sent.
    flex = tmp_path / "bolus.toml"
    flex.write_text('timezone = "UTC"\n[[steps]]\nstart = "00:00"\ndose_mcg_per_day = 300\n'
                    '[[periodic_bolus]]\nstart = "08:00"\ndose_mcg = 20\nduration_minutes = 30\n')
    before = cli.wand.pump.active_program
    result = cli("program", "--flex", str(flex), "--origin", "spinal", "--age-years", "40",
                 "--yes")
    assert result.exit_code == 2 and result.stdout == ""
    assert "periodic_bolus" in result.stderr and "pump-program extension" in result.stderr
    assert cli.wand.pump.active_program == before


def test_pump_refusal_of_a_program_is_a_clear_sentence(cli: Cli) -> None:
    # Within the titration step, but the new hard limit is below the dose itself.
    result = cli("program", "--daily-dose", "360", "--origin", "spinal", "--age-years", "40",
                 "--max-daily-dose", "300", "--yes")
    assert result.exit_code == 2
    assert "The pump refused" in result.stderr and "max_daily_dose_mcg" in result.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))


@pytest.mark.req("REQ-PRG-HARD-LIMIT")
def test_raising_the_hard_limit_above_the_labeled_maximum_needs_an_override(cli: Cli) -> None:
    # The label reports at most 2,003 mcg/day for spinal origin (catalogue.MAINTENANCE).
    before = cli.wand.pump.active_program
    result = cli("program", "--daily-dose", "300", "--origin", "spinal", "--age-years", "40",
                 "--max-daily-dose", "100000", "--yes")
    assert result.exit_code == 2, result.output
    assert "max daily dose (hard limit)" in result.stderr and "2003" in result.stderr
    assert cli.wand.pump.active_program == before
    # Up to the labeled maximum needs no override.
    result = cli("program", "--daily-dose", "300", "--origin", "spinal", "--age-years", "40",
                 "--max-daily-dose", "2003", "--yes")
    assert result.exit_code == 0, result.output
    assert cli.wand.pump.active_program.limits.max_daily_dose_mcg == 2003


@pytest.mark.req("REQ-PRG-HARD-LIMIT")
def test_a_hard_limit_above_the_labeled_maximum_goes_ahead_with_a_reason(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "300", "--origin", "spinal", "--age-years", "40",
                 "--max-daily-dose", "2400", "--override-reason",
                 "documented refractory spasticity, neurosurgery agrees", "--yes")
    assert result.exit_code == 0, result.output
    assert cli.wand.pump.active_program.limits.max_daily_dose_mcg == 2400
    entry = journal(cli)[-1]
    assert entry["details"]["override_reason"].startswith("documented refractory")
    assert any("hard limit" in v for v in entry["details"]["violations"])


@pytest.mark.req("REQ-PRG-HARD-LIMIT")
def test_lowering_or_keeping_the_hard_limit_never_needs_an_override(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "300", "--origin", "spinal", "--age-years", "40",
                 "--max-daily-dose", "400", "--yes")
    assert result.exit_code == 0, result.output
    assert cli.wand.pump.active_program.limits.max_daily_dose_mcg == 400
