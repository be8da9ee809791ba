"""Issue 17.5: a stolen patient handheld could hold the only session slot for an hour.

As filed: patient sessions lasted up to an hour and were renewed at once; the clinician got
"busy" throughout. Reproduced on a real served pump over loopback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from itb.telemetry.errors import LinkRefused, SessionClosed
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.transport import TcpTransport
from itb.telemetry.protocol.guard import LinkPolicy
from itb.telemetry.protocol.keys import Role

from .served import CLINIC_KEY, PATIENT_KEY, SERIAL, served_in_process


def handheld(port: int) -> ProgrammerClient:
    return ProgrammerClient(TcpTransport("127.0.0.1", port), PATIENT_KEY, Role.PATIENT,
                            response_timeout_s=2.0)


def test_a_clinician_whose_proof_verifies_ends_a_patient_session(tmp_path: Path) -> None:
    with served_in_process(tmp_path) as served:
        hog = handheld(served.port)
        hog.open()
        assert hog.read_status().serial == SERIAL
        with ProgrammerClient(TcpTransport("127.0.0.1", served.port), CLINIC_KEY,
                              response_timeout_s=2.0) as wand:
            assert wand.interrogate().serial == SERIAL
            with pytest.raises(SessionClosed):
                hog.read_status()
            hog.transport.close()
            # The handheld cannot take the slot straight back.
            with pytest.raises(LinkRefused, match="cooldown"):
                handheld(served.port).open()
        audit = [e.kind for e in served.server.pumps[SERIAL].adapter.security_log.entries()]
    assert "patient_session_ended_for_clinician" in audit


def test_patient_sessions_are_minutes_long_and_cannot_be_renewed_at_once(
        tmp_path: Path) -> None:
    with served_in_process(tmp_path) as served:
        first = handheld(served.port)
        session = first.open()
        assert session.max_session_s <= 300  # minutes, not the clinician's hour
        first.close()
        with pytest.raises(LinkRefused, match="cooldown") as refused:
            handheld(served.port).open()
        assert 0 < refused.value.retry_after_s <= LinkPolicy().patient_cooldown_s


def test_a_wrong_key_cannot_end_a_patient_session(tmp_path: Path) -> None:
    from itb.telemetry.errors import AuthenticationFailed
    from itb.telemetry.protocol.keys import LinkKey

    with served_in_process(tmp_path) as served:
        patient = handheld(served.port)
        patient.open()
        stranger = LinkKey(SERIAL, "clinic", b"\x13" * 32)
        with pytest.raises(AuthenticationFailed):
            ProgrammerClient(TcpTransport("127.0.0.1", served.port), stranger,
                             response_timeout_s=2.0).open()
        assert patient.read_status().serial == SERIAL
        patient.close()
