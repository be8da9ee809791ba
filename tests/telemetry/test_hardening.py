"""Issue 17.9 and its codec notes: strict single-item CBOR, role before parse, printable ids."""

from __future__ import annotations

import cbor2
import pytest

from itb.errors import InvalidInput
from itb.telemetry.protocol import codec
from itb.telemetry.protocol.codec import WireFormatError
from itb.telemetry.protocol.commands import Program, ReadStatus
from itb.telemetry.protocol.events import SecurityEvent, SecurityEventKind, SessionOpened
from itb.telemetry.protocol.framing import FrameType, encode_frame
from itb.telemetry.protocol.keys import Role
from itb.telemetry.protocol.labels import escape_label
from itb.telemetry.protocol.link import REQUEST_ID, SESSION_TIME_MS, parse_hello
from itb.telemetry.protocol.messages import REQUESTS, ErrorCode, ErrorResponse

from .linkkit import SERIAL, exchange, open_session, programmer_link, pump_link
from .pumpkit import bench


def test_loads_strict_refuses_bytes_after_the_cbor_item() -> None:
    assert codec.loads_strict(cbor2.dumps([1, 2])) == [1, 2]
    with pytest.raises(WireFormatError, match="after the CBOR item"):
        codec.loads_strict(cbor2.dumps([1, 2]) + b"\x00")


def test_a_command_with_trailing_bytes_is_malformed() -> None:
    with pytest.raises(WireFormatError):
        REQUESTS.decode(REQUESTS.encode(ReadStatus()) + b"\xff")


def test_the_role_is_checked_before_the_command_is_parsed() -> None:
    """A patient session sending Program with junk fields gets NOT_PERMITTED, not MALFORMED:
    the pump never parsed the fields."""
    programmer, pump = open_session(Role.PATIENT)
    junk_program = cbor2.dumps([Program.KIND, ["not", "a", "program"]])
    programmer._send_sealed(FrameType.REQUEST,
                            REQUEST_ID.pack(5) + SESSION_TIME_MS.pack(0) + junk_program)
    programmer._pending.add(5)
    pump_events, programmer_events = exchange(programmer, pump, 1.0)
    assert [e.kind for e in pump_events if isinstance(e, SecurityEvent)] == [
        SecurityEventKind.ROLE_VIOLATION]
    responses = [e.response for e in programmer_events if hasattr(e, "response")]
    assert len(responses) == 1 and isinstance(responses[0], ErrorResponse)
    assert responses[0].code is ErrorCode.NOT_PERMITTED


def test_programmer_id_with_control_characters_is_refused_in_the_hello() -> None:
    hostile = "clinic-programmer-7\x1b[2K\rrole=clinician"
    pump = pump_link()
    body = cbor2.dumps([SERIAL, int(Role.CLINICIAN), 1, bytes(16), hostile])
    assert isinstance(parse_hello(body), str)
    events = pump.receive_data(encode_frame(FrameType.HELLO, body), 0.0)
    assert not any(isinstance(e, SessionOpened) for e in events)
    logged = [e for e in events if isinstance(e, SecurityEvent)]
    assert logged and logged[0].kind is SecurityEventKind.MALFORMED_HANDSHAKE
    assert "\x1b" not in logged[0].detail and "\\x1b" in logged[0].detail


@pytest.mark.parametrize("programmer_id", ["a\x1bb", "é-programmer", "", "x" * 65, "tab\there"])
def test_programmer_link_refuses_a_non_printable_programmer_id(programmer_id: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        programmer_link(programmer_id=programmer_id)
    assert refused.value.field == "programmer_id"


def test_printable_ascii_programmer_id_opens_a_session_and_is_logged_as_given() -> None:
    b = bench()
    wand = b.client()
    wand.link.programmer_id = "clinic-programmer-7 (room 2)"
    wand.open()
    opened = [e for e in b.adapter.security_log.entries() if e.kind == "session_opened"]
    assert dict(opened[-1].details)["programmer_id"] == "clinic-programmer-7 (room 2)"


def test_log_details_are_escaped_when_served() -> None:
    b = bench()
    b.adapter.security_log.append(0, "session_opened", programmer_id="old\x1b[2K\rid")
    with b.client() as wand:
        page = wand.read_security_log(0)
    values = [d.value for e in page.entries for d in e.details]
    assert "old\\x1b[2K\\rid" in values and not any("\x1b" in v for v in values)


def test_escape_label_keeps_printable_ascii_and_escapes_the_rest() -> None:
    assert escape_label("abc ~!") == "abc ~!"
    assert escape_label("a\\b\x00\u00e9") == "a\\\\b\\x00\\xe9"


def test_a_full_security_log_drops_the_lowest_rank_first_and_pages_by_index() -> None:
    from itb.telemetry.pumpside.audit import SecurityLog

    log = SecurityLog(4)
    log.append(0, "session_opened", role="clinician")
    log.count_noise(1, "corrupt_frame")          # index 1: a noise summary
    log.append(2, "authentication_failed")       # index 2
    log.append(3, "session_ended", reason="x")   # index 3
    log.append(4, "authentication_failed")       # index 4: drops the noise summary
    log.append(5, "authentication_failed")       # index 5: drops index 2
    assert [e.index for e in log.entries()] == [0, 3, 4, 5]
    assert [e.index for e in log.since(1, 10)] == [3, 4, 5]
    assert log.overflowed == 2 and log.noise["corrupt_frame"] == 1
    restored = SecurityLog.from_state(log.to_state())
    assert restored.noise == log.noise and restored.entries() == log.entries()
