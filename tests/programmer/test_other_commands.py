"""bolus, stop/resume, alarms, log, set-alarm-volume, set-clock and report, in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from tests.programmer.conftest import IMPLANTED, Cli, make_pump

from itb.pump import AlarmKind
from itb.therapy.units import to_exact_str


def test_bolus_within_limits_runs_on_the_pump(cli: Cli) -> None:
    result = cli("bolus", "--dose", "50", "--duration-min", "30", "--yes")
    assert result.exit_code == 0, result.output
    assert "0.1 mL at 500 mcg/mL" in result.stdout
    overlay = cli.wand.pump.overlay
    assert overlay is not None and overlay.kind == "clinician"
    assert overlay.volume_nl == 100_000 and overlay.end_s - overlay.started_s == 1800


@pytest.mark.req("REQ-PRG-HARD-LIMIT")
def test_bolus_over_the_maximum_bolus_is_refused_before_sending(cli: Cli) -> None:
    result = cli("bolus", "--dose", "150", "--duration-min", "30", "--yes")
    assert result.exit_code == 2
    assert "more than 0 to 100 mcg (the program's maximum bolus)" in result.stderr
    assert cli.wand.pump.overlay is None


@pytest.mark.req("REQ-PUMP-LIMITS")
def test_bolus_over_the_24_hour_limit_is_refused_by_the_pump(tmp_path: Path) -> None:
    cli = Cli(make_pump(max_daily=330), tmp_path)  # 300 mcg/day programmed, 330 per 24 h
    result = cli("bolus", "--dose", "50", "--duration-min", "30", "--yes")
    assert result.exit_code == 2
    assert "The pump refused" in result.stderr
    assert cli.wand.pump.overlay is None


def test_bolus_duration_must_be_whole_seconds(cli: Cli) -> None:
    result = cli("bolus", "--dose", "50", "--duration-min", "0.0001", "--yes")
    assert result.exit_code == 2 and "duration_min" in result.stderr


@pytest.mark.req("REQ-THER-LARGE-CUT")
def test_stop_warns_and_resume_restarts(cli: Cli) -> None:
    declined = cli("stop", input="n\n")
    assert declined.exit_code == 1 and not cli.wand.pump.stopped
    stopped = cli("stop", "--yes")
    assert stopped.exit_code == 0 and "withdrawal" in stopped.stdout
    assert cli.wand.pump.stopped
    resumed = cli("resume", "--yes")
    assert resumed.exit_code == 0 and not cli.wand.pump.stopped
    again = cli("resume", "--yes")
    assert again.exit_code == 2 and "not stopped" in again.stderr


def test_alarms_list_and_acknowledge(tmp_path: Path) -> None:
    cli = Cli(make_pump(days=31), tmp_path)
    listed = cli("alarms", "--json")
    alarms = json.loads(listed.stdout)["alarms"]
    assert [a["kind"] for a in alarms] == ["low_reservoir"]
    assert alarms[0]["sounding"] is True and alarms[0]["critical"] is False
    acked = cli("alarms", "--ack", "low_reservoir", "--json")
    assert acked.exit_code == 0
    data = json.loads(acked.stdout)
    assert data["silenced"] == 1 and data["alarms"][0]["acknowledged"] is True
    assert cli.wand.pump.alarms[AlarmKind.LOW_RESERVOIR].sounding_from_s is None
    readable = cli("alarms")
    assert "low_reservoir" in readable.stdout


def test_log_filters_by_kind_and_time_and_pages(cli: Cli) -> None:
    for dose in ("330", "360"):
        cli("program", "--daily-dose", dose, "--origin", "spinal", "--age-years", "40",
            "--override-reason", "test of the log", "--yes")
    by_kind = json.loads(cli("log", "--kind", "program_changed", "--json").stdout)
    assert by_kind["matching"] == 3  # implant + two changes
    assert all(e["kind"] == "program_changed" for e in by_kind["entries"])
    indices = [e["index"] for e in by_kind["entries"]]
    assert indices == sorted(indices, reverse=True)  # newest first
    since = (IMPLANTED + timedelta(days=1)).isoformat()
    recent = json.loads(cli("log", "--kind", "program_changed", "--since", since,
                            "--json").stdout)
    assert recent["matching"] == 2
    paged = json.loads(cli("log", "--page-size", "2", "--page", "2", "--json").stdout)
    assert paged["page"] == 2 and len(paged["entries"]) == 2
    too_far = cli("log", "--page", "999")
    assert too_far.exit_code == 2 and "--page" in too_far.stderr
    bad_time = cli("log", "--since", "yesterday")
    assert bad_time.exit_code == 2 and "ISO-8601" in bad_time.stderr
    table = cli("log", "--page-size", "3")
    assert table.exit_code == 0 and "page 1 of" in table.stdout


def test_set_alarm_volume_within_the_model_range(cli: Cli) -> None:
    result = cli("set-alarm-volume", "--ml", "3", "--yes")
    assert result.exit_code == 0, result.output
    assert cli.wand.pump.low_reservoir_alarm_nl == 3_000_000
    outside = cli("set-alarm-volume", "--ml", "9", "--yes")
    assert outside.exit_code == 2 and "0.5 mL to 5 mL" in outside.stderr
    assert cli.wand.pump.low_reservoir_alarm_nl == 3_000_000


@pytest.mark.req("REQ-PUMP-CLOCK")
def test_set_clock_to_a_time_and_the_choice_is_exclusive(cli: Cli) -> None:
    target = IMPLANTED + timedelta(days=25, minutes=7)
    result = cli("set-clock", "--to", target.isoformat(), "--yes")
    assert result.exit_code == 0, result.output
    assert cli.wand.pump.firmware_clock_s == int(target.timestamp())
    both = cli("set-clock", "--to", target.isoformat(), "--host-clock", "--yes")
    assert both.exit_code == 2 and "exactly one of --to or --host-clock" in both.stderr


def test_report_is_self_contained_html_with_the_session(cli: Cli, tmp_path: Path) -> None:
    cli("interrogate")
    withdrawn = to_exact_str(Fraction(cli.wand.pump.physical.reservoir_nl, 1_000_000))
    cli("refill", "--withdrawn-ml", withdrawn, "--concentration", "500", "--added-ml", "20",
        "--yes")
    cli("program", "--daily-dose", "360", "--origin", "spinal", "--age-years", "40", "--yes")
    out = tmp_path / "out" / "report.html"
    result = cli("report", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    html = out.read_text()
    assert "Programming session report, pump T-100" in html
    assert 'id="interrogation"' in html and 'id="dose-table"' in html
    assert "Refill record" in html and "refilled" in html
    assert "simple continuous, 360 mcg/day (from 300 mcg/day)" in html
    assert html.count("data:image/png;base64,") == 2
    assert "<script" not in html


def test_report_without_a_journal_is_an_error(cli: Cli, tmp_path: Path) -> None:
    """Issue 9.13: a missing journal is an error, not an empty report."""
    out = tmp_path / "r.html"
    result = cli("report", "--out", str(out))
    assert result.exit_code == 2
    assert "session file" in result.stderr and "an existing session journal" in result.stderr
    assert not out.exists() and not cli.session_file.exists()


def test_report_shows_the_latest_session_and_all_with_a_flag(cli: Cli, tmp_path: Path) -> None:
    """Issue 9.13: entries carry a session id; an earlier visit is not in the default report."""
    from datetime import UTC, datetime

    from itb.programmer.journal import Journal
    earlier = Journal(cli.session_file)
    earlier.append(at=datetime(2025, 6, 1, 9, tzinfo=UTC), kind="bolus", serial="T-100",
                   pump_time=None, outcome="done", summary="EARLIER VISIT bolus 20 mcg")
    assert cli("stop", "--yes").exit_code == 0
    entries = Journal(cli.session_file).entries()
    assert entries[0].session is not None and entries[-1].session is not None
    assert entries[0].session != entries[-1].session
    assert len({e.session for e in entries[1:]}) == 1  # this visit: one session
    out = tmp_path / "r.html"
    assert cli("report", "--out", str(out)).exit_code == 0
    html = out.read_text()
    assert "EARLIER VISIT" not in html and "stop" in html
    assert cli("report", "--out", str(out), "--all").exit_code == 0
    assert "EARLIER VISIT" in out.read_text()


def test_report_with_only_an_interrogation_says_no_changes(cli: Cli, tmp_path: Path) -> None:
    assert cli("interrogate").exit_code == 0
    out = tmp_path / "r.html"
    assert cli("report", "--out", str(out)).exit_code == 0
    html = out.read_text()
    assert "No changes were made in this session." in html
    assert "No refill in this session." in html


@pytest.mark.req("REQ-PRG-JOURNAL")
@pytest.mark.parametrize("damage", ["not json\n", "[1]\n", '"text"\n', "[" * 100_000 + "\n"])
def test_a_damaged_session_journal_is_one_sentence(cli: Cli, tmp_path: Path,
                                                    damage: str) -> None:
    cli.session_file.write_text(damage)
    result = cli("report", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2 and "session file" in result.stderr
    assert "line 1" in result.stderr and "failed unexpectedly" not in result.stderr
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", [
    ["interrogate"], ["alarms"], ["log"], ["stop", "--yes"], ["resume", "--yes"],
    ["bolus", "--dose", "1", "--duration-min", "10", "--yes"],
    ["set-alarm-volume", "--ml", "2", "--yes"], ["set-clock", "--host-clock", "--yes"],
    ["report", "--out", "x.html"], ["refill", "--yes"],
    ["program", "--daily-dose", "330", "--origin", "spinal", "--age-years", "40", "--yes"],
])
def test_every_command_takes_the_connection_options(command: list[str]) -> None:
    from typer.testing import CliRunner

    from itb.programmer.cli import app

    help_text = CliRunner().invoke(app, [command[0], "--help"]).stdout
    for option in ("--host", "--port", "--serial", "--key-file", "--session"):
        assert option in help_text


def test_host_clock_is_utc_now(cli: Cli) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    assert cli("set-clock", "--host-clock", "--yes").exit_code == 0
    clock = datetime.fromtimestamp(cli.wand.pump.firmware_clock_s, UTC)
    assert before <= clock <= datetime.now(UTC)


@pytest.mark.req("REQ-PRG-JOURNAL")
def test_an_unwritable_session_file_is_named_not_blamed_on_the_pump(wand, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from itb.programmer.cli import app

    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(app, ["interrogate", "--session", str(blocker / "s.jsonl")],
                                obj=wand.maker)
    assert result.exit_code == 2
    assert "session file" in result.stderr and "Cannot reach" not in result.stderr


def test_a_weekly_program_set_elsewhere_is_shown_from_the_pump_mean_flow(cli: Cli) -> None:
    from itb.pump import FlexStep, FlexTherapy, HardLimits, Program

    day = 86_400
    # Weekdays 300 mcg/day, weekend 400 mcg/day: mean (5 x 300 + 2 x 400) / 7 = 2,300 / 7.
    weekly = FlexTherapy((FlexStep(0, 5 * day, Fraction(300)), FlexStep(5 * day, 2 * day,
                                                                        Fraction(400))),
                         period="weekly")
    cli.wand.pump.program(Program(weekly, HardLimits(Fraction(600), Fraction(100))))
    data = json.loads(cli("interrogate", "--json").stdout)
    assert data["daily_dose_mcg"] == "2300/7"
    assert data["dose_table"] is None and "mean flow" in data["daily_dose_source"]
    assert data["low_reservoir_alarm_at"] is not None
    readable = cli("interrogate")
    assert readable.exit_code == 0 and "No 24-hour table" in readable.stdout


def test_report_also_as_pdf(cli: Cli, tmp_path: Path) -> None:
    cli("program", "--daily-dose", "330", "--origin", "spinal", "--age-years", "40", "--yes")
    html, pdf = tmp_path / "r.html", tmp_path / "pdf" / "r.pdf"
    result = cli("report", "--out", str(html), "--pdf", str(pdf))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(html), str(pdf)]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") >= 3  # text + two plots


@pytest.mark.parametrize("flag", ["--out", "--pdf"])
def test_an_unwritable_report_path_names_its_option_and_prints_no_path(
        cli: Cli, tmp_path: Path, flag: str) -> None:
    assert cli("interrogate").exit_code == 0  # a report needs the session's journal
    blocker = tmp_path / "file"
    blocker.write_text("")
    paths = {"--out": tmp_path / "r.html", "--pdf": tmp_path / "r.pdf"}
    paths[flag] = blocker / "r"
    result = cli("report", "--out", str(paths["--out"]), "--pdf", str(paths["--pdf"]))
    assert result.exit_code == 2
    assert f"{flag} = {blocker / 'r'}" in result.stderr and "a writable file path" in result.stderr
    assert result.stdout == ""


def test_report_lines_hold_the_interrogation_changes_and_refill(cli: Cli) -> None:
    from itb.programmer.journal import Journal
    from itb.programmer.report import report_lines
    from itb.programmer.wand import read_view

    withdrawn = to_exact_str(Fraction(cli.wand.pump.physical.reservoir_nl, 1_000_000))
    cli("refill", "--withdrawn-ml", withdrawn, "--added-ml", "20", "--yes")
    client = cli.wand.open_session()
    try:
        view = read_view(client)
    finally:
        client.close()
    lines = report_lines(view, Journal(cli.session_file).entries(), session_file="s",
                         generated_at=datetime(2026, 2, 1, tzinfo=UTC))
    text = "\n".join(lines)
    assert "INTERROGATION" in text and "Reservoir: 20 mL estimated" in text
    assert "refill [done]" in text and "withdrawn ml: " + withdrawn in text


@pytest.mark.parametrize("odd", ["", "Program Changed", "１"])
def test_an_odd_log_kind_is_refused_by_name_before_the_pump_is_read(cli: Cli, odd: str) -> None:
    result = cli("log", "--kind", odd)
    assert result.exit_code == 2
    assert "--kind" in result.stderr and "program_changed" in result.stderr
    assert result.stdout == ""
    assert cli.wand.sessions == 0


def test_a_log_kind_with_no_entries_lists_the_kinds_present(cli: Cli) -> None:
    result = cli("log", "--kind", "no_such_kind")
    assert result.exit_code == 0
    assert "No entries of kind no_such_kind" in result.stdout
    assert "program_changed" in result.stdout  # the implant's program is in the log


@pytest.mark.parametrize("flag", ["--out", "--pdf"])
def test_an_empty_or_directory_report_path_is_refused_before_the_pump_is_read(
        cli: Cli, tmp_path: Path, flag: str) -> None:
    for odd in ("", str(tmp_path)):
        paths = {"--out": str(tmp_path / "r.html"), "--pdf": str(tmp_path / "r.pdf"), flag: odd}
        result = cli("report", "--out", paths["--out"], "--pdf", paths["--pdf"])
        assert result.exit_code == 2
        assert flag in result.stderr and "a file path to write" in result.stderr
        assert "failed unexpectedly" not in result.stderr
        assert result.stdout == ""
        assert cli.wand.sessions == 0  # refused before any session with the pump


@pytest.mark.parametrize(("flag", "odd"), [
    ("--page", "0"), ("--page", "1e999"), ("--page", "９"), ("--page", "9" * 5000),
    ("--page-size", "0"), ("--page-size", "501"), ("--page-size", ""),
])
def test_an_odd_page_option_is_an_error_sentence_before_the_pump_is_read(
        cli: Cli, flag: str, odd: str) -> None:
    result = cli("log", flag, odd)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {flag} = ") and "\nNext: " in result.stderr
    assert result.stdout == "" and cli.wand.sessions == 0
