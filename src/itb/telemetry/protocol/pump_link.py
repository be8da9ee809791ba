"""The pump's end of one wand connection, as a pure state machine (see `link` for the exchange).

It knows only bytes, the time it is handed and the pump's link memory (`LinkGuard`); it
never knows the pump's therapy. A frame from the air never raises out of `receive_data`:
whatever does not fit the state it arrives in is dropped and reported as a `SecurityEvent`.

Which frame a state accepts, and what handles it, is the table `PumpLink.HANDLERS`.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Callable
from typing import ClassVar

from itb.errors import InvalidInput
from itb.telemetry.errors import LinkStateError, WireFormatError
from itb.telemetry.protocol import codec
from itb.telemetry.protocol.channel import CipherSuite, Opened, SealedChannel
from itb.telemetry.protocol.codec import Message
from itb.telemetry.protocol.events import (
    CommandReceived,
    PumpEvent,
    SecurityEvent,
    SecurityEventKind,
    SessionEnded,
    SessionOpened,
)
from itb.telemetry.protocol.framing import Frame, FrameType, Garbage
from itb.telemetry.protocol.guard import LinkGuard
from itb.telemetry.protocol.keys import NONCE_BYTES, Role, session_keys, transcript_hash
from itb.telemetry.protocol.labels import escape_label
from itb.telemetry.protocol.link import (
    MAX_MESSAGE_BYTES,
    MAX_REQUEST_LAG_S,
    REQUEST_ID,
    SESSION_TIME_MS,
    LinkSide,
    LinkState,
    RandomBytes,
    parse_hello,
)
from itb.telemetry.protocol.messages import REQUESTS, RESPONSES, Command, ErrorCode, ErrorResponse

_owner_tokens = itertools.count(1)
# Events from a connection that never opened a session that still get an audit entry each:
# a wrong key, a rate-limited source, a downgrade attempt (issue 17.6). The rest is counted.
_WORTH_AN_ENTRY = frozenset({SecurityEventKind.AUTHENTICATION_FAILED,
                             SecurityEventKind.HANDSHAKE_RATE_LIMITED,
                             SecurityEventKind.DOWNGRADE_REFUSED,
                             SecurityEventKind.PATIENT_SESSION_ENDED_FOR_CLINICIAN})


class PumpLink(LinkSide):
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
    # The frames each state accepts, and the handler of each; any other frame is dropped
    # as unexpected. A handler moves the state on (HELLO -> AWAIT_PROVE -> OPEN -> CLOSED).
    HANDLERS: ClassVar[dict[tuple[LinkState, FrameType], str]] = {
        (LinkState.AWAIT_HELLO, FrameType.HELLO): "_on_hello",
        (LinkState.AWAIT_PROVE, FrameType.PROVE): "_on_prove",
        (LinkState.OPEN, FrameType.REQUEST): "_on_request",
        (LinkState.OPEN, FrameType.CLOSE): "_on_close",
    }

    def _on_close(self, frame: Frame, now_s: float, events: list[PumpEvent]) -> None:
        opened = self._open(frame)
        if isinstance(opened, Opened):
            self._end(events, "closed by the programmer", now_s)
        else:
            self._security(events, opened[0], opened[1], now_s)

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
        events.append(SessionOpened(self.serial, self.role, self.programmer_id, now_s=now_s))

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
        events.append(CommandReceived(request_id, command, self.role, now_s=now_s))

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
        events.append(SessionEnded(reason, now_s=now_s, opened=self._was_open))

    def _security(self, events: list[PumpEvent], kind: SecurityEventKind, detail: str,
                  now_s: float) -> None:
        noise = not self._was_open and kind not in _WORTH_AN_ENTRY
        if self._reported < self.policy.security_event_budget:
            self._reported += 1
            events.append(SecurityEvent(kind, detail, now_s=now_s, noise=noise))
        else:
            self._suppressed += 1

    def _summarise(self, events: list[PumpEvent], now_s: float) -> None:
        if self._suppressed:
            events.append(SecurityEvent(SecurityEventKind.EVENTS_SUPPRESSED,
                                        f"{self._suppressed} further dropped frames on this "
                                        f"connection", now_s=now_s, noise=not self._was_open))
            self._suppressed = 0
