"""The sans-IO wand link: the pump side and the programmer side as pure state machines.

Like h11, neither side touches a socket or a clock. The host feeds received bytes and
the current time (`receive_data(data, now_s)`), gets events back, asks for the bytes
to send (`data_to_send()`), and calls `tick(now_s)` so sessions can time out.

The exchange::

    programmer                                   pump
    HELLO  serial, role, suite, nonce_p, programmer id  --->
                                         <---    CHALLENGE nonce_d          (or REFUSED)
    both derive session keys = HKDF(role key, nonce_p || nonce_d, transcript)
    PROVE  seal(transcript hash)         --->                                (or REFUSED)
                                         <---    ACCEPT seal(transcript hash, terms)
    REQUEST seal(id, command)            --->
                                         <---    RESPONSE seal(id, answer)
    CLOSE seal(reason)                   <-->

The pump never sends anything that depends on its key before the programmer has
proven the role key, and the programmer does not trust the session until the pump
has proven it too (a fake pump learns nothing and can answer nothing).

Everything arriving off the link is untrusted: no input can raise out of
`receive_data`, and a dropped frame changes no state beyond the report it makes.
"""

from __future__ import annotations

import itertools
import math
import secrets
import struct
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from itb.errors import InvalidInput
from itb.telemetry.errors import LinkStateError, SessionClosed
from itb.telemetry.protocol import codec
from itb.telemetry.protocol.channel import (
    COUNTER_BYTES,
    TAG_BYTES,
    ChannelExhausted,
    CipherSuite,
    Opened,
    SealedChannel,
)
from itb.telemetry.protocol.codec import Message, WireFormatError
from itb.telemetry.protocol.events import (
    CommandReceived,
    ProgrammerEvent,
    PumpEvent,
    Refused,
    ResponseReceived,
    SecurityEvent,
    SecurityEventKind,
    SessionEnded,
    SessionEstablished,
    SessionOpened,
)
from itb.telemetry.protocol.framing import (
    MAX_BODY_BYTES,
    Frame,
    FrameDecoder,
    FrameType,
    Garbage,
    encode_frame,
    frame_header,
)
from itb.telemetry.protocol.guard import LinkGuard
from itb.telemetry.protocol.keys import (
    NONCE_BYTES,
    Role,
    check_serial,
    session_keys,
    transcript_hash,
)
from itb.telemetry.protocol.labels import MAX_PROGRAMMER_ID, escape_label, valid_programmer_id
from itb.telemetry.protocol.messages import REQUESTS, RESPONSES, Command, ErrorCode, ErrorResponse

REQUEST_ID = struct.Struct(">I")
# Each request carries the programmer's session time (ms since its session opened). The pump
# refuses one that lags its own session clock by more than MAX_REQUEST_LAG_S: a request held
# by a man in the middle and delivered after the programmer gave up is never acted on
# (issue 17.3). A wand exchange takes milliseconds; a few seconds leaves room for a loaded
# host (a design choice, not a device figure).
SESSION_TIME_MS = struct.Struct(">I")
MAX_REQUEST_LAG_S = 5.0
# The largest encoded message that fits one sealed frame.
MAX_MESSAGE_BYTES = MAX_BODY_BYTES - COUNTER_BYTES - TAG_BYTES - REQUEST_ID.size
RandomBytes = Callable[[int], bytes]
# A frame still incomplete this long after its first bytes arrived is taken as truncated.
FRAME_STALL_S = 5.0
_owner_tokens = itertools.count(1)
# Events from a connection that never opened a session that still get an audit entry each:
# a wrong key, a rate-limited source, a downgrade attempt (issue 17.6). The rest is counted.
_WORTH_AN_ENTRY = frozenset({SecurityEventKind.AUTHENTICATION_FAILED,
                             SecurityEventKind.HANDSHAKE_RATE_LIMITED,
                             SecurityEventKind.DOWNGRADE_REFUSED,
                             SecurityEventKind.PATIENT_SESSION_ENDED_FOR_CLINICIAN})


class LinkState(StrEnum):
    IDLE = "idle"
    AWAIT_HELLO = "awaiting hello"
    AWAIT_CHALLENGE = "awaiting challenge"
    AWAIT_PROVE = "awaiting proof"
    AWAIT_ACCEPT = "awaiting acceptance"
    OPEN = "open"
    CLOSED = "closed"


class _Side:
    """What both ends share: the frame decoder, the outgoing buffer, sealing."""

    def __init__(self, serial: str, random_bytes: RandomBytes) -> None:
        self.serial = check_serial(serial)
        self._random_bytes = random_bytes
        self._decoder = FrameDecoder()
        self._outgoing = bytearray()
        self._channel: SealedChannel | None = None
        self._transcript = b""
        self._partial_since_s: float | None = None
        self.state = LinkState.IDLE

    def data_to_send(self) -> bytes:
        out = bytes(self._outgoing)
        self._outgoing.clear()
        return out

    @property
    def has_data_to_send(self) -> bool:
        return bool(self._outgoing)

    def _items(self, data: bytes, now_s: float) -> list[Frame | Garbage]:
        self._decoder.receive_data(data)
        return self._decoder.next_items() + self._unstall(now_s)

    def _unstall(self, now_s: float) -> list[Frame | Garbage]:
        """A partial frame that waits too long was truncated: skip past it and re-parse.

        Without this, a truncated frame whose bogus length swallows the next real frame
        would stall the link until its session timed out.
        """
        items: list[Frame | Garbage] = []
        if not self._decoder.pending_bytes:
            self._partial_since_s = None
            return items
        if self._partial_since_s is None:
            self._partial_since_s = now_s
        elif now_s - self._partial_since_s >= FRAME_STALL_S:
            while self._decoder.pending_bytes and not items:
                items += self._decoder.resynchronise()
            self._partial_since_s = now_s if self._decoder.pending_bytes else None
        return items

    def _send_clear(self, frame_type: FrameType, value: Any) -> bytes:
        body = codec.dumps(value)
        frame = encode_frame(frame_type, body)
        self._outgoing += frame
        return frame

    def _send_sealed(self, frame_type: FrameType, plaintext: bytes) -> None:
        assert self._channel is not None
        header = frame_header(frame_type, self._channel.sealed_length(len(plaintext)))
        self._outgoing += encode_frame(frame_type, self._channel.seal(header, plaintext))

    def _open(self, frame: Frame) -> Opened | tuple[SecurityEventKind, str]:
        assert self._channel is not None
        result = self._channel.open(frame.header, frame.body)
        if isinstance(result, Opened):
            return result
        kind = (SecurityEventKind.REPLAYED_FRAME if result.kind == "replay"
                else SecurityEventKind.FORGED_FRAME)
        return kind, f"{frame.type.name}: {result.detail}"


class PumpLink(_Side):
    """The pump's end of one wand connection.

    `guard` is the pump's link memory, shared by all its connections: failure count,
    handshake rates per source and the single session slot.
    """

    def __init__(self, serial: str, pump_key_for_role: Callable[[Role], bytes], guard: LinkGuard,
                 now_s: float, random_bytes: RandomBytes = secrets.token_bytes) -> None:
        super().__init__(serial, random_bytes)
        self._key_for_role = pump_key_for_role
        self.guard = guard
        self.policy = guard.policy
        self.state = LinkState.AWAIT_HELLO
        self.role: Role | None = None
        self.programmer_id = ""
        # Where the connection comes from (the host's word: a peer address, or "air").
        self.source = "air"
        self._owner = next(_owner_tokens)
        self._deadline_s = now_s + self.policy.handshake_timeout_s
        self._started_s = now_s
        self._was_open = False
        self._opened_s = 0.0
        self._last_activity_s = 0.0
        self._pending: set[int] = set()
        self._reported = 0
        self._suppressed = 0

    @property
    def is_open(self) -> bool:
        return self.state is LinkState.OPEN

    @property
    def in_handshake(self) -> bool:
        return self.state in (LinkState.AWAIT_HELLO, LinkState.AWAIT_PROVE)

    @property
    def started_s(self) -> float:
        """When the handshake began (its deadline minus the handshake time)."""
        return self._started_s

    def displace(self, reason: str, now_s: float) -> list[PumpEvent]:
        """End a handshake still in progress to make room for a newer one, in words."""
        events: list[PumpEvent] = []
        if self.in_handshake:
            self._refuse(events, reason, 1, now_s)
        return events

    # -- input -----------------------------------------------------------------------------
    def receive_data(self, data: bytes, now_s: float) -> list[PumpEvent]:
        events: list[PumpEvent] = []
        self._expire(now_s, events)
        for item in self._items(data, now_s):
            if isinstance(item, Garbage):
                self._security(events, SecurityEventKind.CORRUPT_FRAME,
                               f"{item.skipped_bytes} bytes skipped: {item.reason}", now_s)
                continue
            # Timeouts are checked per frame: nothing is acted on after a session lapses.
            self._expire(now_s, events)
            self._on_frame(item, now_s, events)
        if self._decoder.overwhelmed and self.state is not LinkState.CLOSED:
            # Bounded work per connection (issue 17.2): this much debris is not a wand.
            self._security(events, SecurityEventKind.CORRUPT_FRAME,
                           f"{self._decoder.skipped_total} bytes skipped, "
                           f"{self._decoder.crc_failures} CRC failures: connection ended", now_s)
            if self.state is LinkState.OPEN:
                events.extend(self.close("too much noise on the link", now_s))
            else:
                self._refuse(events, "too much noise on the link", 1, now_s)
        return events

    def tick(self, now_s: float) -> list[PumpEvent]:
        return self.receive_data(b"", now_s)

    def connection_lost(self, now_s: float) -> list[PumpEvent]:
        events: list[PumpEvent] = []
        # A finished link can act on nothing more: its leftover bytes are not worth parsing.
        leftover = self._decoder.flush() if self.state is not LinkState.CLOSED else []
        for item in leftover:
            if isinstance(item, Garbage):
                self._security(events, SecurityEventKind.CORRUPT_FRAME,
                               f"{item.skipped_bytes} bytes skipped: {item.reason}", now_s)
        if self.state is not LinkState.CLOSED:
            self._end(events, "connection lost", now_s)
        self._summarise(events, now_s)
        return events

    # -- output ----------------------------------------------------------------------------
    def send_response(self, request_id: int, response: Message, now_s: float) -> None:
        """Answer a `CommandReceived`. Raises LinkStateError if the session is not open."""
        if self.state is not LinkState.OPEN:
            raise LinkStateError("send a response", self.state.value, "the session is open")
        if request_id not in self._pending:
            raise LinkStateError(f"answer request {request_id}", "without that request pending",
                                 "answering a request that arrived")
        plaintext = REQUEST_ID.pack(request_id) + RESPONSES.encode(response)
        if len(plaintext) - REQUEST_ID.size > MAX_MESSAGE_BYTES:
            raise ValueError(f"response of {len(plaintext)} bytes does not fit one frame")
        self._pending.discard(request_id)
        self._send_sealed(FrameType.RESPONSE, plaintext)

    def close(self, reason: str, now_s: float) -> list[PumpEvent]:
        events: list[PumpEvent] = []
        if self.state is LinkState.OPEN:
            self._send_sealed(FrameType.CLOSE, codec.dumps([reason[:200]]))
        if self.state is not LinkState.CLOSED:
            self._end(events, reason, now_s)
        return events

    # -- internals -------------------------------------------------------------------------
    def _on_frame(self, frame: Frame, now_s: float, events: list[PumpEvent]) -> None:
        if self.state is LinkState.AWAIT_HELLO and frame.type is FrameType.HELLO:
            self._on_hello(frame, now_s, events)
        elif self.state is LinkState.AWAIT_PROVE and frame.type is FrameType.PROVE:
            self._on_prove(frame, now_s, events)
        elif self.state is LinkState.OPEN and frame.type is FrameType.REQUEST:
            self._on_request(frame, now_s, events)
        elif self.state is LinkState.OPEN and frame.type is FrameType.CLOSE:
            opened = self._open(frame)
            if isinstance(opened, Opened):
                self._end(events, "closed by the programmer", now_s)
            else:
                self._security(events, opened[0], opened[1], now_s)
        else:
            self._security(events, SecurityEventKind.UNEXPECTED_FRAME,
                           f"{frame.type.name} while {self.state.value}", now_s)

    def _on_hello(self, frame: Frame, now_s: float, events: list[PumpEvent]) -> None:
        hello = parse_hello(frame.body)
        if isinstance(hello, str):
            self._security(events, SecurityEventKind.MALFORMED_HANDSHAKE, hello, now_s)
            return
        serial, role, suite, nonce_programmer, programmer_id = hello
        if serial != self.serial:
            # A radio pump stays silent to a HELLO for another pump.
            self._security(events, SecurityEventKind.WRONG_SERIAL, f"HELLO for {serial!r}", now_s)
            return
        if suite is not CipherSuite.AES_256_GCM and not self.policy.allow_plaintext_for_benchmark:
            self._security(events, SecurityEventKind.DOWNGRADE_REFUSED,
                           f"suite {suite.name} asked for", now_s)
            self._refuse(events, "cipher suite not accepted", 0, now_s)
            return
        if not self._admitted(role, now_s, events):
            return
        nonce_pump = self._random_bytes(NONCE_BYTES)
        challenge = self._send_clear(FrameType.CHALLENGE, [nonce_pump])
        self._transcript = frame.header + frame.body + challenge[:-2]
        keys = session_keys(self._key_for_role(role), nonce_programmer, nonce_pump,
                            self._transcript)
        self._channel = SealedChannel(suite, keys.pump_to_programmer, keys.programmer_to_pump)
        self.role = role
        self.programmer_id = programmer_id
        self.state = LinkState.AWAIT_PROVE
        self._deadline_s = now_s + self.policy.handshake_timeout_s

    def _admitted(self, role: Role, now_s: float, events: list[PumpEvent]) -> bool:
        """Rate per source (issue 17.4), patient cooldown (17.5) and the slot; refuses if not."""
        wait_s, refused = self.guard.admit_handshake(self.source, now_s)
        if wait_s > 0:
            if refused == 0:  # the first of a run is logged; the rest are counted
                self._security(events, SecurityEventKind.HANDSHAKE_RATE_LIMITED,
                               f"{role.name.lower()} HELLO from {escape_label(self.source)}: "
                               f"more than {self.policy.handshake_burst} handshakes, then one "
                               f"per {self.policy.handshake_refill_s:g} s", now_s)
            self._refuse(events, "too many handshakes from this source", math.ceil(wait_s),
                         now_s)
            return False
        if refused > 1:
            self._security(events, SecurityEventKind.HANDSHAKE_RATE_LIMITED,
                           f"{refused - 1} further HELLOs from {escape_label(self.source)} "
                           f"were refused", now_s)
        if role is Role.PATIENT and self.guard.patient_wait_s(now_s) > 0:
            self._refuse(events, "patient session cooldown",
                         math.ceil(self.guard.patient_wait_s(now_s)), now_s)
            return False
        if not self.guard.slot_free_for(self._owner, now_s, role):
            self._refuse(events, "busy: another session is open", 0, now_s)
            return False
        return True

    def _on_prove(self, frame: Frame, now_s: float, events: list[PumpEvent]) -> None:
        assert self.role is not None
        opened = self._open(frame)
        expected = transcript_hash(self._transcript)
        if not (isinstance(opened, Opened) and opened.counter == 0
                and secrets.compare_digest(opened.plaintext, expected)):
            self._security(events, SecurityEventKind.AUTHENTICATION_FAILED,
                           f"{self.role.name.lower()} proof from {escape_label(self.source)} "
                           f"does not verify", now_s)
            self._refuse(events, "authentication failed", 0, now_s)
            return
        if not self.guard.slot_free_for(self._owner, now_s, self.role):
            self._refuse(events, "busy: another session is open", 0, now_s)
            return
        self.guard.proof_verified(self.source)
        if self.guard.session_role is Role.PATIENT and not self.guard.holds_slot(self._owner) \
                and now_s < self.guard.session_deadline_s:
            # A clinician ends the patient's session (issue 17.5); that link closes on its
            # next tick, and the patient's cooldown starts now.
            self.guard.patient_cooldown_until_s = now_s + self.policy.patient_cooldown_s
            self._security(events, SecurityEventKind.PATIENT_SESSION_ENDED_FOR_CLINICIAN,
                           f"clinician {escape_label(self.programmer_id)} took the session "
                           f"slot", now_s)
        self._opened_s = self._last_activity_s = now_s
        self.guard.take_slot(self._owner, self._session_deadline(), self.role)
        self._was_open = True
        self._send_sealed(FrameType.ACCEPT, codec.dumps(
            [expected, int(self.policy.idle_timeout_s),
             int(self.policy.session_limit_s(self.role))]))
        self.state = LinkState.OPEN
        events.append(SessionOpened(self.serial, self.role, self.programmer_id, now_s))

    def _on_request(self, frame: Frame, now_s: float, events: list[PumpEvent]) -> None:
        assert self.role is not None
        opened = self._open(frame)
        if not isinstance(opened, Opened):
            self._security(events, opened[0], opened[1], now_s)
            return
        self._last_activity_s = now_s
        self.guard.take_slot(self._owner, self._session_deadline())
        if len(opened.plaintext) < REQUEST_ID.size:
            self._security(events, SecurityEventKind.MALFORMED_MESSAGE, "no request id", now_s)
            return
        (request_id,) = REQUEST_ID.unpack_from(opened.plaintext)
        self._pending.add(request_id)
        late = self._lag(opened.plaintext, now_s)
        if late is not None:
            self._security(events, SecurityEventKind.DELAYED_REQUEST, late, now_s)
            self.send_response(request_id, ErrorResponse(ErrorCode.DELAYED, late), now_s)
            return
        body = opened.plaintext[REQUEST_ID.size + SESSION_TIME_MS.size:]
        # The role is checked on the announced kind before the fields are parsed: a session
        # may not make the pump parse a command it may not give.
        announced = REQUESTS.kind_of(body)
        if announced is not None and issubclass(announced, Command) \
                and self.role not in announced.ROLES:
            self._refuse_role(events, request_id, announced, now_s)
            return
        try:
            command = REQUESTS.decode(body)
        except WireFormatError as exc:
            self._security(events, SecurityEventKind.MALFORMED_MESSAGE, str(exc)[:200], now_s)
            self.send_response(request_id, ErrorResponse(ErrorCode.MALFORMED, str(exc)[:200]),
                               now_s)
            return
        except InvalidInput as exc:
            self.send_response(request_id, ErrorResponse.from_invalid_input(exc), now_s)
            return
        assert isinstance(command, Command)
        if self.role not in command.ROLES:
            self._refuse_role(events, request_id, type(command), now_s)
            return
        events.append(CommandReceived(request_id, command, self.role, now_s))

    def _refuse_role(self, events: list[PumpEvent], request_id: int, command: type[Command],
                     now_s: float) -> None:
        assert self.role is not None
        self._security(events, SecurityEventKind.ROLE_VIOLATION,
                       f"{self.role.name.lower()} session sent {command.__name__}", now_s)
        allowed = ", ".join(sorted(r.name.lower() for r in command.ROLES))
        self.send_response(request_id, ErrorResponse(
            ErrorCode.NOT_PERMITTED, f"{command.__name__} needs the {allowed} role",
            "role", self.role.name.lower(), allowed), now_s)

    def _session_limit_s(self) -> float:
        assert self.role is not None
        return self.policy.session_limit_s(self.role)

    def _lag(self, plaintext: bytes, now_s: float) -> str | None:
        """Why a request is refused as delayed (or missing its session time), else None."""
        if len(plaintext) < REQUEST_ID.size + SESSION_TIME_MS.size:
            return "the request carries no session time: not carried out"
        (sent_ms,) = SESSION_TIME_MS.unpack_from(plaintext, REQUEST_ID.size)
        lag_s = (now_s - self._opened_s) - sent_ms / 1000
        if lag_s > MAX_REQUEST_LAG_S:
            return (f"the request arrived {lag_s:.1f} s after it was sent (more than "
                    f"{MAX_REQUEST_LAG_S:g} s): not carried out")
        return None

    def _session_deadline(self) -> float:
        return min(self._opened_s + self._session_limit_s(),
                   self._last_activity_s + self.policy.idle_timeout_s)

    def _expire(self, now_s: float, events: list[PumpEvent]) -> None:
        if self.state in (LinkState.AWAIT_HELLO, LinkState.AWAIT_PROVE) \
                and now_s >= self._deadline_s:
            # Refused in words, so the host has bytes to send and hangs up (issue 17.1).
            self._refuse(events, "handshake timeout", 0, now_s)
        elif self.state is LinkState.OPEN:
            if not self.guard.holds_slot(self._owner):
                events.extend(self.close("session ended for a clinician", now_s))
            elif now_s >= self._opened_s + self._session_limit_s():
                events.extend(self.close("session time limit reached", now_s))
            elif now_s >= self._last_activity_s + self.policy.idle_timeout_s:
                events.extend(self.close("idle timeout", now_s))

    def _refuse(self, events: list[PumpEvent], reason: str, retry_after_s: int,
                now_s: float) -> None:
        self._send_clear(FrameType.REFUSED, [reason, retry_after_s])
        self._end(events, reason, now_s)

    def _end(self, events: list[PumpEvent], reason: str, now_s: float) -> None:
        self.state = LinkState.CLOSED
        self.guard.release_slot(self._owner, now_s)
        self._pending.clear()
        events.append(SessionEnded(reason, now_s, opened=self._was_open))

    def _security(self, events: list[PumpEvent], kind: SecurityEventKind, detail: str,
                  now_s: float) -> None:
        noise = not self._was_open and kind not in _WORTH_AN_ENTRY
        if self._reported < self.policy.security_event_budget:
            self._reported += 1
            events.append(SecurityEvent(kind, detail, now_s, noise=noise))
        else:
            self._suppressed += 1

    def _summarise(self, events: list[PumpEvent], now_s: float) -> None:
        if self._suppressed:
            events.append(SecurityEvent(SecurityEventKind.EVENTS_SUPPRESSED,
                                        f"{self._suppressed} further dropped frames on this "
                                        f"connection", now_s, noise=not self._was_open))
            self._suppressed = 0


class ProgrammerLink(_Side):
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
                events.append(SecurityEvent(SecurityEventKind.CORRUPT_FRAME,
                                            f"{item.skipped_bytes} bytes skipped: {item.reason}",
                                            now_s))
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

    def _on_frame(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        if frame.type is FrameType.REFUSED and self.state in (LinkState.AWAIT_CHALLENGE,
                                                              LinkState.AWAIT_ACCEPT):
            refusal = _parse_refused(frame.body)
            if isinstance(refusal, str):
                events.append(SecurityEvent(SecurityEventKind.MALFORMED_HANDSHAKE, refusal, now_s))
                return
            events.append(Refused(refusal[0], refusal[1], now_s))
            self._end(events, f"refused: {refusal[0]}", now_s)
        elif frame.type is FrameType.CHALLENGE and self.state is LinkState.AWAIT_CHALLENGE:
            self._on_challenge(frame, now_s, events)
        elif frame.type is FrameType.ACCEPT and self.state is LinkState.AWAIT_ACCEPT:
            self._on_accept(frame, now_s, events)
        elif frame.type is FrameType.RESPONSE and self.state is LinkState.OPEN:
            self._on_response(frame, now_s, events)
        elif frame.type is FrameType.CLOSE and self.state is LinkState.OPEN:
            opened = self._open(frame)
            if isinstance(opened, Opened):
                reason = "closed by the pump"
                try:
                    raw = codec.loads_strict(opened.plaintext)
                    if isinstance(raw, list) and raw and isinstance(raw[0], str):
                        reason = raw[0][:200]
                except WireFormatError:
                    pass
                self._end(events, reason, now_s)
            else:
                events.append(SecurityEvent(opened[0], opened[1], now_s))
        else:
            events.append(SecurityEvent(SecurityEventKind.UNEXPECTED_FRAME,
                                        f"{frame.type.name} while {self.state.value}", now_s))

    def _on_challenge(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        try:
            raw = codec.loads_strict(frame.body)
        except WireFormatError as exc:
            events.append(SecurityEvent(SecurityEventKind.MALFORMED_HANDSHAKE, str(exc), now_s))
            return
        if not (isinstance(raw, list) and len(raw) == 1 and type(raw[0]) is bytes
                and len(raw[0]) == NONCE_BYTES):
            events.append(SecurityEvent(SecurityEventKind.MALFORMED_HANDSHAKE,
                                        "CHALLENGE is [16-byte nonce]", now_s))
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
            events.append(SecurityEvent(SecurityEventKind.AUTHENTICATION_FAILED,
                                        "ACCEPT does not prove the pump's key", now_s))
            return
        self._idle_timeout_s, self._max_session_s = terms[1], terms[2]
        self._opened_s = self._last_activity_s = now_s
        self.state = LinkState.OPEN
        events.append(SessionEstablished(self.serial, self.role, self._idle_timeout_s,
                                         self._max_session_s, now_s))

    def _on_response(self, frame: Frame, now_s: float, events: list[ProgrammerEvent]) -> None:
        opened = self._open(frame)
        if not isinstance(opened, Opened):
            events.append(SecurityEvent(opened[0], opened[1], now_s))
            return
        if len(opened.plaintext) < REQUEST_ID.size:
            events.append(SecurityEvent(SecurityEventKind.MALFORMED_MESSAGE, "no request id",
                                        now_s))
            return
        (request_id,) = REQUEST_ID.unpack_from(opened.plaintext)
        if request_id not in self._pending:
            events.append(SecurityEvent(SecurityEventKind.UNSOLICITED_RESPONSE,
                                        f"response to request {request_id} never sent", now_s))
            return
        try:
            response = RESPONSES.decode(opened.plaintext[REQUEST_ID.size:])
        except (WireFormatError, InvalidInput) as exc:
            response = ErrorResponse(ErrorCode.MALFORMED,
                                     f"pump's answer did not parse: {exc}"[:200])
        self._pending.discard(request_id)
        self._last_activity_s = now_s
        events.append(ResponseReceived(request_id, response, now_s))

    def _end(self, events: list[ProgrammerEvent], reason: str, now_s: float) -> None:
        self.state = LinkState.CLOSED
        self.end_reason = reason
        self._pending.clear()
        events.append(SessionEnded(reason, now_s))


def parse_hello(body: bytes) -> tuple[str, Role, CipherSuite, bytes, str] | str:
    try:
        raw = codec.loads_strict(body)
    except WireFormatError as exc:
        return str(exc)
    if not (isinstance(raw, list) and len(raw) == 5 and type(raw[0]) is str
            and type(raw[1]) is int and type(raw[2]) is int and type(raw[3]) is bytes
            and len(raw[3]) == NONCE_BYTES and type(raw[4]) is str):
        return "HELLO is [serial, role, suite, 16-byte nonce, programmer id]"
    if not valid_programmer_id(raw[4]):
        return (f"programmer id {escape_label(raw[4][:MAX_PROGRAMMER_ID])} is not 1 to "
                f"{MAX_PROGRAMMER_ID} printable ASCII characters")
    try:
        return raw[0][:64], Role(raw[1]), CipherSuite(raw[2]), raw[3], raw[4]
    except ValueError:
        return f"HELLO names an unknown role {raw[1]} or suite {raw[2]}"


def _parse_refused(body: bytes) -> tuple[str, int] | str:
    try:
        raw = codec.loads_strict(body)
    except WireFormatError as exc:
        return str(exc)
    if not (isinstance(raw, list) and len(raw) == 2 and type(raw[0]) is str
            and type(raw[1]) is int and 0 <= raw[1] <= 86_400):
        return "REFUSED is [reason, retry-after seconds]"
    return raw[0][:200], raw[1]
