"""The real CLI: `itb pump new`, `itb pump serve`, a programmer over loopback TCP, SIGKILL."""

from __future__ import annotations

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
from itb.telemetry.cli import require_loopback
from itb.telemetry.client import ProgrammerClient
from itb.telemetry.commands import ContinuousSpec, HardLimitsSpec, ProgramSpec
from itb.telemetry.errors import CommandRejected, KeyFileError, LinkRefused, SessionClosed
from itb.telemetry.keys import LinkKey, Role
from itb.telemetry.store import StateStore

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
