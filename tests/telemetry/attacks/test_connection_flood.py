"""Issue 17.1: silent connections must not keep the clinician out or pile up.

The attack as filed: with a 64-descriptor limit, 80 connections that send a HELLO and then
nothing kept the real clinician out ("handshake timeout"), and the server wrote tracebacks
without end. Reproduced against the real `itb pump serve` with the same limit.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from itb.telemetry.errors import LinkRefused
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.transport import TcpTransport
from itb.telemetry.protocol.framing import Frame, FrameDecoder, FrameType
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import Role
from itb.telemetry.protocol.link import parse_refused
from itb.telemetry.protocol.programmer_link import ProgrammerLink

from ..pumpkit import bench
from .served import CLINIC_KEY, SERIAL, raw_socket, read_until_closed, served_subprocess

pytestmark = pytest.mark.e2e
# Another loopback address: the attacker is another source to the pump's rate limit.
ATTACKER = "127.0.0.2"


def hello_bytes() -> bytes:
    link = ProgrammerLink(SERIAL, CLINIC_KEY.key_for(Role.CLINICIAN), Role.CLINICIAN)
    link.start(0.0)
    return link.data_to_send()


def refusals(data: bytes) -> list[str]:
    decoder = FrameDecoder()
    decoder.receive_data(data)
    found = []
    for item in decoder.flush():
        if isinstance(item, Frame) and item.type is FrameType.REFUSED:
            reason = parse_refused(item.body)
            found.append(reason if isinstance(reason, str) else reason[0])
    return found


def test_eighty_silent_hellos_do_not_keep_the_clinician_out(tmp_path: Path) -> None:
    with served_subprocess(tmp_path, max_descriptors=64) as (server, port):
        silent = []
        for _ in range(80):
            sock = raw_socket(port, source=ATTACKER)
            sock.sendall(hello_bytes())
            silent.append(sock)
        time.sleep(0.3)
        started = time.monotonic()
        with ProgrammerClient(TcpTransport("127.0.0.1", port), CLINIC_KEY,
                              response_timeout_s=5.0) as wand:
            assert wand.interrogate().serial == SERIAL
        assert time.monotonic() - started < 3.0
        # The silent connections were hung up, not left open; those whose HELLO was read
        # were refused in words first (the others were cut before their HELLO was read).
        outcomes = []
        for sock in silent:
            data, closed = read_until_closed(sock, 0.05)
            outcomes.append((closed, tuple(refusals(data))))
            sock.close()
        print(outcomes)
        assert sum(closed for closed, _ in outcomes) >= 80 - LinkPolicy().max_handshakes_in_progress
        assert any(reasons for _, reasons in outcomes)
        server.send_signal(15)
        _out, err = server.communicate(timeout=20)
    assert err.count("\n") < 20, err[:2000]


def test_silent_hellos_from_the_clinicians_own_source_delay_it_by_seconds(
        tmp_path: Path) -> None:
    """The same flood from 127.0.0.1, the clinician's own source: the rate limit makes the
    clinician wait as the refusal says (the residual risk in docs/threat-model.md §6)."""
    with served_subprocess(tmp_path, max_descriptors=64) as (_server, port):
        silent = []
        for _ in range(80):
            sock = raw_socket(port)
            sock.sendall(hello_bytes())
            silent.append(sock)
        started = time.monotonic()
        while True:
            try:
                with ProgrammerClient(TcpTransport("127.0.0.1", port), CLINIC_KEY,
                                      response_timeout_s=5.0) as wand:
                    assert wand.interrogate().serial == SERIAL
                break
            except LinkRefused as refused:
                assert refused.retry_after_s <= 2
                time.sleep(refused.retry_after_s)
        assert time.monotonic() - started < 5.0
        for sock in silent:
            sock.close()


def test_sockets_that_never_say_hello_do_not_keep_the_clinician_out(tmp_path: Path) -> None:
    with served_subprocess(tmp_path, max_descriptors=64) as (_server, port):
        mute = [raw_socket(port, source=ATTACKER) for _ in range(80)]
        time.sleep(0.3)
        with ProgrammerClient(TcpTransport("127.0.0.1", port), CLINIC_KEY,
                              response_timeout_s=5.0) as wand:
            assert wand.interrogate().serial == SERIAL
        for sock in mute:
            sock.close()


def test_a_timed_out_handshake_is_refused_in_words_and_the_link_dropped() -> None:
    b = bench(LinkPolicy(handshake_timeout_s=2.0))
    conn = b.host.connect(0.0)
    b.host.receive(conn, hello_bytes(), 0.0)
    out = b.host.tick(2.5)
    assert refusals(out[conn]) == ["handshake timeout"]
    assert b.host.connections == 0 and b.host.finished(conn)


def test_handshakes_in_progress_are_capped_and_the_oldest_makes_room() -> None:
    policy = LinkPolicy(max_handshakes_in_progress=3)
    b = bench(policy)
    conns = []
    for i in range(6):
        conn = b.host.connect(float(i))
        b.host.receive(conn, hello_bytes(), float(i))
        conns.append(conn)
    out = b.host.tick(6.0)
    displaced = [c for c in conns if c in out and refusals(out[c])]
    assert displaced == conns[:3]
    assert b.host.connections == 3
    assert isinstance(b.host.guard, LinkGuard)
