"""The sans-IO link: handshake, replay, forgery, wrong keys, lockout, timeouts, roles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.telemetry.errors import LinkStateError, SessionClosed
from itb.telemetry.protocol.channel import CipherSuite
from itb.telemetry.protocol.commands import Interrogate, ReadStatus, RequestPatientBolus, Stop
from itb.telemetry.protocol.events import (
    CommandReceived,
    Refused,
    ResponseReceived,
    SecurityEvent,
    SecurityEventKind,
    SessionEnded,
    SessionEstablished,
    SessionOpened,
)
from itb.telemetry.protocol.framing import Frame, FrameDecoder, FrameType, encode_frame
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import LinkKey, Role, role_key
from itb.telemetry.protocol.link import LinkState
from itb.telemetry.protocol.messages import ErrorCode, ErrorResponse

from .linkkit import (
    CLINIC_KEY,
    PUMP_KEY,
    SERIAL,
    exchange,
    open_session,
    programmer_link,
    pump_link,
)


def kinds(events: list) -> list[SecurityEventKind]:
    return [e.kind for e in events if isinstance(e, SecurityEvent)]


def commands(events: list) -> list[CommandReceived]:
    return [e for e in events if isinstance(e, CommandReceived)]


def frames_of(data: bytes) -> list[Frame]:
    decoder = FrameDecoder()
    decoder.receive_data(data)
    return [f for f in decoder.flush() if isinstance(f, Frame)]


def test_handshake_opens_a_session_on_both_sides_with_the_role() -> None:
    pump = pump_link()
    programmer = programmer_link(Role.PATIENT)
    programmer.start(0.0)
    pump_events, programmer_events = exchange(programmer, pump, 0.0)
    assert [type(e) for e in pump_events] == [SessionOpened]
    assert pump_events[0].role is Role.PATIENT
    assert isinstance(programmer_events[0], SessionEstablished)
    assert programmer_events[0].idle_timeout_s == 120


def test_a_command_and_its_answer_cross_the_link() -> None:
    programmer, pump = open_session()
    request_id = programmer.send_request(Interrogate(), 1.0)
    pump_events, _ = exchange(programmer, pump, 1.0)
    (received,) = commands(pump_events)
    assert received.command == Interrogate() and received.request_id == request_id
    pump.send_response(request_id, ErrorResponse(ErrorCode.REFUSED, "test answer"), 1.0)
    _, programmer_events = exchange(programmer, pump, 1.0)
    (answer,) = [e for e in programmer_events if isinstance(e, ResponseReceived)]
    assert answer.response == ErrorResponse(ErrorCode.REFUSED, "test answer")


def test_the_key_never_appears_on_the_wire() -> None:
    programmer, _pump = open_session()
    programmer.send_request(Interrogate(), 1.0)
    wire = programmer.data_to_send()
    for secret in (PUMP_KEY, CLINIC_KEY.key_for(Role.CLINICIAN), CLINIC_KEY.key_for(Role.PATIENT)):
        assert secret not in wire


def test_replayed_request_is_dropped_and_logged() -> None:
    programmer, pump = open_session()
    programmer.send_request(Stop(), 1.0)
    wire = programmer.data_to_send()
    assert len(commands(pump.receive_data(wire, 1.0))) == 1
    again = pump.receive_data(wire, 2.0)
    assert commands(again) == []
    assert kinds(again) == [SecurityEventKind.REPLAYED_FRAME]


def test_reordered_requests_the_late_one_is_dropped() -> None:
    programmer, pump = open_session()
    programmer.send_request(ReadStatus(), 1.0)
    first = programmer.data_to_send()
    programmer.send_request(Stop(), 1.0)
    second = programmer.data_to_send()
    assert [type(c.command) for c in commands(pump.receive_data(second, 1.0))] == [Stop]
    late = pump.receive_data(first, 1.0)
    assert commands(late) == [] and kinds(late) == [SecurityEventKind.REPLAYED_FRAME]


def test_replay_of_a_whole_recorded_session_fails_against_a_fresh_nonce() -> None:
    recorded = []
    programmer2 = programmer_link()
    pump2 = pump_link()
    programmer2.start(0.0)
    recorded.append(programmer2.data_to_send())
    pump2.receive_data(recorded[0], 0.0)
    programmer2.receive_data(pump2.data_to_send(), 0.0)
    recorded.append(programmer2.data_to_send())  # PROVE
    pump2.receive_data(recorded[1], 0.0)
    programmer2.receive_data(pump2.data_to_send(), 0.0)
    programmer2.send_request(Stop(), 0.0)
    recorded.append(programmer2.data_to_send())
    # An attacker replays the recording to a pump that picks a different nonce.
    victim = pump_link()
    victim._random_bytes = lambda n: b"\x99" * n  # a different pump nonce than recorded
    events = []
    for chunk in recorded:
        events += victim.receive_data(chunk, 0.0)
    assert commands(events) == []
    assert SecurityEventKind.AUTHENTICATION_FAILED in kinds(events)


def test_forged_frame_with_the_right_header_is_dropped() -> None:
    programmer, pump = open_session()
    programmer.send_request(Stop(), 1.0)
    (frame,) = frames_of(programmer.data_to_send())
    body = bytearray(frame.body)
    body[-1] ^= 0x01  # flip a tag bit, recompute the CRC as any attacker can
    events = pump.receive_data(encode_frame(FrameType.REQUEST, bytes(body)), 1.0)
    assert commands(events) == [] and kinds(events) == [SecurityEventKind.FORGED_FRAME]


def test_retyped_frame_fails_authentication() -> None:
    programmer, pump = open_session()
    programmer.send_request(Stop(), 1.0)
    (frame,) = frames_of(programmer.data_to_send())
    events = pump.receive_data(encode_frame(FrameType.CLOSE, frame.body), 1.0)
    assert kinds(events) == [SecurityEventKind.FORGED_FRAME] and pump.is_open


def test_truncated_sealed_body_is_dropped() -> None:
    programmer, pump = open_session()
    programmer.send_request(Stop(), 1.0)
    (frame,) = frames_of(programmer.data_to_send())
    events = pump.receive_data(encode_frame(FrameType.REQUEST, frame.body[:10]), 1.0)
    assert commands(events) == [] and kinds(events) == [SecurityEventKind.FORGED_FRAME]


def test_wrong_key_handshake_is_refused_and_counted() -> None:
    guard = LinkGuard()
    pump = pump_link(guard)
    stranger = programmer_link(key=b"\x42" * 32)
    stranger.start(0.0)
    pump_events, programmer_events = exchange(stranger, pump, 0.0)
    assert kinds(pump_events) == [SecurityEventKind.AUTHENTICATION_FAILED]
    assert any(isinstance(e, Refused) and e.reason == "authentication failed"
               for e in programmer_events)
    assert guard.sources["air"].tokens == LinkPolicy().handshake_burst - 1
    assert pump.state is LinkState.CLOSED


def test_patient_key_cannot_open_a_clinician_session() -> None:
    patient_key = CLINIC_KEY.patient_key()
    with pytest.raises(ValueError, match="role"):
        patient_key.key_for(Role.CLINICIAN)
    # Even presenting the patient key as if it were the clinician key fails.
    pump = pump_link()
    impostor = programmer_link(Role.CLINICIAN, key=patient_key.secret)
    impostor.start(0.0)
    pump_events, _ = exchange(impostor, pump, 0.0)
    assert SecurityEventKind.AUTHENTICATION_FAILED in kinds(pump_events)
    assert not any(isinstance(e, SessionOpened) for e in pump_events)


def test_role_keys_are_bound_to_the_serial() -> None:
    other = role_key(PUMP_KEY, "ITB-0002", Role.CLINICIAN)
    assert other != role_key(PUMP_KEY, SERIAL, Role.CLINICIAN)


def hello_from(guard: LinkGuard, source: str, now_s: float, key: bytes | None = None
               ) -> tuple[list, list, object]:
    pump = pump_link(guard, now_s=now_s)
    pump.source = source
    programmer = programmer_link(key=key)
    programmer.start(now_s)
    pump_events, programmer_events = exchange(programmer, pump, now_s)
    return pump_events, programmer_events, pump


def test_handshakes_beyond_a_sources_rate_are_refused_for_seconds_and_audited() -> None:
    guard = LinkGuard(LinkPolicy(handshake_burst=3, handshake_refill_s=2.0))
    logged = []
    for _ in range(3):
        logged += hello_from(guard, "10.0.0.9", 0.0, key=b"\x07" * 32)[0]
    pump_events, programmer_events, _ = hello_from(guard, "10.0.0.9", 0.0, key=b"\x07" * 32)
    assert kinds(pump_events) == [SecurityEventKind.HANDSHAKE_RATE_LIMITED]
    (refusal,) = [e for e in programmer_events if isinstance(e, Refused)]
    assert refusal.reason == "too many handshakes from this source"
    assert 0 < refusal.retry_after_s <= 2
    # The next one is refused too, counted rather than logged again.
    pump_events, _, _ = hello_from(guard, "10.0.0.9", 0.5)
    assert kinds(pump_events) == []
    # Another source is not held back; this one may try again after the wait.
    other = hello_from(guard, "10.0.0.7", 0.5)[2]
    assert other.is_open
    other.close("done", 0.5)
    pump_events, _, pump = hello_from(guard, "10.0.0.9", 2.5)
    assert pump.is_open
    # The HELLO refused after the first is reported as a count once the source is let in.
    (summary,) = [e for e in pump_events if isinstance(e, SecurityEvent)]
    assert summary.kind is SecurityEventKind.HANDSHAKE_RATE_LIMITED
    assert summary.detail.startswith("1 further HELLOs")


def test_failed_proofs_never_lock_the_pump() -> None:
    """Issue 17.4: five junk proofs used to lock every key out for 15 minutes."""
    guard = LinkGuard()
    for attempt in range(LinkPolicy().handshake_burst - 1):
        assert SecurityEventKind.AUTHENTICATION_FAILED in kinds(
            hello_from(guard, "air", float(attempt) / 100, key=bytes([attempt]) * 32)[0])
    assert hello_from(guard, "air", 0.2)[2].is_open


def test_a_source_that_proves_the_key_gets_its_allowance_back() -> None:
    guard = LinkGuard(LinkPolicy(handshake_burst=2))
    hello_from(guard, "air", 0.0, key=b"\x01" * 32)
    assert hello_from(guard, "air", 0.0)[2].is_open
    assert "air" not in guard.sources


def test_nothing_of_the_rate_limit_survives_a_restart() -> None:
    guard = LinkGuard(LinkPolicy(handshake_burst=1))
    hello_from(guard, "air", 0.0, key=b"\x01" * 32)
    assert guard.to_state() == {}
    restored = LinkGuard.from_state({"failure_times_s": [0.0], "locked_until_s": 900.0})
    assert hello_from(restored, "air", 1.0)[2].is_open


def test_idle_session_times_out_on_both_sides() -> None:
    programmer, pump = open_session()
    events = pump.tick(121.0)
    assert any(isinstance(e, SessionEnded) and e.reason == "idle timeout" for e in events)
    programmer_events = programmer.receive_data(pump.data_to_send(), 121.0)
    assert any(isinstance(e, SessionEnded) for e in programmer_events)
    with pytest.raises(SessionClosed):
        programmer.send_request(ReadStatus(), 122.0)


def test_a_request_arriving_after_the_timeout_is_not_acted_on() -> None:
    programmer, pump = open_session()
    programmer.send_request(Stop(), 0.0)
    events = pump.receive_data(programmer.data_to_send(), 500.0)
    assert commands(events) == []
    assert any(isinstance(e, SessionEnded) for e in events)


def test_session_has_a_hard_time_limit_even_when_busy() -> None:
    programmer, pump = open_session()
    acted = []
    for now in range(100, 3700, 100):
        # The programmer's own idle timer and session limit are not under test (its session
        # clock stays true, so the pump's delayed-request check does not interfere).
        programmer._last_activity_s = now
        programmer._max_session_s = 10**6
        programmer.send_request(ReadStatus(), now)
        for c in commands(pump.receive_data(programmer.data_to_send(), now)):
            acted.append(now)
            pump.send_response(c.request_id, ErrorResponse(ErrorCode.REFUSED, "x"), now)
        programmer.receive_data(pump.data_to_send(), now)
    # Never idle for more than 100 s, yet nothing is acted on from the hour's end.
    assert acted[-1] == 3500 and pump.state is LinkState.CLOSED


def test_handshake_that_never_finishes_times_out() -> None:
    pump = pump_link()
    programmer = programmer_link()
    programmer.start(0.0)
    pump.receive_data(programmer.data_to_send(), 0.0)
    events = pump.tick(11.0)
    assert [e.reason for e in events if isinstance(e, SessionEnded)] == ["handshake timeout"]


def test_patient_session_may_read_status_and_ask_for_a_patient_bolus_only() -> None:
    programmer, pump = open_session(Role.PATIENT)
    for allowed in (ReadStatus(), RequestPatientBolus()):
        programmer.send_request(allowed, 1.0)
        assert len(commands(exchange(programmer, pump, 1.0)[0])) == 1
        pump.send_response(pump._pending.copy().pop(), ErrorResponse(ErrorCode.REFUSED, "x"), 1.0)
        exchange(programmer, pump, 1.0)
    programmer.send_request(Stop(), 1.0)
    pump_events, programmer_events = exchange(programmer, pump, 1.0)
    assert commands(pump_events) == []
    assert kinds(pump_events) == [SecurityEventKind.ROLE_VIOLATION]
    (answer,) = [e for e in programmer_events if isinstance(e, ResponseReceived)]
    assert answer.response.code is ErrorCode.NOT_PERMITTED
    assert (answer.response.field, answer.response.value) == ("role", "patient")


def test_downgrade_to_plaintext_is_refused_unless_the_host_opted_in() -> None:
    pump = pump_link()
    programmer = programmer_link(suite=CipherSuite.PLAINTEXT_FOR_BENCHMARK_ONLY)
    programmer.start(0.0)
    pump_events, programmer_events = exchange(programmer, pump, 0.0)
    assert kinds(pump_events) == [SecurityEventKind.DOWNGRADE_REFUSED]
    assert any(isinstance(e, Refused) for e in programmer_events)
    bench_pump = pump_link(policy=LinkPolicy(allow_plaintext_for_benchmark=True))
    programmer = programmer_link(suite=CipherSuite.PLAINTEXT_FOR_BENCHMARK_ONLY)
    programmer.start(0.0)
    exchange(programmer, bench_pump, 0.0)
    assert bench_pump.is_open


def test_hello_for_another_pump_gets_no_answer() -> None:
    pump = pump_link()
    other = programmer_link(serial="ITB-0999", key=b"\x00" * 32)
    other.start(0.0)
    events = pump.receive_data(other.data_to_send(), 0.0)
    assert kinds(events) == [SecurityEventKind.WRONG_SERIAL] and pump.data_to_send() == b""


def test_one_session_at_a_time_per_pump() -> None:
    guard = LinkGuard()
    open_session(guard=guard)
    pump2 = pump_link(guard)
    programmer2 = programmer_link()
    programmer2.start(1.0)
    _, programmer_events = exchange(programmer2, pump2, 1.0)
    assert [e.reason for e in programmer_events if isinstance(e, Refused)] == \
        ["busy: another session is open"]


def test_a_forged_accept_does_not_open_the_programmer_session() -> None:
    pump = pump_link()
    programmer = programmer_link()
    programmer.start(0.0)
    pump.receive_data(programmer.data_to_send(), 0.0)
    programmer.receive_data(pump.data_to_send(), 0.0)  # CHALLENGE
    fake_accept = encode_frame(FrameType.ACCEPT, b"\x00" * 60)
    events = programmer.receive_data(fake_accept, 0.0)
    assert kinds(events) == [SecurityEventKind.AUTHENTICATION_FAILED]
    assert not programmer.is_open


def test_a_fake_pump_cannot_complete_the_handshake() -> None:
    impostor_key = LinkKey(SERIAL, "clinic", b"\x07" * 32)
    impostor = pump_link()
    impostor._key_for_role = lambda role: impostor_key.key_for(role)
    programmer = programmer_link()
    programmer.start(0.0)
    _pump_events, programmer_events = exchange(programmer, impostor, 0.0)
    assert not programmer.is_open
    assert not any(isinstance(e, SessionEstablished) for e in programmer_events)


def test_unsolicited_response_is_dropped() -> None:
    programmer, pump = open_session()
    pump._pending.add(77)
    pump.send_response(77, ErrorResponse(ErrorCode.REFUSED, "x"), 1.0)
    events = programmer.receive_data(pump.data_to_send(), 1.0)
    assert kinds(events) == [SecurityEventKind.UNSOLICITED_RESPONSE]


def test_flood_of_noise_is_logged_within_the_budget() -> None:
    pump = pump_link(policy=LinkPolicy(security_event_budget=4))
    events = []
    for i in range(50):
        events += pump.receive_data(encode_frame(FrameType.PROVE, bytes([i]) * 30), 1.0)
    events += pump.connection_lost(2.0)
    security = [e for e in events if isinstance(e, SecurityEvent)]
    assert len(security) == 5
    assert security[-1].kind is SecurityEventKind.EVENTS_SUPPRESSED
    assert "46 further" in security[-1].detail


def test_a_truncated_frame_does_not_stall_the_link_forever() -> None:
    programmer, pump = open_session()
    programmer.send_request(Stop(), 1.0)
    wire = programmer.data_to_send()
    # A truncated frame whose length field claims more than what follows it.
    truncated = encode_frame(FrameType.REQUEST, b"\x00" * 200)[:30]
    events = pump.receive_data(truncated + wire, 1.0)
    # The real frame behind the truncated one is found at once, the debris reported.
    assert [type(c.command) for c in commands(events)] == [Stop]
    assert kinds(events) == [SecurityEventKind.CORRUPT_FRAME]


def test_a_stalled_partial_frame_is_abandoned_after_the_stall_time() -> None:
    programmer, pump = open_session()
    stray = encode_frame(FrameType.REQUEST, b"\x00" * 200)[:30]
    assert pump.receive_data(stray, 1.0) == []
    events = pump.tick(1.0 + 5.0)
    assert kinds(events) == [SecurityEventKind.CORRUPT_FRAME]
    programmer.send_request(Stop(), 6.0)
    events = pump.receive_data(programmer.data_to_send(), 6.0)
    assert [type(c.command) for c in commands(events)] == [Stop]


def test_sending_before_the_handshake_is_a_local_error() -> None:
    programmer = programmer_link()
    with pytest.raises(LinkStateError):
        programmer.send_request(ReadStatus(), 0.0)
    pump = pump_link()
    with pytest.raises(LinkStateError):
        pump.send_response(1, ErrorResponse(ErrorCode.REFUSED, "x"), 0.0)


air_actions = st.lists(
    st.one_of(
        st.tuples(st.just("frame"), st.integers(0, 5)),        # deliver recorded frame i
        st.tuples(st.just("flip"), st.integers(0, 5), st.integers(0, 10_000)),
        st.tuples(st.just("cut"), st.integers(0, 5), st.integers(0, 60)),
        st.tuples(st.just("noise"), st.binary(min_size=1, max_size=40)),
    ),
    max_size=25)


@given(air_actions)
@settings(max_examples=120, deadline=None)
def test_each_authentic_command_is_acted_on_at_most_once_and_in_order(actions: list) -> None:
    programmer, pump = open_session()
    sent = [ReadStatus(), Stop(), RequestPatientBolus(), Interrogate(), Stop(), ReadStatus()]
    frames = []
    for command in sent:
        programmer.send_request(command, 1.0)
        frames.append(programmer.data_to_send())
    acted: list[int] = []
    for action in actions:
        if action[0] == "frame":
            data = frames[action[1]]
        elif action[0] == "flip":
            damaged = bytearray(frames[action[1]])
            damaged[action[2] % len(damaged)] ^= 0x5A
            data = bytes(damaged)
        elif action[0] == "cut":
            data = frames[action[1]][: action[2] % len(frames[action[1]])]
        else:
            data = action[1]
        for event in pump.receive_data(data, 2.0):
            if isinstance(event, CommandReceived):
                acted.append(event.request_id)
                pump.send_response(event.request_id, ErrorResponse(ErrorCode.REFUSED, "x"), 2.0)
    # Request ids are 1..6 in sending order: strictly increasing means no replay, no reorder.
    assert acted == sorted(set(acted))


@given(st.binary(max_size=400), st.integers(0, 2))
@settings(max_examples=150, deadline=None)
def test_random_bytes_never_become_an_answer_for_the_programmer(noise: bytes, stage: int) -> None:
    pump = pump_link()
    programmer = programmer_link()
    programmer.start(0.0)
    if stage >= 1:
        pump.receive_data(programmer.data_to_send(), 0.0)
        programmer.receive_data(pump.data_to_send(), 0.0)
    if stage == 2:
        pump.receive_data(programmer.data_to_send(), 0.0)
        programmer.receive_data(pump.data_to_send(), 0.0)
        programmer.send_request(ReadStatus(), 0.0)
    events = programmer.receive_data(noise, 1.0) + programmer.tick(1.0)
    assert not any(isinstance(e, ResponseReceived | SessionEstablished) for e in events)
