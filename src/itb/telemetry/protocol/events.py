"""Events the link state machines hand to their host (h11 style: bytes in, events out)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from itb.telemetry.protocol.codec import Message
from itb.telemetry.protocol.keys import Role


class SecurityEventKind(StrEnum):
    """Why a frame or handshake was dropped. Each is logged; none changes pump state."""

    CORRUPT_FRAME = "corrupt_frame"            # bad CRC, header or truncated bytes
    UNEXPECTED_FRAME = "unexpected_frame"      # a valid frame at the wrong point of the exchange
    MALFORMED_HANDSHAKE = "malformed_handshake"
    WRONG_SERIAL = "wrong_serial"              # a HELLO for another pump
    DOWNGRADE_REFUSED = "downgrade_refused"    # a HELLO asking for an unprotected suite
    AUTHENTICATION_FAILED = "authentication_failed"  # wrong key in the handshake
    HANDSHAKE_RATE_LIMITED = "handshake_rate_limited"  # a source over its handshake rate
    PATIENT_SESSION_ENDED_FOR_CLINICIAN = "patient_session_ended_for_clinician"
    FORGED_FRAME = "forged_frame"              # AEAD tag fails: forged, damaged or wrong key
    REPLAYED_FRAME = "replayed_frame"          # authentic, counter not increasing: replay
    MALFORMED_MESSAGE = "malformed_message"    # authentic frame whose message does not parse
    ROLE_VIOLATION = "role_violation"          # a command the session's role may not give
    UNSOLICITED_RESPONSE = "unsolicited_response"
    EVENTS_SUPPRESSED = "events_suppressed"    # summary once the per-connection budget is spent
    DELAYED_REQUEST = "delayed_request"        # authentic request held in transit: not acted on


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkEvent:
    """What a link hands its host, at `now_s` (the host's clock, as given to the link)."""

    now_s: float


@dataclass(frozen=True, slots=True)
class SecurityEvent(LinkEvent):
    kind: SecurityEventKind
    detail: str
    # Pump side: raised by a connection that never opened a session and not worth an entry
    # of its own (counted instead, so unauthenticated clients cannot flush the audit log).
    noise: bool = False


@dataclass(frozen=True, slots=True)
class SessionOpened(LinkEvent):
    """Pump side: a programmer proved `role`; commands may now arrive."""

    serial: str
    role: Role
    programmer_id: str  # as the programmer named itself (authenticated by the handshake)


@dataclass(frozen=True, slots=True)
class SessionEstablished(LinkEvent):
    """Programmer side: the pump proved it holds the key; the session's terms."""

    serial: str
    role: Role
    idle_timeout_s: int
    max_session_s: int


@dataclass(frozen=True, slots=True)
class CommandReceived(LinkEvent):
    """Pump side: an authenticated, well-formed command the role may give. Answer it."""

    request_id: int
    command: Message
    role: Role


@dataclass(frozen=True, slots=True)
class ResponseReceived(LinkEvent):
    """Programmer side: the pump's answer to `request_id`."""

    request_id: int
    response: Message


@dataclass(frozen=True, slots=True)
class Refused(LinkEvent):
    """Programmer side: the pump would not open a session."""

    reason: str
    retry_after_s: int


@dataclass(frozen=True, slots=True)
class SessionEnded(LinkEvent):
    """Either side: the session is over (closed, timed out, refused, lost)."""

    reason: str
    # Pump side: False when the connection ended without ever opening a session.
    opened: bool = True


PumpEvent = SecurityEvent | SessionOpened | CommandReceived | SessionEnded
ProgrammerEvent = SecurityEvent | SessionEstablished | ResponseReceived | Refused | SessionEnded
