"""Byte carriers for the wand link: an in-memory pair for tests and a TCP client.

A transport only moves bytes. Everything that matters for safety and security is
in the sans-IO link; a transport can lose, delay, duplicate or alter bytes and the
link still drops whatever is not an authentic, in-order frame.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from typing import Protocol

from itb.telemetry.io.clocks import Clock
from itb.telemetry.pumpside.host import PumpHost

# A man in the middle for tests: given the direction ("to_pump" or "to_programmer")
# and the bytes, returns the bytes that arrive instead (possibly b"" to drop them).
Interceptor = Callable[[str, bytes], bytes]


class Transport(Protocol):
    def send(self, data: bytes) -> None: ...

    def receive(self, timeout_s: float) -> bytes | None:
        """Bytes that arrived; b"" if none within `timeout_s`; None if the other end hung up."""
        ...

    def close(self) -> None: ...


class InMemoryTransport:
    """A programmer's transport wired straight to a `PumpHost`, synchronous and deterministic.

    Each `send` is handled by the pump at once, so anything the pump answers is ready
    for the next `receive`; a `receive` with nothing buffered returns b"" immediately,
    because nothing more can come without more input. `wire` records every byte
    string in both directions, for replay and forgery tests.
    """

    def __init__(self, host: PumpHost, clock: Clock,
                 interceptor: Interceptor | None = None) -> None:
        self.host = host
        self.clock = clock
        self.interceptor = interceptor
        self.conn = host.connect(clock())
        self.wire: list[tuple[str, bytes]] = []
        self._inbox = bytearray()
        self._closed = False

    def send(self, data: bytes) -> None:
        if self._closed:
            return
        self.wire.append(("to_pump", data))
        if self.interceptor is not None:
            data = self.interceptor("to_pump", data)
        self._deliver(self.host.receive(self.conn, data, self.clock()))

    def inject(self, data: bytes) -> None:
        """Bytes that reach the pump from someone else on the air (not recorded as ours)."""
        self._deliver(self.host.receive(self.conn, data, self.clock()))

    def receive(self, timeout_s: float) -> bytes | None:
        pending = self.host.tick(self.clock())
        self._deliver(pending.get(self.conn, b""))
        if self._inbox:
            data = bytes(self._inbox)
            self._inbox.clear()
            return data
        if self.host.finished(self.conn):
            return None
        return b""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.host.disconnect(self.conn, self.clock())

    def _deliver(self, data: bytes) -> None:
        if not data:
            return
        self.wire.append(("to_programmer", data))
        if self.interceptor is not None:
            data = self.interceptor("to_programmer", data)
        self._inbox += data


class TcpTransport:
    """A programmer's TCP connection to `itb pump serve` (loopback by default)."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 5.0) -> None:
        self._sock = socket.create_connection((host, port), timeout=connect_timeout_s)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._closed = False

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def receive(self, timeout_s: float) -> bytes | None:
        self._sock.settimeout(max(timeout_s, 0.001))
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            return b""
        except OSError:
            return None
        return data if data else None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
