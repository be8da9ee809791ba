"""A link killed in the middle of a program command leaves the pump in its previous program."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from tests.programmer.conftest import Cli, continuous

from itb.pump import ContinuousTherapy
from itb.therapy.units import to_exact_str

PROGRAM_330 = ("program", "--daily-dose", "330", "--origin", "spinal", "--age-years", "40",
               "--yes")


@pytest.mark.req("REQ-PRG-UNCERTAIN")
def test_cut_before_the_command_reaches_the_pump(cli: Cli) -> None:
    cli.wand.cut_change = [None, "before"]  # session 1 previews, session 2 sends
    result = cli(*PROGRAM_330)
    assert result.exit_code == 2
    assert "shows it not carried out" in result.stderr
    assert "The pump keeps its previous program" in result.stderr
    assert "Traceback" not in result.output
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))
    entry = json.loads(cli.session_file.read_text().splitlines()[-1])
    assert entry["outcome"] == "not done"


@pytest.mark.req("REQ-PRG-UNCERTAIN")
def test_cut_after_the_pump_acted_reports_it_carried_out_and_in_force(cli: Cli) -> None:
    """Issue 14: the programmer does not undo or resend; it reads the pump's log and says."""
    cli.wand.cut_change = [None, "acted"]
    result = cli(*PROGRAM_330)
    assert result.exit_code == 2
    assert "the pump's log shows it carried out at" in result.stderr
    assert "The new program is in force" in result.stderr
    pump = cli.wand.pump
    assert pump.active_program.therapy == ContinuousTherapy(Fraction(330))
    changes = [e for e in pump.log.entries() if e.kind == "program_changed"]
    assert len(changes) == 2  # implant and the command: nothing restored, nothing resent
    assert len(cli.wand.sent_changes) == 1
    entry = json.loads(cli.session_file.read_text().splitlines()[-1])
    assert entry["outcome"].startswith("done (answer lost")


@pytest.mark.req("REQ-PRG-UNCERTAIN")
def test_pump_unreachable_after_the_cut_says_unknown_interrogate_before_acting(
        cli: Cli) -> None:
    cli.wand.cut_change = [None, "acted"]
    cli.wand.refuse_sessions_after = 2
    result = cli(*PROGRAM_330)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: unknown: interrogate before acting.")
    assert "could not be reached again" in result.stderr
    entry = json.loads(cli.session_file.read_text().splitlines()[-1])
    assert entry["outcome"] == "unknown"


@pytest.mark.parametrize("mode", ["before", "acted"])
def test_after_any_cut_a_new_session_programs_normally(cli: Cli, mode: str) -> None:
    cli.wand.cut_change = [None, mode]
    assert cli(*PROGRAM_330).exit_code == 2
    dose = "330" if mode == "before" else "360"
    # A change carried out counts for the 24 h rule: the next step needs its override.
    extra = () if mode == "before" else ("--override-reason", "second step after a lost link")
    retry = cli("program", "--daily-dose", dose, "--origin", "spinal", "--age-years", "40",
                *extra, "--yes")
    assert retry.exit_code == 0, retry.output
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(dose))


def test_server_not_running_is_one_sentence(tmp_path) -> None:
    from typer.testing import CliRunner

    from itb.programmer.cli import app

    key = tmp_path / "k.key"
    key.write_text("itb-telemetry-key 1 serial=T-1 scope=clinic key=" + "00" * 32 + "\n")
    result = CliRunner().invoke(app, ["interrogate", "--port", "1", "--key-file", str(key),
                                      "--session", str(tmp_path / "s.jsonl")])
    assert result.exit_code == 2
    assert "Cannot reach the pump at 127.0.0.1:1" in result.stderr
    assert "itb pump serve" in result.stderr


def test_missing_key_file_is_one_sentence(tmp_path) -> None:
    from typer.testing import CliRunner

    from itb.programmer.cli import app

    result = CliRunner().invoke(app, ["interrogate", "--key-file", str(tmp_path / "none.key")])
    assert result.exit_code == 2
    assert "key file" in result.stderr and "--key-file" in result.stderr


@pytest.mark.req("REQ-PRG-STALE")
def test_a_pump_changed_between_preview_and_send_gets_nothing(cli: Cli) -> None:
    def another_programmer(session: int) -> None:
        if session == 2:  # between the preview and the send
            cli.wand.pump.program(continuous(310))

    cli.wand.on_session = another_programmer
    result = cli(*PROGRAM_330)
    assert result.exit_code == 2
    assert "The pump changed since it was read (its program)" in result.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(310))


@pytest.mark.req("REQ-PRG-STALE")
def test_a_refill_recorded_during_the_wizard_stops_it(cli: Cli) -> None:
    withdrawn = to_exact_str(Fraction(cli.wand.pump.physical.reservoir_nl, 1_000_000))

    def someone_refills(session: int) -> None:
        if session == 2:
            cli.wand.pump.refill(added_nl=1_000_000, concentration_mcg_per_ml=Fraction(500),
                                 withdrawn_nl=0)

    cli.wand.on_session = someone_refills
    result = cli("refill", "--withdrawn-ml", withdrawn, "--added-ml", "20", "--yes")
    assert result.exit_code == 2
    assert "a refill was recorded" in result.stderr
    record = json.loads(cli.session_file.read_text().splitlines()[-1])["details"]["refill"]
    assert record["outcome"].startswith("stopped")


def test_a_binary_key_file_is_a_key_file_error_not_a_crash(tmp_path) -> None:
    from typer.testing import CliRunner

    from itb.programmer.cli import app

    key = tmp_path / "bin.key"
    key.write_bytes(b"garbage\n\xff\xfe")
    result = CliRunner().invoke(app, ["interrogate", "--port", "1", "--key-file", str(key),
                                      "--session", str(tmp_path / "s.jsonl")])
    assert result.exit_code == 2
    assert "not UTF-8 text" in result.stderr and "--key-file" in result.stderr
    assert "failed unexpectedly" not in result.stderr


@pytest.mark.parametrize("serial", ["", "  "])
def test_an_empty_serial_is_refused_by_name(tmp_path, serial: str) -> None:
    from typer.testing import CliRunner

    from itb.programmer.cli import app

    key = tmp_path / "k.key"
    key.write_text("itb-telemetry-key 1 serial=T-1 scope=clinic key=" + "00" * 32 + "\n")
    result = CliRunner().invoke(app, ["interrogate", "--port", "1", "--key-file", str(key),
                                      "--serial", serial, "--session", str(tmp_path / "s.jsonl")])
    assert result.exit_code == 2
    assert "--serial" in result.stderr and "the serial is empty" in result.stderr
    assert "this key file is for pump" not in result.stderr


@pytest.mark.parametrize("port", ["0", "70000", "1e999", "７４００", "", "-1", "nan"])
def test_an_odd_port_is_an_error_and_next_sentence_not_a_usage_box(tmp_path, port: str) -> None:
    from typer.testing import CliRunner

    from itb.programmer.cli import app

    key = tmp_path / "k.key"
    key.write_text("itb-telemetry-key 1 serial=T-1 scope=clinic key=" + "00" * 32 + "\n")
    result = CliRunner().invoke(app, ["interrogate", "--port", port, "--key-file", str(key),
                                      "--session", str(tmp_path / "s.jsonl")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --port = {port!r} is not allowed")
    assert "1 to 65535" in result.stderr and "\nNext: " in result.stderr


def test_the_default_port_and_plain_ports_are_read_exactly() -> None:
    from itb.programmer.cli import DEFAULT_PORT, pump_port

    assert pump_port(DEFAULT_PORT) == 7400
    assert pump_port("1") == 1 and pump_port("65535") == 65535 and pump_port(47811) == 47811



def test_a_fifo_key_file_or_flex_file_is_refused_without_waiting_for_a_writer(
        tmp_path) -> None:
    import os

    from typer.testing import CliRunner

    from itb.programmer.cli import app

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    key = tmp_path / "k.key"
    key.write_text("itb-telemetry-key 1 serial=T-1 scope=clinic key=" + "00" * 32 + "\n")
    session = str(tmp_path / "s.jsonl")
    by_key = CliRunner().invoke(app, ["interrogate", "--port", "1", "--key-file", str(fifo),
                                      "--session", session])
    assert by_key.exit_code == 2 and "key file" in by_key.stderr
    assert "not a regular file" in by_key.stderr
    by_flex = CliRunner().invoke(app, ["program", "--flex", str(fifo), "--origin", "spinal",
                                       "--age-years", "40", "--port", "1", "--key-file",
                                       str(key), "--session", session])
    assert by_flex.exit_code == 2 and "--flex" in by_flex.stderr
    assert "not a regular file" in by_flex.stderr


def test_a_fifo_session_journal_is_refused_without_waiting_for_a_writer(cli: Cli,
                                                                        tmp_path) -> None:
    import os

    os.mkfifo(cli.session_file)
    result = cli("report", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert "session file" in result.stderr and "not a regular file" in result.stderr
