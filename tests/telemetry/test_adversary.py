"""Hostile bytes against a live pump: nothing raises, nothing changes the pump's state.

"Pump state" is `Pump.to_state()`: program, reservoir, alarms, log, battery, memory.
Dropped frames are recorded only in the link's own audit log, beside the pump.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.telemetry.errors import AuthenticationFailed, SessionClosed
from itb.telemetry.io.transport import InMemoryTransport
from itb.telemetry.protocol.framing import Frame, FrameDecoder, FrameType, encode_frame
from itb.telemetry.protocol.keys import LinkKey, Role

from .linkkit import SERIAL
from .pumpkit import bench

SETTINGS = settings(max_examples=60, deadline=None)


def recorded_stop() -> tuple[object, bytes]:
    """A bench with an open session, and the exact bytes of a STOP the programmer sent."""
    b = bench()
    wand = b.client()
    wand.open()
    stop = __import__("itb.telemetry.protocol.commands", fromlist=["Stop"]).Stop
    wand.link.send_request(stop(), 0.0)
    return (b, wand), wand.link.data_to_send()


def audit_kinds(b) -> list[str]:
    return [e.kind for e in b.adapter.security_log.entries()]


@given(st.binary(min_size=1, max_size=600))
@SETTINGS
def test_random_bytes_into_an_open_session_change_nothing(noise: bytes) -> None:
    b = bench()
    wand = b.client()
    wand.open()
    before = b.pump_state()
    wand.transport.inject(noise)  # type: ignore[attr-defined]
    assert b.pump_state() == before
    assert wand.read_status().serial == SERIAL  # the real session still works


@given(st.binary(min_size=1, max_size=300), st.sampled_from(list(FrameType)))
@SETTINGS
def test_well_framed_garbage_changes_nothing(body: bytes, frame_type: FrameType) -> None:
    b = bench()
    wand = b.client()
    wand.open()
    before = b.pump_state()
    wand.transport.inject(encode_frame(frame_type, body))  # type: ignore[attr-defined]
    assert b.pump_state() == before


@given(st.data())
@SETTINGS
def test_bit_flips_in_a_real_command_never_reach_the_pump(data: st.DataObject) -> None:
    (b, wand), wire = recorded_stop()
    before = b.pump_state()
    damaged = bytearray(wire)
    bits = data.draw(st.sets(st.integers(0, len(wire) * 8 - 1), min_size=1, max_size=3))
    for bit in bits:
        damaged[bit // 8] ^= 1 << (bit % 8)
    wand.transport.inject(bytes(damaged))
    assert b.pump_state() == before and not b.adapter.pump.stopped


@given(st.data())
@SETTINGS
def test_truncated_commands_never_reach_the_pump(data: st.DataObject) -> None:
    (b, wand), wire = recorded_stop()
    before = b.pump_state()
    cut = data.draw(st.integers(0, len(wire) - 1))
    wand.transport.inject(wire[:cut])
    wand.transport.close()  # the stream ends on the truncated frame
    assert b.pump_state() == before


def test_replayed_stop_is_dropped_and_audited() -> None:
    (b, wand), wire = recorded_stop()
    wand.transport.inject(wire)
    assert b.adapter.pump.stopped
    wand.transport.receive(0)
    wand.resume()
    before = b.pump_state()
    wand.transport.inject(wire)  # the attacker plays the recorded STOP again
    assert b.pump_state() == before and not b.adapter.pump.stopped
    assert "replayed_frame" in audit_kinds(b)


def test_recorded_session_replayed_on_a_new_connection_changes_nothing() -> None:
    b = bench()
    wand = b.client()
    with wand:
        wand.stop()
        wand.resume()
    recording = b"".join(data for direction, data in wand.transport.wire  # type: ignore[attr-defined]
                         if direction == "to_pump")
    before = b.pump_state()
    attacker = InMemoryTransport(b.host, b.clock)
    attacker.send(recording)
    attacker.close()
    assert b.pump_state() == before
    assert "authentication_failed" in audit_kinds(b)


def test_wrong_key_cannot_command_the_pump() -> None:
    b = bench()
    stranger = LinkKey(SERIAL, "clinic", b"\x13" * 32)
    before = b.pump_state()
    with pytest.raises(AuthenticationFailed):
        b.client(key=stranger).open()
    assert b.pump_state() == before
    # The failed proof gets an entry; the handshake that never opened is only counted.
    assert audit_kinds(b) == ["authentication_failed", "unauthenticated_noise"]


def test_forged_request_in_a_live_session_is_dropped() -> None:
    (b, wand), wire = recorded_stop()
    decoder = FrameDecoder()
    decoder.receive_data(wire)
    (frame,) = [f for f in decoder.flush() if isinstance(f, Frame)]
    forged = bytearray(frame.body)
    forged[6] ^= 0xFF  # alter the ciphertext and recompute the CRC, as an attacker can
    before = b.pump_state()
    wand.transport.inject(encode_frame(frame.type, bytes(forged)))
    assert b.pump_state() == before and audit_kinds(b)[-1] == "forged_frame"


def test_stolen_patient_handheld_cannot_become_a_clinician() -> None:
    b = bench()
    handheld = b.client(Role.PATIENT)
    handheld.open()
    with pytest.raises(ValueError, match="role"):
        b.client(Role.CLINICIAN, key=LinkKey(SERIAL, "patient",
                                             handheld.link._key))


def test_idle_session_times_out_end_to_end() -> None:
    b = bench()
    wand = b.client()
    wand.open()
    b.clock.now_s += 121
    with pytest.raises(SessionClosed, match="idle timeout"):
        wand.read_status()
    b.host.tick(b.clock.now_s)
    (ended,) = [e for e in b.adapter.security_log.entries() if e.kind == "session_ended"]
    assert ended.details == (("reason", "idle timeout"),)


def test_a_pump_refuses_a_patient_bolus_beyond_the_daily_maximum() -> None:
    from datetime import timedelta

    from .pumpkit import IMPLANT

    b = bench()
    granted = 0
    for hour in range(1, 8):
        b.adapter.pump.advance(IMPLANT + timedelta(hours=hour))
        b.clock.now_s = hour * 3600.0  # past the patient session cooldown (issue 17.5)
        with b.client(Role.PATIENT) as handheld:
            granted += handheld.request_patient_bolus().granted
    assert granted == 3  # PatientBolusSettings(max_per_24h=3)
    assert b.adapter.pump.active_program.patient_bolus.dose_mcg == Fraction(20)
