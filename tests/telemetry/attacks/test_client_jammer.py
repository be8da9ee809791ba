"""Issue 17.7: the programmer ignored its own timeouts under a stream of junk.

As filed: one junk byte every 0.5 s made a 2-second open wait 20 seconds (and forever with a
jammer that keeps going), and the buffer of security events grew without limit. Reproduced
with a jammer listening on loopback in place of the pump.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from itb.telemetry.errors import LinkTimeout, SessionClosed
from itb.telemetry.io.client import MAX_SECURITY_EVENTS, ProgrammerClient
from itb.telemetry.io.transport import TcpTransport

from .served import CLINIC_KEY


@contextlib.contextmanager
def jammer(junk: bytes, every_s: float) -> Iterator[int]:
    """A loopback listener that sends `junk` every `every_s` seconds to whoever connects."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(5.0)
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                while not stop.wait(every_s):
                    conn.sendall(junk)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(10)


def test_a_byte_every_half_second_does_not_stretch_the_open_wait() -> None:
    with jammer(b"\x00", 0.5) as port:
        client = ProgrammerClient(TcpTransport("127.0.0.1", port), CLINIC_KEY,
                                  response_timeout_s=2.0)
        started = time.monotonic()
        with pytest.raises((LinkTimeout, SessionClosed)):
            client.open()
        client.transport.close()
    assert time.monotonic() - started < 3.0


def test_the_security_event_buffer_is_bounded() -> None:
    # Each junk write is reported as skipped bytes: a fast jammer, many events.
    with jammer(b"\x00", 0.002) as port:
        client = ProgrammerClient(TcpTransport("127.0.0.1", port), CLINIC_KEY,
                                  response_timeout_s=1.5)
        with pytest.raises((LinkTimeout, SessionClosed)):
            client.open()
        client.transport.close()
    assert len(client.security_events) <= MAX_SECURITY_EVENTS
    assert len(client.security_events) + client.security_events_dropped > 0
