"""A real `itb pump serve` subprocess for the end-to-end tests: make a pump, age it at
high speed, serve it in real time, stop it.

Shared by the e2e modules (`from pump_server import ...`, as pytest puts this folder on
the path for them).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ITB = str(ROOT / ".venv" / "bin" / "itb")
# The same Typer app as `itb programmer`, loaded without the rest of itb (faster start);
# the interactive wizard and the report in the tests go through `itb programmer` itself.
PROGRAMMER = [str(ROOT / ".venv" / "bin" / "python"), "-m", "itb.programmer"]
SERIAL = "ITB-E2E-1"
# 864,000x real time: ten pump days per second, to age the pump before the visit.
AGEING_SPEED = "864000"


@dataclass
class ServedPump:
    state: Path
    port: int
    key_file: Path
    session: Path
    process: subprocess.Popen[str]

    def args(self, port: int | None = None) -> list[str]:
        return ["--port", str(self.port if port is None else port), "--key-file",
                str(self.key_file), "--serial", SERIAL, "--session", str(self.session)]

    def run(self, *command: str, port: int | None = None, timeout: float = 60,
            full_cli: bool = False) -> subprocess.CompletedProcess[str]:
        program = [ITB, "programmer"] if full_cli else PROGRAMMER
        return subprocess.run([*program, *command, *self.args(port)],
                              capture_output=True, text=True, timeout=timeout, check=False)

    def interrogate(self) -> dict:
        done = self.run("interrogate", "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def syringe_ml(self) -> str:
        """The residual the nurse really withdraws: the simulator's true reservoir volume,
        read down to 0.1 mL as a syringe is (a few seconds stale at most, so never more
        than the reservoir really holds)."""
        raw = (self.state / "pumps" / f"{SERIAL}.state").read_bytes().split(b"\n", 1)[1]
        true_nl = json.loads(raw)["pump"]["physical"]["reservoir_nl"]
        tenths = int(Fraction(true_nl, 100_000)) - 1
        return f"{tenths // 10}.{tenths % 10}"


def start_server(state: Path, speed: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([ITB, "pump", "serve", "--state", str(state), "--port", "0",
                                "--speed", speed], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"on 127\.0\.0\.1:(\d+)", line)
    if match is None:
        process.kill()
        raise AssertionError(f"pump server did not start: {line!r} {process.stderr.read()}")
    return process, int(match.group(1))


def stop_server(process: subprocess.Popen[str]) -> None:
    """SIGTERM (the server saves its pumps and exits), then a kill if it takes over 20 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def new_pump(state: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ITB, "pump", "new", "--state", str(state), "--model",
                           "synchromed-ii-20", "--serial", SERIAL, "--daily-dose", "300",
                           "--max-daily-dose", "600", *extra], capture_output=True, text=True,
                          timeout=60, check=False)


def serve_pump(tmp: Path, *, days: float, new_args: tuple[str, ...] = ()) -> Iterator[ServedPump]:
    state = tmp / "state"
    made = new_pump(state, *new_args)
    assert made.returncode == 0, made.stderr
    if days:
        ageing, _port = start_server(state, AGEING_SPEED)
        time.sleep(days / 10)
        stop_server(ageing)
    process, port = start_server(state, "1")
    try:
        yield ServedPump(state, port, state / "keys" / f"{SERIAL}.key", tmp / "session.jsonl",
                         process)
    finally:
        stop_server(process)
