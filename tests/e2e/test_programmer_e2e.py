"""The programmer end to end: the real `itb programmer` CLI against a real `itb pump serve`.

Each test module starts its own pump server on a free loopback port (and stops it), so
nothing outside the test is needed. The pump is first aged by serving it at high speed
(so a refill is due and the first titration step is allowed), then served in real
time for the visit. Every check of the pump's state is a fresh interrogation through
the CLI; the syringe reading at a refill, which only the simulator knows, comes from
the pump's saved physical state (the simulation's stand-in for the nurse's syringe).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pexpect
import pytest
from pump_server import ITB, SERIAL, ServedPump, serve_pump
from tcpproxy import LoopbackProxy

from itb.therapy.units import to_exact_str

# A pump served in real time keeps delivering between a refill and the next interrogation:
# at 0.6 mL/day, 0.001 mL is four strokes, about two and a half minutes.
DELIVERED_SINCE_ML = Fraction(1, 1000)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPump]:
    yield from serve_pump(tmp_path_factory.mktemp("visit"), days=20)


def exact(text: str) -> Fraction:
    return Fraction(text)


# ---- interrogate ----------------------------------------------------------------------------


@pytest.mark.e2e
def test_interrogate_reads_the_served_pump(served: ServedPump) -> None:
    data = served.interrogate()
    assert data["serial"] == SERIAL and data["model"] == "synchromed-ii-20"
    assert data["concentration_mcg_per_ml"] == "500" and data["daily_dose_mcg"] == "300"
    # About 20 days at 0.6 mL/day from 20 mL (the ageing is approximate).
    assert 4 < exact(data["reservoir_estimate_ml"]) < 16
    assert data["low_reservoir_alarm_at"] > data["pump_time"]
    assert data["battery_eri_at"] > data["pump_time"]
    readable = served.run("interrogate", full_cli=True)
    assert readable.returncode == 0 and SERIAL in readable.stdout
    assert "expected ERI" in readable.stdout


# ---- refill refusals, then the interactive wizard --------------------------------------------


@pytest.mark.req("REQ-PRG-REFILL-DISCREPANCY")
@pytest.mark.e2e
def test_refill_discrepancy_stops_before_the_pump_is_touched(served: ServedPump) -> None:
    before = served.interrogate()
    wrong = exact(before["reservoir_estimate_ml"]) - 3  # 3 mL short of the expected residual
    done = served.run("refill", "--withdrawn-ml", to_exact_str(wrong), "--concentration",
                      "500", "--added-ml", "18", "--yes")
    assert done.returncode == 2
    assert "Refill stopped" in done.stderr and "pocket fill" in done.stderr
    assert "Traceback" not in done.stderr
    after = served.interrogate()
    assert after["concentration_mcg_per_ml"] == "500"
    assert exact(after["reservoir_estimate_ml"]) <= exact(before["reservoir_estimate_ml"])
    assert after["last_refill_at"] == before["last_refill_at"]


@pytest.mark.req("REQ-PRG-REFILL-OVERFILL", "REQ-PRG-REFILL-STRENGTH")
@pytest.mark.e2e
def test_refill_overfill_and_wrong_concentration_are_refused(served: ServedPump) -> None:
    before = served.interrogate()
    syringe = served.syringe_ml()
    overfill = served.run("refill", "--withdrawn-ml", syringe, "--concentration", "500",
                          "--added-ml", "25", "--yes")
    assert overfill.returncode == 2 and "Overfill refused" in overfill.stderr
    wrong = served.run("refill", "--withdrawn-ml", syringe, "--concentration", "2000",
                       "--added-ml", "18", "--yes")
    assert wrong.returncode == 2 and "Wrong concentration" in wrong.stderr
    assert "prescribed 500 mcg/mL" in wrong.stderr
    after = served.interrogate()
    assert after["last_refill_at"] == before["last_refill_at"]
    assert after["concentration_mcg_per_ml"] == "500"


@pytest.mark.e2e
def test_interactive_refill_wizard_updates_the_pump(served: ServedPump) -> None:
    syringe = served.syringe_ml()
    child = pexpect.spawn(ITB, ["programmer", "refill", *served.args()], encoding="utf-8",
                          timeout=60, dimensions=(50, 140), env={**os.environ, "COLUMNS": "140"})
    child.expect(r"Is this the patient's pump")
    child.sendline("y")
    child.expect(r"Volume withdrawn from the reservoir \(mL\)")
    child.sendline(syringe)
    child.expect(r"Drug \(")
    child.sendline("Gablofen")
    child.expect(r"Concentration \(mcg/mL\)")
    child.sendline("500")
    child.expect(r"Prescribed concentration \(mcg/mL\)")
    child.sendline("500")
    child.expect(r"Volume added to the reservoir \(mL\)")
    child.sendline("18")
    child.expect(r"Same concentration: no bridge bolus")
    child.expect(r"Update pump")
    child.sendline("y")
    child.expect(r"Step 7 of 7")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    after = served.interrogate()
    # The firmware believes the reservoir holds the 18 mL added; the pump runs in real time,
    # so a stroke or two (0.25 uL each) may have gone out before this interrogation.
    assert 18 - DELIVERED_SINCE_ML <= exact(after["reservoir_estimate_ml"]) < Fraction("18.2")
    assert after["last_refill_at"] is not None
    entries = [json.loads(line) for line in served.session.read_text().splitlines()]
    refill = [e for e in entries if e["kind"] == "refill" and e["outcome"] == "done"][-1]
    assert refill["details"]["refill"]["drug"] == "Gablofen"
    assert exact(refill["details"]["refill"]["withdrawn_ml"]) == exact(syringe)


# ---- program: a refused titration step, then an override --------------------------------------


@pytest.mark.req("REQ-PRG-REVIEW")
@pytest.mark.e2e
def test_program_refused_titration_then_override(served: ServedPump) -> None:
    refused = served.run("program", "--daily-dose", "450", "--origin", "spinal",
                         "--age-years", "45", "--yes")
    assert refused.returncode == 2
    assert "more than 300 up to 390 mcg/day" in refused.stderr and "Traceback" not in refused.stderr
    assert served.interrogate()["daily_dose_mcg"] == "300"
    done = served.run("program", "--daily-dose", "450", "--origin", "spinal", "--age-years",
                      "45", "--override-reason", "spasms uncontrolled at 390 (team)", "--yes")
    assert done.returncode == 0, done.stderr
    assert "sent and verified" in done.stdout
    data = served.interrogate()
    assert data["daily_dose_mcg"] == "450"
    assert data["program"]["therapy"] == {"type": "continuous", "daily_dose_mcg": "450"}


# ---- bolus, alarms, log, settings, stop/resume ------------------------------------------------


@pytest.mark.e2e
def test_bolus_over_the_limit_is_refused_and_a_bolus_within_runs(served: ServedPump) -> None:
    over = served.run("bolus", "--dose", "150", "--duration-min", "30", "--yes")
    assert over.returncode == 2 and "maximum bolus" in over.stderr
    assert served.interrogate()["bolus_until"] is None
    given = served.run("bolus", "--dose", "25", "--duration-min", "30", "--yes")
    assert given.returncode == 0, given.stderr
    data = served.interrogate()
    assert data["infusion_state"] == "clinician_bolus" and data["bolus_until"] is not None


@pytest.mark.e2e
def test_alarms_log_and_settings(served: ServedPump) -> None:
    alarms = served.run("alarms", "--json")
    assert alarms.returncode == 0 and json.loads(alarms.stdout)["alarms"] == []
    ack = served.run("alarms", "--ack", "reservoir_empty")
    assert ack.returncode == 2 and "one of the pump's alarms" in ack.stderr
    log = served.run("log", "--kind", "program_changed", "--json")
    assert log.returncode == 0, log.stderr
    entries = json.loads(log.stdout)["entries"]
    assert entries and all(e["kind"] == "program_changed" for e in entries)
    table = served.run("log", "--page-size", "5")
    assert table.returncode == 0 and "page 1 of" in table.stdout
    volume = served.run("set-alarm-volume", "--ml", "3", "--yes")
    assert volume.returncode == 0, volume.stderr
    assert served.interrogate()["low_reservoir_alarm_ml"] == "3"
    clock = served.run("set-clock", "--host-clock", "--yes")
    assert clock.returncode == 0, clock.stderr


@pytest.mark.e2e
def test_stop_and_resume(served: ServedPump) -> None:
    stopped = served.run("stop", "--yes")
    assert stopped.returncode == 0, stopped.stderr
    assert "withdrawal" in stopped.stdout
    assert served.interrogate()["infusion_state"].startswith("minimum_rate")
    resumed = served.run("resume", "--yes")
    assert resumed.returncode == 0, resumed.stderr
    assert served.interrogate()["infusing"] is True


@pytest.mark.req("REQ-PRG-JOURNAL")
@pytest.mark.e2e
def test_report_holds_the_interrogation_changes_and_refill_record(served: ServedPump) -> None:
    out = served.session.parent / "report" / "visit.html"
    done = served.run("report", "--out", str(out), full_cli=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    html = out.read_text()
    assert 'id="interrogation"' in html and SERIAL in html
    assert "Refill record" in html and "Gablofen" in html and "refilled" in html
    assert "spasms uncontrolled at 390 (team)" in html
    assert html.count("data:image/png;base64,") == 2
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")


# ---- a link killed in the middle of a program command ------------------------------------------


class CuttingProxy(LoopbackProxy):
    """A loopback TCP proxy that cuts its `connection`-th connection at its `chunk`-th
    programmer-to-pump chunk (each request is one chunk: the client waits for each answer).

    `mode` "before": the chunk never reaches the pump; "request": half of it reaches the pump
    (the request left but never arrives whole); "after": the pump gets it and acts, then the
    link dies before the answer comes back; "reply": the pump's answer reaches the proxy and
    is thrown away. Other connections pass untouched.
    """

    def __init__(self, target_port: int, connection: int, chunk: int, mode: str) -> None:
        self.cut = (connection, chunk)
        self.mode = mode
        self.reply_dropped = threading.Event()
        super().__init__(target_port)

    def plan(self, number: int) -> _Cut:
        return _Cut(self.cut[1] if number == self.cut[0] else None, threading.Event())

    def upward(self, data: bytes, count: int, plan: _Cut, upstream: socket.socket) -> bool:
        if count != plan.at:
            return True
        plan.dead.set()  # from now on nothing goes back to the programmer
        if self.mode == "request":
            upstream.sendall(data[: len(data) // 2])
            time.sleep(0.3)
        elif self.mode == "after":
            upstream.sendall(data)
            time.sleep(0.3)  # the pump acts; its answer is thrown away
        elif self.mode == "reply":
            upstream.sendall(data)
            assert self.reply_dropped.wait(10)  # the answer came and was lost
        return False

    def downward(self, data: bytes, plan: _Cut) -> bool:
        if plan.dead.is_set():
            self.reply_dropped.set()
            return False
        return True


@dataclass
class _Cut:
    at: int | None  # the chunk that is cut, on the connection that is cut
    dead: threading.Event


@pytest.fixture(scope="module")
def served_for_cuts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPump]:
    yield from serve_pump(tmp_path_factory.mktemp("cuts"), days=5)


# `program` opens session 1 to read the pump and preview (the pump's dry run included),
# then session 2 to send: HELLO, PROVE, Interrogate, ReadLog (the new log entries: at least
# session 2's own), then the Program command, its 5th chunk.
PROGRAM_SEND = (2, 5)


@pytest.mark.req("REQ-PRG-UNCERTAIN")
@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["before", "after"])
def test_killing_the_link_during_a_program_command_leaves_the_previous_program(
        served_for_cuts: ServedPump, mode: str) -> None:
    served = served_for_cuts
    proxy = CuttingProxy(served.port, *PROGRAM_SEND, mode)
    try:
        cut = served.run("program", "--daily-dose", "330", "--origin", "spinal",
                         "--age-years", "45", "--override-reason", "cut-link test", "--yes",
                         port=proxy.port)
    finally:
        proxy.close()
    assert cut.returncode == 2, cut.stdout
    assert "link was lost" in cut.stderr and "Traceback" not in cut.stderr
    dose = "300"
    if mode == "before":
        assert "shows it not carried out" in cut.stderr
        assert "keeps its previous program" in cut.stderr
    else:  # issue 14: reported as carried out and in force, neither undone nor resent
        assert "the pump's log shows it carried out at" in cut.stderr
        assert "The new program is in force" in cut.stderr
        dose = "330"
    data = served.interrogate()
    assert data["daily_dose_mcg"] == dose
    assert data["program"]["therapy"] == {"type": "continuous", "daily_dose_mcg": dose}
    # The programmer reached the pump again on a third session to find this out.
    assert proxy.connections == 3


# A bolus opens session 1 to read the pump, then session 2 to send: HELLO, PROVE,
# Interrogate, ReadLog (session 2's own log entry), then the Bolus command, its 5th chunk.
BOLUS_SEND = (2, 5)


def bolus_count(served: ServedPump) -> int:
    done = served.run("log", "--json", "--kind", "bolus_given")
    assert done.returncode == 0, done.stderr
    matching: int = json.loads(done.stdout)["matching"]
    return matching


@pytest.fixture()
def fresh_pump(tmp_path: Path) -> Iterator[ServedPump]:
    """A pump of its own per test (a running bolus would refuse the next one)."""
    yield from serve_pump(tmp_path, days=1)


@pytest.mark.req("REQ-PRG-UNCERTAIN")
@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["before", "request", "after", "reply"])
def test_a_bolus_cut_at_any_point_is_given_at_most_once_and_reported_right(
        fresh_pump: ServedPump, mode: str) -> None:
    """Issue 14 over real TCP: no double bolus, and the report matches what the pump did."""
    served = fresh_pump
    given_before = bolus_count(served)
    proxy = CuttingProxy(served.port, *BOLUS_SEND, mode)
    try:
        cut = served.run("bolus", "--dose", "10", "--duration-min", "5", "--yes",
                         port=proxy.port)
    finally:
        proxy.close()
    assert cut.returncode == 2 and "Traceback" not in cut.stderr, cut.stderr
    given = bolus_count(served) - given_before
    if mode in ("before", "request"):
        assert given == 0 and "shows it not carried out" in cut.stderr
    else:
        assert given == 1 and "the pump's log shows it carried out at" in cut.stderr
        assert "Do not send the bolus again" in cut.stderr
    assert proxy.connections == 3  # read, send (cut), and the look-up: never a resend


@pytest.mark.req("REQ-PRG-UNCERTAIN")
@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["request", "reply"])
def test_a_refill_cut_is_never_lost_nor_recorded_twice(fresh_pump: ServedPump,
                                                       mode: str) -> None:
    """Issue 14 over real TCP: a refill whose answer is lost is recorded as refilled (the pump's
    log shows it), one lost on its way is reported not carried out; never both, never twice."""
    served = fresh_pump
    before = served.interrogate()
    proxy = CuttingProxy(served.port, *BOLUS_SEND, mode)  # the refill is also session 2's 5th
    try:
        cut = served.run("refill", "--withdrawn-ml", served.syringe_ml(), "--concentration",
                         "500", "--added-ml", "18", "--yes", port=proxy.port)
    finally:
        proxy.close()
    assert cut.returncode == 2 and "Traceback" not in cut.stderr, cut.stderr
    after = served.interrogate()
    record = [json.loads(line) for line in served.session.read_text().splitlines()
              if json.loads(line)["kind"] == "refill"][-1]
    if mode == "request":
        assert "shows it not carried out" in cut.stderr and "same volumes" in cut.stderr
        assert after["last_refill_at"] == before["last_refill_at"]
        assert record["outcome"] == "stopped"
    else:
        assert "the pump's log shows it carried out at" in cut.stderr
        assert after["last_refill_at"] != before["last_refill_at"]
        assert 18 - DELIVERED_SINCE_ML <= exact(after["reservoir_estimate_ml"]) < 19
        assert record["outcome"] == "refilled"
    assert proxy.connections == 3
