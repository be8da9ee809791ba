"""A real pump server on a free loopback port for the attack suite, and raw sockets to it.

`served_in_process` runs `PumpServer` on its own event loop in a thread (fast, and the
test can look at the server's counters); `served_subprocess` runs the real `itb pump serve`
in a child process, optionally with a small descriptor limit (the flood needs one).
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.pump_server import stop_server

from itb.telemetry.io.server import PumpServer
from itb.telemetry.io.store import StateStore
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import LinkKey
from itb.telemetry.pumpside.audit import SECURITY_LOG_CAPACITY, SecurityLog
from itb.telemetry.pumpside.runtime import SimulatedPump

from ..linkkit import PUMP_KEY, SERIAL
from ..pumpkit import implanted_pump

ITB = str(Path(sys.executable).parent / "itb")
CLINIC_KEY = LinkKey(SERIAL, "clinic", PUMP_KEY)
PATIENT_KEY = CLINIC_KEY.patient_key()


def make_state(root: Path, security_log_capacity: int = SECURITY_LOG_CAPACITY) -> StateStore:
    store = StateStore(root)
    store.save(SERIAL, SimulatedPump(implanted_pump(), PUMP_KEY, LinkGuard(),
                                     SecurityLog(security_log_capacity)).to_document())
    return store


@dataclass
class InProcess:
    server: PumpServer
    port: int
    loop: asyncio.AbstractEventLoop
    log: list[str] = field(default_factory=list)

    def call(self, fn: Callable[..., Any], *args: object) -> Any:
        """`fn(*args)` run on the server's loop (the server is single-threaded)."""
        async def run() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)


@contextlib.contextmanager
def served_in_process(root: Path, policy: LinkPolicy | None = None,
                      store: StateStore | None = None, **options: object) -> Iterator[InProcess]:
    store = store or make_state(root)
    log: list[str] = []
    server = PumpServer(store, policy=policy, tick_s=0.05, log=log.append,
                        **options)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(10)
    ticker = asyncio.run_coroutine_threadsafe(server._ticker(), loop)
    try:
        yield InProcess(server, port, loop, log)
    finally:
        ticker.cancel()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
        asyncio.run_coroutine_threadsafe(_cancel_the_rest(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextlib.contextmanager
def served_subprocess(root: Path, max_descriptors: int | None = None
                      ) -> Iterator[tuple[subprocess.Popen[str], int]]:
    make_state(root)

    def limit() -> None:
        if max_descriptors is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_descriptors, max_descriptors))

    process = subprocess.Popen([ITB, "pump", "serve", "--state", str(root), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=limit)
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert "serving 1 pump(s)" in line, line
        yield process, int(line.rsplit(":", 1)[1].split()[0])
    finally:
        stop_server(process)


async def _cancel_the_rest() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def raw_socket(port: int, timeout_s: float = 2.0, source: str | None = None) -> socket.socket:
    """A connection to the server; `source` another loopback address to come from (the
    pump rate-limits handshakes per source address)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s,
                                    source_address=None if source is None else (source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket, within_s: float) -> tuple[bytes, bool]:
    """Everything the server sends within `within_s`, and whether it hung up."""
    data = b""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            return data, False
        except OSError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False
