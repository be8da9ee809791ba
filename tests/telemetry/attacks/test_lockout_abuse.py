"""Issue 17.4: anyone who knew the serial could lock the clinic out with junk proofs.

As filed: five junk PROVE frames locked the pump for 15 minutes, the lock survived a restart,
and five more every 15 minutes kept the clinic out for good. Reproduced on a real served
pump over loopback; the attacker and the clinician share the loopback source.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from itb.telemetry.errors import AuthenticationFailed, LinkRefused
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.transport import TcpTransport
from itb.telemetry.protocol.keys import LinkKey

from .served import CLINIC_KEY, SERIAL, served_in_process

STRANGER = LinkKey(SERIAL, "clinic", b"\x13" * 32)


def junk_proofs(port: int, count: int) -> int:
    """Handshakes with a key that is not the pump's; returns how many the pump refused."""
    refused = 0
    for _ in range(count):
        try:
            ProgrammerClient(TcpTransport("127.0.0.1", port), STRANGER,
                             response_timeout_s=2.0).open()
        except (AuthenticationFailed, LinkRefused):
            refused += 1
    return refused


def clinician_status(port: int) -> str:
    with ProgrammerClient(TcpTransport("127.0.0.1", port), CLINIC_KEY,
                          response_timeout_s=2.0) as wand:
        return wand.read_status().serial


def test_five_junk_proofs_do_not_lock_the_clinician_out(tmp_path: Path) -> None:
    with served_in_process(tmp_path) as served:
        assert junk_proofs(served.port, 5) == 5
        assert clinician_status(served.port) == SERIAL
    # Nor after a restart (the lock used to be saved with the pump).
    with served_in_process(tmp_path, store=served.server.store) as served:
        assert junk_proofs(served.port, 5) == 5
        assert clinician_status(served.port) == SERIAL


def test_a_sustained_junk_stream_from_the_clinicians_source_delays_only_seconds(
        tmp_path: Path) -> None:
    with served_in_process(tmp_path) as served:
        assert junk_proofs(served.port, 40) == 40
        started = time.monotonic()
        while True:
            try:
                assert clinician_status(served.port) == SERIAL
                break
            except LinkRefused as refused:
                assert refused.retry_after_s <= 2  # seconds, never minutes
                assert time.monotonic() - started < 5.0
                time.sleep(refused.retry_after_s)
        audit = [e.kind for e in served.server.pumps[SERIAL].adapter.security_log.entries()]
    assert "authentication_failed" in audit and "handshake_rate_limited" in audit


@pytest.mark.parametrize("attempts", [5, 9])
def test_the_audit_keeps_every_failed_proof(tmp_path: Path, attempts: int) -> None:
    with served_in_process(tmp_path) as served:
        junk_proofs(served.port, attempts)
        clinician_status(served.port)
        audit = [e.kind for e in served.server.pumps[SERIAL].adapter.security_log.entries()]
    assert audit.count("authentication_failed") == attempts
