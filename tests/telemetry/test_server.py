"""The real CLI: `itb pump new`, `itb pump serve`, a programmer over loopback TCP, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import pytest

from itb.errors import InvalidInput
from itb.pump import Pump
from itb.pump.serve_cli import require_loopback
from itb.telemetry.errors import CommandRejected, KeyFileError, LinkRefused, SessionClosed
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.store import StateStore
from itb.telemetry.protocol.commands import ContinuousSpec, HardLimitsSpec, ProgramSpec
from itb.telemetry.protocol.keys import LinkKey, Role

pytestmark = pytest.mark.e2e
ITB = [str(Path(sys.executable).parent / "itb")]
SERIAL = "ITB-7001"


def run_itb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ITB, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture()
def state(tmp_path: Path) -> Path:
    done = run_itb("pump", "new", "--state", str(tmp_path), "--model", "synchromed-ii-20",
                   "--serial", SERIAL, "--fill-ml", "18", "--concentration", "500",
                   "--daily-dose", "300")
    assert done.returncode == 0, done.stderr
    assert f"implanted {SERIAL}" in done.stdout
    return tmp_path


@contextmanager
def serving(state: Path, speed: str = "100") -> Iterator[tuple[subprocess.Popen[str], int]]:
    server = subprocess.Popen([*ITB, "pump", "serve", "--state", str(state), "--port", "0",
                               "--speed", speed], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        assert "serving 1 pump(s)" in line, line + server.stderr.read()  # type: ignore[union-attr]
        yield server, int(line.rsplit(":", 1)[1].split()[0])
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=20)


def clinic_key(state: Path) -> LinkKey:
    return LinkKey.from_text((state / "keys" / f"{SERIAL}.key").read_text())


def test_pump_new_writes_state_and_both_keys(state: Path) -> None:
    assert clinic_key(state).scope == "clinic"
    patient = LinkKey.from_text((state / "keys" / f"{SERIAL}.patient.key").read_text())
    assert patient == clinic_key(state).patient_key()
    assert StateStore(state).serials() == [SERIAL]
    assert (state / "keys" / f"{SERIAL}.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(("args", "field"), [
    (["--model", "nope"], "model"),
    (["--model", "synchromed-ii-20", "--fill-ml", "25"], "fill_ml"),
    (["--model", "synchromed-ii-20", "--concentration", "0.1e"], "concentration"),
    (["--model", "synchromed-ii-20", "--serial", "bad serial"], "serial"),
    (["--model", "synchromed-ii-20", "--daily-dose", "-3"], "daily_dose"),
    # An empty pump cannot be primed: refused by name, not by the prime step's own message.
    (["--model", "synchromed-ii-20", "--fill-ml", "-0"], "fill_ml"),
])
def test_pump_new_refuses_bad_input_in_one_sentence(tmp_path: Path, args: list[str],
                                                    field: str) -> None:
    done = run_itb("pump", "new", "--state", str(tmp_path), *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 2 and field in done.stderr and "Traceback" not in done.stderr


def test_pump_new_refuses_an_existing_serial(state: Path) -> None:
    done = run_itb("pump", "new", "--state", str(state), "--model", "synchromed-ii-20",
                   "--serial", SERIAL)
    assert done.returncode == 2 and "serial" in done.stderr


def test_pump_new_refuses_a_state_path_it_cannot_write_in_one_sentence(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    done = run_itb("pump", "new", "--state", str(not_a_dir), "--model", "synchromed-ii-20")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("Error: state = ") and done.stderr.count("\n") == 2


def test_serve_listens_on_loopback_only(tmp_path: Path) -> None:
    # Checked before the state directory is read, so an empty one is enough here.
    done = run_itb("pump", "serve", "--state", str(tmp_path), "--port", "0", "--host", "0.0.0.0")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("Error: host = 0.0.0.0 ") and "loopback" in done.stderr


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("8.8.8.8", False), ("example.org", False), ("", False),
])
def test_only_loopback_addresses_are_accepted_for_serving(host: str, loopback: bool) -> None:
    if loopback:
        require_loopback(host)
    else:
        with pytest.raises(InvalidInput) as refused:
            require_loopback(host)
        assert refused.value.field == "host"


def test_serve_refuses_an_empty_state_directory(tmp_path: Path) -> None:
    done = run_itb("pump", "serve", "--state", str(tmp_path), "--port", "0")
    assert done.returncode == 2 and "state" in done.stderr and "Traceback" not in done.stderr


def test_programmer_and_handheld_over_tcp_with_the_clock_running(state: Path) -> None:
    with serving(state, speed="600") as (_server, port):
        with ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
            first = wand.interrogate()
            time.sleep(1.0)
            second = wand.interrogate()
            assert second.pump_time > first.pump_time  # 600x: about ten minutes a second
            assert second.reservoir.estimate_nl <= first.reservoir.estimate_nl
        patient_key = clinic_key(state).patient_key()
        with ProgrammerClient.connect_tcp("127.0.0.1", port, patient_key,
                                          Role.PATIENT) as handheld:
            assert handheld.read_status().serial == SERIAL
            with pytest.raises(CommandRejected, match="clinician"):
                handheld.stop()


def test_state_survives_a_restart(state: Path) -> None:
    spec = ProgramSpec(ContinuousSpec(Fraction(350)), HardLimitsSpec(Fraction(450),
                                                                     Fraction(100)))
    with serving(state) as (_server, port), \
            ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
        wand.program(spec)
        saved_time = wand.interrogate().pump_time
    with serving(state) as (_server, port), \
            ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
        report = wand.interrogate()
    assert report.program == spec and report.pump_time >= saved_time


def test_sigkill_while_writing_loses_no_confirmed_command(state: Path) -> None:
    """Each confirmed command is on disk before its answer; kill the server mid-stream."""
    confirmed: list[int] = []
    for round_ in range(3):
        with serving(state) as (server, port):
            wand = ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state),
                                                response_timeout_s=5.0)
            wand.open()
            deadline = time.monotonic() + 0.3 + 0.2 * round_
            volume = 2_000_000 + round_ * 100_000
            try:
                while True:
                    volume += 1
                    if time.monotonic() > deadline:
                        os.kill(server.pid, signal.SIGKILL)  # writes never stop: kill mid-write
                    wand.set_alarm_volume(volume)
                    confirmed.append(volume)
            except (SessionClosed, CommandRejected, OSError, ConnectionError) as exc:
                assert server.wait(timeout=10) == -signal.SIGKILL, exc
            finally:
                wand.transport.close()
        document = StateStore(state).load(SERIAL)
        saved = document["pump"]["low_reservoir_alarm_nl"]
        # The last confirmed volume is on disk, or the one in flight when the kill came.
        assert saved in (confirmed[-1], confirmed[-1] + 1)
    assert len(confirmed) > 10
    with serving(state) as (_server, port), \
            ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
        assert wand.interrogate().reservoir.low_reservoir_alarm_nl in (confirmed[-1],
                                                                       confirmed[-1] + 1)


def test_connect_with_the_programmer_options(state: Path) -> None:
    key_file = state / "keys" / f"{SERIAL}.key"
    with serving(state) as (_server, port):
        with ProgrammerClient.connect(host="127.0.0.1", port=port, serial=SERIAL,
                                      key_file=key_file) as wand:
            assert wand.role is Role.CLINICIAN and wand.interrogate().serial == SERIAL
        handheld_key = state / "keys" / f"{SERIAL}.patient.key"
        with ProgrammerClient.connect(host="127.0.0.1", port=port, serial=SERIAL,
                                      key_file=handheld_key) as handheld:
            assert handheld.role is Role.PATIENT


def test_connect_refuses_a_key_for_another_pump_or_a_missing_file(state: Path) -> None:
    with pytest.raises(InvalidInput, match="serial"):
        ProgrammerClient.connect(host="127.0.0.1", port=1, serial="ITB-9999",
                                 key_file=state / "keys" / f"{SERIAL}.key")
    with pytest.raises(KeyFileError):
        ProgrammerClient.connect(host="127.0.0.1", port=1, serial=SERIAL,
                                 key_file=state / "keys" / "missing.key")
    with pytest.raises(InvalidInput, match="role"):
        ProgrammerClient.connect(host="127.0.0.1", port=1, serial=SERIAL,
                                 key_file=state / "keys" / f"{SERIAL}.patient.key",
                                 role=Role.CLINICIAN)
    with pytest.raises(LinkRefused, match="cannot reach"):
        ProgrammerClient.connect(host="127.0.0.1", port=1, serial=SERIAL,
                                 key_file=state / "keys" / f"{SERIAL}.key")


# ---- one server per folder, pumps added while serving, skipped files, pump list (issue 9) ----

def test_a_second_server_on_the_same_folder_is_refused_naming_the_folder_and_holder(
        state: Path) -> None:
    with serving(state) as (first, port):
        second = run_itb("pump", "serve", "--state", str(state), "--port", "0")
        assert second.returncode == 2 and "Traceback" not in second.stderr
        lines = second.stderr.strip().splitlines()
        assert lines[0].startswith("Error: ") and lines[1].startswith("Next: ")
        assert str(state) in lines[0]
        assert f"pid {first.pid}" in lines[0] and f"port {port}" in lines[0]
        assert second.stdout == ""
    # The lock goes with the server: the folder can be served again at once.
    with serving(state):
        pass


def test_a_killed_server_leaves_no_stale_lock(state: Path) -> None:
    with serving(state) as (first, _port):
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    with serving(state) as (_server, port), \
            ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
        assert wand.interrogate().serial == SERIAL


def test_a_change_confirmed_on_the_only_server_survives(state: Path) -> None:
    """The loss issue 9.2 reported: with the second server refused, nothing overwrites it."""
    spec = ProgramSpec(ContinuousSpec(Fraction(320)), HardLimitsSpec(Fraction(450),
                                                                     Fraction(100)))
    with serving(state) as (_server, port):
        assert run_itb("pump", "serve", "--state", str(state), "--port", "0").returncode == 2
        with ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
            wand.program(spec)
    with serving(state) as (_server, port), \
            ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
        assert wand.interrogate().program == spec


def test_a_pump_implanted_while_serving_is_served_without_restart(state: Path) -> None:
    """`itb pump new` into a served folder is safe: a new serial's files only, picked up on
    the first connection that names it; the pump already served is untouched."""
    with serving(state) as (_server, port):
        with ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
            before = wand.interrogate()
        made = run_itb("pump", "new", "--state", str(state), "--model", "synchromed-ii-40",
                       "--serial", "ITB-7002")
        assert made.returncode == 0, made.stderr
        new_key = LinkKey.from_text((state / "keys" / "ITB-7002.key").read_text())
        with ProgrammerClient.connect_tcp("127.0.0.1", port, new_key) as wand:
            assert wand.interrogate().serial == "ITB-7002"
        with ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
            after = wand.interrogate()
        assert after.program == before.program and after.pump_time >= before.pump_time
        again = run_itb("pump", "new", "--state", str(state), "--model", "synchromed-ii-40",
                        "--serial", "ITB-7002")
        assert again.returncode == 2  # an existing serial is never overwritten


def test_an_unknown_serial_is_told_no_pump_on_this_server(state: Path) -> None:
    stranger = LinkKey("ITB-NONE", "clinic", bytes(32))
    with serving(state) as (_server, port):
        with pytest.raises(LinkRefused, match="no pump ITB-NONE on this server"):
            ProgrammerClient.connect_tcp("127.0.0.1", port, stranger).open()
        key_file = state / "stranger.key"
        key_file.write_text(stranger.to_text())
        done = run_itb("programmer", "interrogate", "--port", str(port), "--key-file",
                       str(key_file), "--serial", "ITB-NONE")
    assert done.returncode == 2 and "no pump ITB-NONE on this server" in done.stderr
    assert "hung up" not in done.stderr and "Traceback" not in done.stderr


def test_a_folder_or_a_corrupt_state_file_is_skipped_with_one_warning(state: Path) -> None:
    (state / "pumps" / "ITB-DIR.state").mkdir()
    (state / "pumps" / "ITB-BAD.state").write_bytes(b"itb-pump-state 1 sha256=00\n{}")
    with serving(state) as (server, port):
        stranger = LinkKey("ITB-BAD", "clinic", bytes(32))
        for _ in range(2):  # a connection for a skipped pump rescans, but warns no more
            with pytest.raises(LinkRefused, match="no pump ITB-BAD on this server"):
                ProgrammerClient.connect_tcp("127.0.0.1", port, stranger).open()
        with ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
            assert wand.interrogate().serial == SERIAL
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=20)
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, err
    assert any("ITB-DIR" in w for w in warnings) and any("ITB-BAD" in w for w in warnings)
    listed = run_itb("pump", "list", "--state", str(state))
    assert listed.returncode == 0 and listed.stdout.count(SERIAL) == 1
    assert listed.stderr.count("warning:") == 2


def test_serve_says_when_it_stops_and_its_help_says_clocks_stand_still(state: Path) -> None:
    with serving(state) as (server, _port):
        server.send_signal(signal.SIGTERM)
        out, _err = server.communicate(timeout=20)
    assert out.strip().splitlines()[-1].startswith("stopped serving 1 pump(s)")
    assert "clocks stand still" in out
    helped = run_itb("pump", "serve", "--help")
    assert "clocks stand still" in " ".join(helped.stdout.split())


def test_pump_list_shows_the_firmware_estimate_not_the_truth(state: Path) -> None:
    with serving(state, speed="864000") as (_server, port):
        time.sleep(4.0)  # ~40 pump days: past the low-reservoir alarm, estimate and truth apart
        with ProgrammerClient.connect_tcp("127.0.0.1", port, clinic_key(state)) as wand:
            assert wand.interrogate().alarms  # the list must show the alarm the pump raised
    document = StateStore(state).load(SERIAL)
    believed = Pump.from_state(document["pump"]).status()
    truth_nl = document["pump"]["physical"]["reservoir_nl"]
    done = run_itb("pump", "list", "--state", str(state), "--json")
    assert done.returncode == 0, done.stderr
    (pump,) = json.loads(done.stdout)["pumps"]
    assert pump["serial"] == SERIAL and pump["model"] == believed.model
    assert pump["drug"] == "baclofen" and pump["concentration_mcg_per_ml"] == "500"
    assert Fraction(pump["reservoir_estimate_ml"]) * 1_000_000 == believed.reservoir_estimate_nl
    assert believed.reservoir_estimate_nl != truth_nl
    assert [a["kind"] for a in pump["alarms"]] == [kind for kind, _c, _s in believed.alarms]
    text = run_itb("pump", "list", "--state", str(state))
    assert text.returncode == 0 and SERIAL in text.stdout and "reservoir estimate" in text.stdout


def test_pump_list_of_a_folder_without_pumps_is_one_error(tmp_path: Path) -> None:
    done = run_itb("pump", "list", "--state", str(tmp_path / "nothing"))
    assert done.returncode == 2 and done.stderr.startswith("Error: ")
    assert "Next: " in done.stderr and "Traceback" not in done.stderr
