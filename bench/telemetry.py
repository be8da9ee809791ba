"""Benchmark of the wand link over loopback TCP (not a test).

Figures, all measured in this run against one `PumpServer` in a separate process (and,
for the crypto ratio, also in memory, where no socket or disk time dilutes it):
- full interrogations per second: handshake + interrogation report + the latest 1,000
  log entries + close, each on a new session (and, for reference, within one session);
- bytes on the wire for one full interrogation with 1,000 log entries (both directions);
- the cost of the crypto: the same exchange with AES-256-GCM vs the test-only
  plaintext suite (which a pump accepts only when its host opts in, as this one does).
- the frame overhead: framing bytes per frame, plus counter and tag per sealed frame.

    .venv/bin/python bench/telemetry.py [--seconds 3]
    .venv/bin/python bench/telemetry.py --attack [--seconds 3]

`--attack` reports the server's CPU per attacker byte under issue 17.2's crafted stream (a
valid HELLO, then a REQUEST header announcing 8 KiB every 4 bytes, at 116 KiB/s from
127.0.0.2, reconnecting whenever the server hangs up) and a clinician's open + status +
close from 127.0.0.1 during it. Two runs each, 4 s of attack, on the shared 2-core
development machine; "before" is the same benchmark run against the code of commit
8924bab (PYTHONPATH pointing at `git archive 8924bab src`):

    before: 5.7-6.8 us of server CPU per attacker byte (2.7-3.2 s of CPU in 4 s);
            clinician 6-22 ms quiet, 480-2,900 ms under attack
    after:  0.23-0.25 us per attacker byte (0.11-0.12 s of CPU in 4 s);
            clinician 5-25 ms quiet, 25-28 ms under attack

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from itb.pump import ContinuousTherapy, HardLimits, Program, Pump
from itb.telemetry.errors import LinkRefused
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.server import PumpServer
from itb.telemetry.io.store import StateStore
from itb.telemetry.io.transport import InMemoryTransport, TcpTransport
from itb.telemetry.protocol.channel import COUNTER_BYTES, TAG_BYTES, CipherSuite
from itb.telemetry.protocol.framing import FRAME_OVERHEAD_BYTES
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import LinkKey, Role
from itb.telemetry.protocol.programmer_link import ProgrammerLink
from itb.telemetry.pumpside.runtime import SimulatedPump

SERIAL = "BENCH-1"
LOG_ENTRIES = 1000


class CountingTransport(TcpTransport):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.sent = 0
        self.received = 0

    def send(self, data: bytes) -> None:
        self.sent += len(data)
        super().send(data)

    def receive(self, timeout_s: float) -> bytes | None:
        data = super().receive(timeout_s)
        if data:
            self.received += len(data)
        return data


def make_pump(state: Path) -> LinkKey:
    """A pump whose log holds 999 entries, so that with its session's entry it holds 1,000."""
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    # devices.md worked example: 20 mL at 500 mcg/mL, 300 mcg/day.
    program = Program(ContinuousTherapy(Fraction(300)), HardLimits(Fraction(400), Fraction(100)))
    pump = Pump.implant("synchromed-ii-20", serial=SERIAL, at=start, fill_nl=20_000_000,
                        concentration_mcg_per_ml=Fraction(500), program=program)
    minute = 0
    while pump.log.next_index < LOG_ENTRIES - 1:
        minute += 1
        pump.advance(start + timedelta(minutes=minute))
        pump.set_alarm_volume(2_000_000 + minute % 1000)
    key = secrets.token_bytes(32)
    StateStore(state).save(SERIAL, SimulatedPump(pump, key, LinkGuard()).to_document())
    return LinkKey(SERIAL, "clinic", key)


def serve_only(state: str) -> None:
    """Child process: serve the bench pump, plaintext allowed for the comparison."""
    server = PumpServer(StateStore(Path(state)), speed=1.0,
                        policy=LinkPolicy(allow_plaintext_for_benchmark=True),
                        save_interval_s=3600.0)

    def ready(port: int) -> None:
        print(port, flush=True)

    asyncio.run(server.run("127.0.0.1", 0, ready))


def full_interrogation(port: int, key: LinkKey, suite: CipherSuite) -> tuple[int, int]:
    transport = CountingTransport("127.0.0.1", port)
    with ProgrammerClient(transport, key, suite=suite) as wand:
        report = wand.interrogate()
        log = wand.read_log_all(max(0, report.log_next_index - LOG_ENTRIES))
    assert len(log) == LOG_ENTRIES, len(log)
    return transport.sent, transport.received


def interleaved(seconds: float, first: Callable[[], object], second: Callable[[], object]
                ) -> tuple[list[float], list[float]]:
    """Durations of `first` and `second`, run alternately for about `seconds`.

    Alternating one by one exposes both to the same background load (the machine is shared),
    so their ratio stays meaningful even when the absolute rates wander.
    """
    first()
    second()
    times_first: list[float] = []
    times_second: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times_first) < 5:
        for action, times in ((first, times_first), (second, times_second)):
            t0 = time.perf_counter()
            action()
            times.append(time.perf_counter() - t0)
    return times_first, times_second


def in_memory_exchange(key: LinkKey, pump: SimulatedPump, suite: CipherSuite) -> None:
    """The same full interrogation with no socket and no disk: link, crypto and codec only."""
    transport = InMemoryTransport(pump.host, time.monotonic)
    with ProgrammerClient(transport, key, suite=suite) as wand:
        report = wand.interrogate()
        wand.read_log_all(max(0, report.log_next_index - LOG_ENTRIES))


# Issue 17.2's crafted stream: a REQUEST header announcing 8,176 bytes every 4 bytes, so
# every fourth offset is a complete frame whose CRC fails once 8 KiB are buffered.
CRAFTED = bytes([1, 0x10, 0x1F, 0xF0]) * 4096


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The stream: 116 KiB/s, sent in 4 KiB pieces.
ATTACK_BYTES_PER_S = 116 * 1024
ATTACK_PIECE = 4096


def attacker(port: int, key: LinkKey, seconds: float) -> int:
    """Send HELLO + crafted bytes at the issue's 116 KiB/s, reconnecting whenever the server
    hangs up; returns the bytes sent."""
    link_hello = ProgrammerLink(key.serial, key.key_for(Role.CLINICIAN), Role.CLINICIAN)
    link_hello.start(0.0)
    hello = link_hello.data_to_send()
    sent = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            # From another loopback address: another source to the pump's rate limit.
            with socket.create_connection(("127.0.0.1", port), timeout=1.0,
                                          source_address=("127.0.0.2", 0)) as sock:
                sock.sendall(hello)
                sent += len(hello)
                while time.monotonic() - started < seconds:
                    piece = CRAFTED[sent % 4:][:ATTACK_PIECE]
                    sock.sendall(piece)
                    sent += len(piece)
                    ahead = sent / ATTACK_BYTES_PER_S - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        except OSError:
            time.sleep(0.01)
    return sent


def clinician_visit_ms(port: int, key: LinkKey) -> float:
    """Open + status + close, as the issue timed it (5 ms unattacked, 2.2 s attacked)."""
    started = time.perf_counter()
    while True:
        try:
            with ProgrammerClient(TcpTransport("127.0.0.1", port), key,
                                  response_timeout_s=30.0) as wand:
                wand.read_status()
            return (time.perf_counter() - started) * 1000
        except LinkRefused as refused:  # a busy pump says when to retry; so does a programmer
            time.sleep(refused.retry_after_s)


@contextlib.contextmanager
def server_process(state: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """This script's `--serve-only` in a child process over `state`: (the child, its port)."""
    child = subprocess.Popen([sys.executable, __file__, "--serve-only", state],
                             stdout=subprocess.PIPE, text=True)
    try:
        yield child, int(child.stdout.readline())  # type: ignore[union-attr]
    finally:
        child.terminate()
        child.wait(timeout=20)


def attack_figures(seconds: float) -> dict[str, float]:
    """Server CPU per attacker byte under issue 17.2's crafted stream, and a clinician's
    visit time during the attack."""
    with tempfile.TemporaryDirectory() as state:
        key = make_pump(Path(state))
        with server_process(state) as (child, port):
            quiet_ms = statistics.median(clinician_visit_ms(port, key) for _ in range(5))
            # The server's own ticking and saving, to subtract from the attacked figure.
            idle_start = cpu_seconds(child.pid)
            time.sleep(seconds)
            idle = cpu_seconds(child.pid) - idle_start
            cpu_before = cpu_seconds(child.pid)
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                attack = pool.submit(attacker, port, key, seconds)
                time.sleep(seconds / 2)
                attacked_ms = clinician_visit_ms(port, key)
                sent = attack.result()
            cpu = cpu_seconds(child.pid) - cpu_before - idle
    return {"attacker_bytes": sent, "server_cpu_s": round(cpu, 3),
            "server_idle_cpu_s": round(idle, 3),
            "server_cpu_us_per_attacker_byte": round(cpu / max(sent, 1) * 1e6, 3),
            "clinician_visit_ms_quiet": round(quiet_ms, 1),
            "clinician_visit_ms_under_attack": round(attacked_ms, 1)}


def print_attack(seconds: float) -> None:
    figures = attack_figures(seconds)
    print(f"crafted stream (issue 17.2): {figures['attacker_bytes']} bytes sent, "
          f"server CPU {figures['server_cpu_s']} s = "
          f"{figures['server_cpu_us_per_attacker_byte']} us per attacker byte; clinician "
          f"open + status + close {figures['clinician_visit_ms_quiet']} ms quiet, "
          f"{figures['clinician_visit_ms_under_attack']} ms under attack")
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--attack", action="store_true",
                        help="only the decoder-CPU attack figures (issue 17.2)")
    parser.add_argument("--serve-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_only:
        serve_only(args.serve_only)
        return
    if args.attack:
        print_attack(args.seconds)
        return
    with tempfile.TemporaryDirectory() as state:
        key = make_pump(Path(state))
        with server_process(state) as (_child, port):
            sent, received = full_interrogation(port, key, CipherSuite.AES_256_GCM)
            plain_sent, plain_received = full_interrogation(
                port, key, CipherSuite.PLAINTEXT_FOR_BENCHMARK_ONLY)
            aes_times, plain_times = interleaved(
                args.seconds,
                lambda: full_interrogation(port, key, CipherSuite.AES_256_GCM),
                lambda: full_interrogation(port, key, CipherSuite.PLAINTEXT_FOR_BENCHMARK_ONLY))
            with ProgrammerClient(TcpTransport("127.0.0.1", port), key) as wand:
                session_times, _ = interleaved(
                    args.seconds / 3,
                    lambda: wand.read_log_all(max(0, wand.interrogate().log_next_index
                                                  - LOG_ENTRIES)),
                    lambda: None)
        local = SimulatedPump.from_document(StateStore(Path(state)).load(SERIAL), now_s=0.0,
                                            policy=LinkPolicy(allow_plaintext_for_benchmark=True))
        memory_aes, memory_plain = interleaved(
            args.seconds / 2,
            lambda: in_memory_exchange(key, local, CipherSuite.AES_256_GCM),
            lambda: in_memory_exchange(key, local, CipherSuite.PLAINTEXT_FOR_BENCHMARK_ONLY))
    aes = 1 / statistics.median(aes_times)
    plain = 1 / statistics.median(plain_times)
    in_session = 1 / statistics.median(session_times)
    ratio = statistics.median(aes_times) / statistics.median(plain_times)
    memory_ratio = statistics.median(memory_aes) / statistics.median(memory_plain)
    figures = {
        "full_interrogations_per_s": round(aes, 1),
        "full_interrogations_per_s_plaintext_reference": round(plain, 1),
        "crypto_time_ratio": round(ratio, 3),
        "crypto_time_ratio_in_memory": round(memory_ratio, 3),
        "in_memory_full_interrogation_ms": round(statistics.median(memory_aes) * 1000, 2),
        "exchanges_timed": len(aes_times),
        "in_session_interrogations_per_s": round(in_session, 1),
        "interrogation_bytes_on_wire": sent + received,
        "interrogation_bytes_to_pump": sent,
        "interrogation_bytes_from_pump": received,
        "interrogation_bytes_on_wire_plaintext": plain_sent + plain_received,
        "log_entries": LOG_ENTRIES,
        "frame_overhead_bytes": FRAME_OVERHEAD_BYTES,
        "sealed_frame_overhead_bytes": FRAME_OVERHEAD_BYTES + COUNTER_BYTES + TAG_BYTES,
    }
    print(f"full interrogation (handshake + report + {LOG_ENTRIES} log entries + close), "
          f"loopback TCP:")
    print(f"  AES-256-GCM:          {aes:8.1f} /s")
    print(f"  plaintext reference:  {plain:8.1f} /s   (test-only suite, same server, same run)")
    print(f"  crypto time ratio:    {ratio:8.3f}   (median time with crypto / without, "
          f"{len(aes_times)} alternating pairs)")
    print(f"  same exchange in memory (no socket, no disk): "
          f"{statistics.median(memory_aes) * 1000:.2f} ms, crypto time ratio {memory_ratio:.3f}")
    print(f"  within one session:   {in_session:8.1f} /s   (report + {LOG_ENTRIES} entries)")
    print(f"bytes on the wire: {sent + received} ({sent} to the pump, {received} from it); "
          f"plaintext {plain_sent + plain_received}")
    print(f"frame overhead: {FRAME_OVERHEAD_BYTES} bytes per frame, "
          f"{FRAME_OVERHEAD_BYTES + COUNTER_BYTES + TAG_BYTES} per sealed frame")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
