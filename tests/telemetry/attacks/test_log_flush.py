"""Issue 17.6: unauthenticated clients could flush the security log.

As filed: every HELLO-and-hang-up logged a `session_ended` and forced an fsync'd save; 1,100
connections in 4.7 s caused 1,103 saves and pushed the real session entries out of the
ring. Reproduced on a served pump whose ring holds 64 entries (so 200 connections are
enough), with a rate limit wide enough that it does not hide the flush (an attacker with
many sources).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from itb.telemetry.errors import AuthenticationFailed
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.transport import TcpTransport
from itb.telemetry.protocol.guard import LinkPolicy
from itb.telemetry.protocol.keys import LinkKey, Role
from itb.telemetry.protocol.programmer_link import ProgrammerLink
from itb.telemetry.pumpside.audit import SecurityLog

from .served import (
    CLINIC_KEY,
    SERIAL,
    make_state,
    raw_socket,
    read_until_closed,
    served_in_process,
)

WIDE_OPEN = LinkPolicy(handshake_burst=100_000)


def hello() -> bytes:
    link = ProgrammerLink(SERIAL, CLINIC_KEY.key_for(Role.CLINICIAN), Role.CLINICIAN)
    link.start(0.0)
    return link.data_to_send()


def test_hello_and_hang_up_neither_flushes_the_ring_nor_forces_saves(tmp_path: Path) -> None:
    store = make_state(tmp_path, security_log_capacity=64)
    with served_in_process(tmp_path, WIDE_OPEN, store=store) as served:
        with ProgrammerClient(TcpTransport("127.0.0.1", served.port), CLINIC_KEY) as wand:
            wand.read_status()
        saves_before = served.server.stats.saves
        for _ in range(200):
            sock = raw_socket(served.port)
            sock.sendall(hello())
            read_until_closed(sock, 0.002)
            sock.close()
        # Wait until the server has seen every hang-up.
        with ProgrammerClient(TcpTransport("127.0.0.1", served.port), CLINIC_KEY) as wand:
            wand.read_status()
        saves = served.server.stats.saves - saves_before
        log: SecurityLog = served.server.pumps[SERIAL].adapter.security_log
        kinds = [e.kind for e in log.entries()]
    # Before the fix: about 200 saves, and the ring was all session_ended noise.
    assert saves <= 10, saves
    assert kinds.count("session_opened") == 2 and kinds.count("session_ended") >= 1
    assert sum(log.noise.values()) >= 200


def test_failed_proofs_cannot_push_session_entries_out_of_the_ring(tmp_path: Path) -> None:
    store = make_state(tmp_path, security_log_capacity=16)
    stranger = LinkKey(SERIAL, "clinic", b"\x13" * 32)
    with served_in_process(tmp_path, WIDE_OPEN, store=store) as served:
        with ProgrammerClient(TcpTransport("127.0.0.1", served.port), CLINIC_KEY) as wand:
            wand.read_status()
        for _ in range(40):
            with pytest.raises(AuthenticationFailed):
                ProgrammerClient(TcpTransport("127.0.0.1", served.port), stranger).open()
        log = served.server.pumps[SERIAL].adapter.security_log
        kinds = [e.kind for e in log.entries()]
    assert kinds[:2] == ["session_opened", "session_ended"]
    assert kinds.count("authentication_failed") >= 13 and log.overflowed > 0
