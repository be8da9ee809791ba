"""The programmer's end of one session with one pump, as a pure state machine.

It knows bytes, the time it is handed and the role key; it trusts nothing the pump says
until the pump has proven that key (see `link` for the exchange). Which frame a state
accepts, and what handles it, is the table `ProgrammerLink.HANDLERS`.
"""

from __future__ import annotations

import itertools
import secrets
from typing import ClassVar

from itb.errors import InvalidInput
from itb.telemetry.errors import ChannelExhausted, LinkStateError, SessionClosed, WireFormatError
from itb.telemetry.protocol import codec
from itb.telemetry.protocol.channel import CipherSuite, Opened, SealedChannel
from itb.telemetry.protocol.events import (
    ProgrammerEvent,
    Refused,
    ResponseReceived,
    SecurityEventKind,
    SessionEnded,
    SessionEstablished,
)
from itb.telemetry.protocol.framing import Frame, FrameType, Garbage
from itb.telemetry.protocol.keys import NONCE_BYTES, Role, session_keys, transcript_hash
from itb.telemetry.protocol.labels import MAX_PROGRAMMER_ID, escape_label, valid_programmer_id
from itb.telemetry.protocol.link import (
    MAX_MESSAGE_BYTES,
    REQUEST_ID,
    SESSION_TIME_MS,
    LinkSide,
    LinkState,
    RandomBytes,
    parse_refused,
)
from itb.telemetry.protocol.messages import REQUESTS, RESPONSES, Command, ErrorCode, ErrorResponse


class ProgrammerLink(LinkSide):
    """The programmer's (or patient handheld's) end of one session with one pump."""

    def __init__(self, serial: str, key_for_role: bytes, role: Role,
                 suite: CipherSuite = CipherSuite.AES_256_GCM,
                 handshake_timeout_s: float = 10.0,
                 random_bytes: RandomBytes = secrets.token_bytes,
                 programmer_id: str = "itb-programmer") -> None:
        super().__init__(serial, random_bytes)
        if not valid_programmer_id(programmer_id):
            raise InvalidInput("programmer_id", escape_label(str(programmer_id)),
                               f"1 to {MAX_PROGRAMMER_ID} printable ASCII characters")
        # Sent in the HELLO and bound into the transcript, so the pump logs who it talked to.
        self.programmer_id = programmer_id
        self.role = role
        self.suite = suite
        self._key = key_for_role
        self._handshake_timeout_s = handshake_timeout_s
        self._nonce = b""
        self._deadline_s = 0.0
        self._idle_timeout_s = 0
        self._max_session_s = 0
        self._opened_s = 0.0
        self._last_activity_s = 0.0
        self._request_ids = itertools.count(1)
        self._pending: set[int] = set()
        self.end_reason = ""

    @property
    def is_open(self) -> bool:
        return self.state is LinkState.OPEN

    def start(self, now_s: float) -> None:
        if self.state is not LinkState.IDLE:
            raise LinkStateError("start a handshake", self.state.value, "the link is new")
        self._nonce = self._random_bytes(NONCE_BYTES)
        self._transcript = self._send_clear(
            FrameType.HELLO,
            [self.serial, int(self.role), int(self.suite), self._nonce, self.programmer_id])[:-2]
        self._deadline_s = now_s + self._handshake_timeout_s
        self.state = LinkState.AWAIT_CHALLENGE

    def send_request(self, command: Command, now_s: float) -> int:
        """Seal one command; returns the request id its response will carry."""
        self._check_open(now_s)
        request_id = next(self._request_ids)
        body = REQUESTS.encode(command)
        room = MAX_MESSAGE_BYTES - SESSION_TIME_MS.size
        if len(body) > room:
            raise InvalidInput("command size", f"{len(body)} bytes", f"at most {room}")
        session_ms = min(max(0, int((now_s - self._opened_s) * 1000)), 2**32 - 1)
        try:
            self._send_sealed(FrameType.REQUEST, REQUEST_ID.pack(request_id)
                              + SESSION_TIME_MS.pack(session_ms) + body)
        except ChannelExhausted:
            self.state = LinkState.CLOSED
            raise SessionClosed("frame counter exhausted; open a new session") from None
        self._pending.add(request_id)
        self._last_activity_s = now_s
        return request_id

    def close(self, now_s: float) -> None:
        if self.state is LinkState.OPEN:
            self._send_sealed(FrameType.CLOSE, codec.dumps(["closed by the programmer"]))
        self.state = LinkState.CLOSED
        self.end_reason = self.end_reason or "closed by the programmer"

    def receive_data(self, data: bytes, now_s: float) -> list[ProgrammerEvent]:
        events: list[ProgrammerEvent] = []
        for item in self._items(data, now_s):
            if isinstance(item, Garbage):
                self._security(events, SecurityEventKind.CORRUPT_FRAME,
                               f"{item.skipped_bytes} bytes skipped: {item.reason}", now_s)
            else:
                self._on_frame(item, now_s, events)
        return events

    def tick(self, now_s: float) -> list[ProgrammerEvent]:
        events = self.receive_data(b"", now_s)
        reason = self._lapsed(now_s)
        if reason:
            self._end(events, reason, now_s)
        return events

    def _check_open(self, now_s: float) -> None:
        reason = self._lapsed(now_s)
        if reason:
            self.state = LinkState.CLOSED
            self.end_reason = reason
        if self.state is not LinkState.OPEN:
            if self.state is LinkState.CLOSED:
                raise SessionClosed(self.end_reason or "closed")
            raise LinkStateError("send a command", self.state.value, "the session is open")

    def _lapsed(self, now_s: float) -> str:
        if self.state in (LinkState.AWAIT_CHALLENGE, LinkState.AWAIT_ACCEPT) \
                and now_s >= self._deadline_s:
            return "handshake timeout"
        if self.state is LinkState.OPEN:
            if now_s >= self._opened_s + self._max_session_s:
                return "session time limit reached"
            if now_s >= self._last_activity_s + self._idle_timeout_s and not self._pending:
                return "idle timeout"
        return ""

    # The frames each state accepts, and the handler of each; any other frame is dropped
    # as unexpected. A handler moves the state on (AWAIT_CHALLENGE -> AWAIT_ACCEPT -> OPEN
    # -> CLOSED).
    HANDLERS: ClassVar[dict[tuple[LinkState, FrameType], str]] = {
        (LinkState.AWAIT_CHALLENGE, FrameType.REFUSED): "_on_refused",
        (LinkState.AWAIT_ACCEPT, FrameType.REFUSED): "_on_refused",
        (LinkState.AWAIT_CHALLENGE, FrameType.CHALLENGE): "_on_challenge",
        (LinkState.AWAIT_ACCEPT, FrameType.ACCEPT): "_on_accept",
        (LinkState.OPEN, FrameType.RESPONSE): "_on_response",
        (LinkState.OPEN, FrameType.CLOSE): "_on_close",
    }

    def _on_refused(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        refusal = parse_refused(frame.body)
        if isinstance(refusal, str):
            self._security(events, SecurityEventKind.MALFORMED_HANDSHAKE, refusal, now_s)
            return
        events.append(Refused(refusal[0], refusal[1], now_s=now_s))
        self._end(events, f"refused: {refusal[0]}", now_s)

    def _on_close(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        opened = self._open(frame)
        if not isinstance(opened, Opened):
            self._security(events, opened[0], opened[1], now_s)
            return
        reason = "closed by the pump"
        try:
            raw = codec.loads_strict(opened.plaintext)
            if isinstance(raw, list) and raw and isinstance(raw[0], str):
                reason = raw[0][:200]
        except WireFormatError:
            pass
        self._end(events, reason, now_s)

    def _on_challenge(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        try:
            raw = codec.loads_strict(frame.body)
        except WireFormatError as exc:
            self._security(events, SecurityEventKind.MALFORMED_HANDSHAKE, str(exc), now_s)
            return
        if not (isinstance(raw, list) and len(raw) == 1 and type(raw[0]) is bytes
                and len(raw[0]) == NONCE_BYTES):
            self._security(events, SecurityEventKind.MALFORMED_HANDSHAKE,
                           "CHALLENGE is [16-byte nonce]", now_s)
            return
        self._transcript += frame.header + frame.body
        keys = session_keys(self._key, self._nonce, raw[0], self._transcript)
        self._channel = SealedChannel(self.suite, keys.programmer_to_pump, keys.pump_to_programmer)
        self._send_sealed(FrameType.PROVE, transcript_hash(self._transcript))
        self.state = LinkState.AWAIT_ACCEPT

    def _on_accept(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        opened = self._open(frame)
        terms = None
        if isinstance(opened, Opened) and opened.counter == 0:
            try:
                terms = codec.loads_strict(opened.plaintext)
            except WireFormatError:
                terms = None
        expected = transcript_hash(self._transcript)
        if not (isinstance(terms, list) and len(terms) == 3 and type(terms[0]) is bytes
                and secrets.compare_digest(terms[0], expected)
                and all(type(t) is int and t > 0 for t in terms[1:])):
            # A forged ACCEPT is dropped; the real one may still come before the deadline.
            self._security(events, SecurityEventKind.AUTHENTICATION_FAILED,
                           "ACCEPT does not prove the pump's key", now_s)
            return
        self._idle_timeout_s, self._max_session_s = terms[1], terms[2]
        self._opened_s = self._last_activity_s = now_s
        self.state = LinkState.OPEN
        events.append(SessionEstablished(self.serial, self.role, self._idle_timeout_s,
                                         self._max_session_s, now_s=now_s))

    def _on_response(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        opened = self._open(frame)
        if not isinstance(opened, Opened):
            self._security(events, opened[0], opened[1], now_s)
            return
        if len(opened.plaintext) < REQUEST_ID.size:
            self._security(events, SecurityEventKind.MALFORMED_MESSAGE, "no request id", now_s)
            return
        (request_id,) = REQUEST_ID.unpack_from(opened.plaintext)
        if request_id not in self._pending:
            self._security(events, SecurityEventKind.UNSOLICITED_RESPONSE,
                           f"response to request {request_id} never sent", now_s)
            return
        try:
            response = RESPONSES.decode(opened.plaintext[REQUEST_ID.size:])
        except (WireFormatError, InvalidInput) as exc:
            response = ErrorResponse(ErrorCode.MALFORMED,
                                     f"pump's answer did not parse: {exc}"[:200])
        self._pending.discard(request_id)
        self._last_activity_s = now_s
        events.append(ResponseReceived(request_id, response, now_s=now_s))

    def _end(self, events: list[ProgrammerEvent], reason: str, now_s: float) -> None:
        self.state = LinkState.CLOSED
        self.end_reason = reason
        self._pending.clear()
        events.append(SessionEnded(reason, now_s=now_s))
