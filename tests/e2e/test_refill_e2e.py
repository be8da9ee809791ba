"""Refill and pump-record defects of issue 9, end to end: the real `itb` CLI against a real
`itb pump serve` subprocess (helpers from `pump_server`).

The syringe reading, which only the simulator knows, is read from the pump's saved
physical state (the simulation's stand-in for the nurse's syringe) and rounded as a
nurse reads a syringe: to the nearest 0.1 mL, so it may be a little above the truth.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pexpect
import pytest
from pump_server import (
    AGEING_SPEED,
    ITB,
    SERIAL,
    ServedPump,
    new_pump,
    serve_pump,
    start_server,
    stop_server,
)


def true_state(served: ServedPump) -> dict:
    raw = (served.state / "pumps" / f"{SERIAL}.state").read_bytes().split(b"\n", 1)[1]
    return json.loads(raw)["pump"]


def syringe_reading_ml(served: ServedPump) -> str:
    """The true residual read to the nearest 0.1 mL (a syringe's resolution)."""
    true_nl = true_state(served)["physical"]["reservoir_nl"]
    tenths = (true_nl + 50_000) // 100_000
    return f"{tenths // 10}.{tenths % 10}"


@pytest.fixture
def empty_pump(tmp_path: Path) -> Iterator[ServedPump]:
    # 20 mL at 0.6 mL/day is empty after ~33 days; 12 more days at the minimum rate
    # (devices.md: about 0.048 mL/day) take the estimate about 0.5 mL below zero.
    yield from serve_pump(tmp_path, days=45)


@pytest.fixture
def aged_pump(tmp_path: Path) -> Iterator[ServedPump]:
    yield from serve_pump(tmp_path, days=20)


@pytest.mark.e2e
def test_an_empty_pump_is_refilled_and_returns_to_its_program(empty_pump: ServedPump) -> None:
    """Issue 9.1: an estimate below 0 mL is shown as empty, and the refill goes through."""
    before = empty_pump.interrogate()
    assert Fraction(before["reservoir_estimate_ml"]) < 0
    assert "reservoir_empty" in {alarm["kind"] for alarm in before["alarms"]}
    shown = empty_pump.run("interrogate", full_cli=True)
    assert "empty (the pump's estimate ran" in " ".join(shown.stdout.split())
    done = empty_pump.run("refill", "--withdrawn-ml", syringe_reading_ml(empty_pump),
                          "--concentration", "500", "--added-ml", "20", "--yes")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "reservoir estimate empty (the pump's estimate ran" in text
    assert "below zero" in text and "minimum rate" in text
    after = empty_pump.interrogate()
    assert "reservoir_empty" not in {alarm["kind"] for alarm in after["alarms"]}
    assert after["infusion_state"] == "running" and after["infusing"]
    assert Fraction(after["reservoir_estimate_ml"]) <= 20
    assert Fraction(after["reservoir_estimate_ml"]) > Fraction("19.99")
    assert after["daily_dose_mcg"] == "300"


@pytest.mark.e2e
def test_a_syringe_reading_above_the_truth_is_accepted_and_preview_equals_result(
        aged_pump: ServedPump) -> None:
    """Issue 9.5: a reading rounded up past the true residual is not refused from the truth,
    every volume shown is in mL, and the step-5 preview matches the step-6 result."""
    true_nl = true_state(aged_pump)["physical"]["reservoir_nl"]
    reading = (true_nl // 100_000 + 1) * 100_000  # up to the next 0.1 mL: above the truth
    text = f"{reading // 1_000_000}.{reading % 1_000_000 // 100_000}"
    done = aged_pump.run("refill", "--withdrawn-ml", text, "--concentration", "500",
                         "--added-ml", "20", "--yes")
    assert done.returncode == 0, done.stderr
    assert " nL" not in done.stdout + done.stderr
    preview = re.search(r"If confirmed: Low-reservoir alarm projected .*?\(in ([\d.]+) days\)",
                        done.stdout)
    result = re.search(r"Step 6 of 7.*?\n.*?\(in ([\d.]+) days\)", done.stdout, re.S)
    assert preview is not None and result is not None, done.stdout
    assert preview.group(1) == result.group(1)
    data = aged_pump.interrogate()
    assert data["reservoir_estimate_ml"] == "20"
    assert true_state(aged_pump)["physical"]["reservoir_nl"] == 20_000_000


@pytest.mark.e2e
def test_a_program_change_does_not_silently_end_a_bridge_bolus(aged_pump: ServedPump,
                                                               tmp_path: Path) -> None:
    """Issue 9.4: the bridge runs to its end unless cancelled with a reason; the preview says
    which; the report shows the bridge's real end."""
    done = aged_pump.run("refill", "--withdrawn-ml", syringe_reading_ml(aged_pump),
                         "--drug", "Gablofen", "--concentration", "1000",
                         "--prescribed-concentration", "1000",
                         "--added-ml", "20", "--catheter-ml", "0.11", "--yes")
    assert done.returncode == 0, done.stderr
    bridging = aged_pump.interrogate()
    assert bridging["infusion_state"] == "bridge_bolus"
    kept = aged_pump.run("program", "--daily-dose", "330", "--origin", "spinal",
                         "--age-years", "45", "--yes")
    assert kept.returncode == 0, kept.stderr
    assert "it continues to its end" in " ".join(kept.stdout.split())
    after = aged_pump.interrogate()
    assert after["infusion_state"] == "bridge_bolus"
    assert after["bolus_until"] == bridging["bolus_until"]
    assert after["daily_dose_mcg"] == "330"
    report = tmp_path / "report.html"
    made = aged_pump.run("report", "--out", str(report), full_cli=True)
    assert made.returncode == 0, made.stderr
    assert "really still running at this report" in report.read_text()
    cancelled = aged_pump.run("program", "--daily-dose", "330", "--origin", "spinal",
                              "--age-years", "45", "--override-reason", "same dose again",
                              "--cancel-bridge-reason", "catheter volume was wrong", "--yes")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "ends now (cancelled: catheter volume was wrong)" in " ".join(
        cancelled.stdout.split())
    assert aged_pump.interrogate()["infusion_state"] == "running"
    made = aged_pump.run("report", "--out", str(report), full_cli=True)
    assert made.returncode == 0, made.stderr
    assert "cancelled: catheter volume was wrong" in report.read_text()
    assert "really ended early" in report.read_text()


@pytest.mark.e2e
def test_dates_after_implant_include_the_priming_bolus(tmp_path: Path) -> None:
    """Issue 9.3: the date the programmer shows after implant is not later than the alarm."""
    served_ = serve_pump(tmp_path, days=0)
    pump = next(served_)
    data = pump.interrogate()
    assert data["infusion_state"] == "priming_bolus"
    projected = data["low_reservoir_alarm_at"]
    with pytest.raises(StopIteration):
        next(served_)  # stops the server
    ageing, _port = start_server(pump.state, AGEING_SPEED)
    time.sleep(3.6)  # about 36 pump days: past the alarm (about 30 days)
    stop_server(ageing)
    process, port = start_server(pump.state, "1")
    try:
        aged = ServedPump(pump.state, port, pump.key_file, pump.session, process)
        alarm = next(a for a in aged.interrogate()["alarms"] if a["kind"] == "low_reservoir")
    finally:
        stop_server(process)
    raised = alarm["since"]
    assert projected <= raised
    gap = datetime.fromisoformat(raised) - datetime.fromisoformat(projected)
    assert gap.total_seconds() < 3600  # early by a stroke or so, not by ~13 hours


@pytest.mark.e2e
@pytest.mark.parametrize(("strength", "why"), [
    ("50", "screening strength"), ("777", "no marketed product")])
def test_pump_new_fills_only_a_marketed_refill_strength(tmp_path: Path, strength: str,
                                                        why: str) -> None:
    """Issue 9.10: the implant fill is checked against the drug catalogue."""
    made = new_pump(tmp_path / "state", "--concentration", strength)
    assert made.returncode == 2
    text = " ".join(made.stderr.split())
    assert f"concentration = {strength} mcg/mL" in text and why in text
    assert "500, 1000, 2000 mcg/mL" in text and "Traceback" not in text
    assert not (tmp_path / "state" / "keys" / f"{SERIAL}.key").exists()


@pytest.mark.e2e
def test_the_catheter_volume_is_stored_shown_and_set(tmp_path: Path) -> None:
    """Issue 9.14: set at implant, shown by interrogate, set again after a revision, and
    then the refill's bridge bolus agrees with the clinic's dead volume."""
    served_ = serve_pump(tmp_path, days=0, new_args=("--catheter-ml", "0.3"))
    pump = next(served_)
    try:
        assert pump.interrogate()["catheter_volume_ml"] == "0.3"
        shown = " ".join(pump.run("interrogate", full_cli=True).stdout.split())
        assert "Catheter 0.3 mL stored in the pump" in shown
        refused = pump.run("set-catheter-volume", "--ml", "2", "--yes")
        assert refused.returncode == 2 and "0 to 1 mL" in refused.stderr
        done = pump.run("set-catheter-volume", "--ml", "0.25", "--yes")
        assert done.returncode == 0, done.stderr
        assert "0.3 mL -> 0.25 mL" in done.stdout
        assert pump.interrogate()["catheter_volume_ml"] == "0.25"
        log = json.loads(pump.run("log", "--kind", "catheter_volume_set", "--json").stdout)
        assert log, "the pump logs the change"
        kinds = [json.loads(line)["kind"] for line in pump.session.read_text().splitlines()]
        assert "catheter_volume" in kinds
    finally:
        with pytest.raises(StopIteration):
            next(served_)


@pytest.mark.e2e
def test_the_report_covers_the_latest_visit_and_a_missing_journal_is_an_error(
        tmp_path: Path) -> None:
    """Issue 9.13: journal entries carry a session id; report shows the latest session by
    default and every session with --all; no journal is an error, not an empty report."""
    from itb.programmer.journal import Journal

    served_ = serve_pump(tmp_path, days=0)
    pump = next(served_)
    try:
        out = tmp_path / "visit.html"
        missing = pump.run("report", "--out", str(out), full_cli=True)
        assert missing.returncode == 2 and "an existing session journal" in missing.stderr
        assert not out.exists()
        # An earlier visit, months ago, in the same journal.
        Journal(pump.session).append(at=datetime(2025, 6, 1, 9, tzinfo=UTC), kind="bolus",
                                     serial=SERIAL, pump_time=None, outcome="done",
                                     summary="EARLIER VISIT bolus")
        assert pump.run("interrogate").returncode == 0
        done = pump.run("report", "--out", str(out), full_cli=True)
        assert done.returncode == 0, done.stderr
        html = out.read_text()
        assert "EARLIER VISIT" not in html and "session 2" in html
        done = pump.run("report", "--out", str(out), "--all", full_cli=True)
        assert done.returncode == 0, done.stderr
        assert "EARLIER VISIT" in out.read_text() and "2 sessions" in out.read_text()
        sessions = [json.loads(line)["session"] for line in pump.session.read_text().splitlines()]
        assert all(sessions) and len(set(sessions)) == 2
    finally:
        with pytest.raises(StopIteration):
            next(served_)


@pytest.mark.e2e
def test_help_shows_no_bool_and_itb_help_describes_every_pump_subcommand() -> None:
    """Issue 9.15: flags take no value, so their help shows none; `itb --help` says what
    each `pump` subcommand does."""
    for command in (["--help"], ["programmer", "refill", "--help"],
                    ["pump", "simulate", "--help"], ["pump", "new", "--help"]):
        shown = subprocess.run([ITB, *command], capture_output=True, text=True, timeout=60,
                               check=False, env={**os.environ, "COLUMNS": "200"})
        assert shown.returncode == 0, shown.stderr
        assert "<bool>" not in shown.stdout, command
    top = subprocess.run([ITB, "--help"], capture_output=True, text=True, timeout=60,
                         check=False, env={**os.environ, "COLUMNS": "300"}).stdout
    pump_line = " ".join(top.split())
    for described in ("simulate (simulate one implanted pump", "new (implant a new simulated",
                      "serve (serve every pump"):
        assert described in pump_line


@pytest.mark.e2e
def test_set_clock_says_days_hours_minutes_and_a_prompt_at_end_of_input_ends_its_line(
        tmp_path: Path) -> None:
    """Issue 9.15: the clock change in days, hours and minutes; a prompt that meets the end
    of input prints its error on a new line."""
    served_ = serve_pump(tmp_path, days=0)
    pump = next(served_)
    try:
        now = datetime.fromisoformat(pump.interrogate()["pump_time"])
        target = now + timedelta(days=1, hours=2, minutes=3)
        done = pump.run("set-clock", "--to", target.isoformat(), "--yes")
        assert done.returncode == 0, done.stderr
        text = " ".join(done.stdout.split())
        # (The served clock runs on while the command starts: a few seconds either way.)
        assert re.search(r"\(1 day, 2 hours(,| and) [23] minutes( and \d+ seconds?)? forward\)",
                         text), text
        child = pexpect.spawn(ITB, ["programmer", "refill", *pump.args()], encoding="utf-8",
                              timeout=60, dimensions=(50, 140),
                              env={**os.environ, "COLUMNS": "140"})
        child.expect(r"Is this the patient's pump")
        child.sendline("y")
        child.expect(r"Volume withdrawn from the reservoir \(mL\): ")
        child.sendeof()
        child.expect(pexpect.EOF)
        rest = child.before
        child.close()
        assert child.exitstatus == 1
        # The prompt's line ends before the error: nothing but a newline follows the prompt.
        assert re.match(r"\n+Error: No answer for 'Volume withdrawn", rest.replace("\r", "")), \
            repr(rest)
    finally:
        with pytest.raises(StopIteration):
            next(served_)
