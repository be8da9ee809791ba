"""The sans-IO wand link: what the pump side and the programmer side share.

The two state machines are `itb.telemetry.protocol.pump_link.PumpLink` and
`itb.telemetry.protocol.programmer_link.ProgrammerLink`; this module holds their common
part (`LinkSide`: the frame decoder, the outgoing buffer, sealing), the link states, the
sizes of a request, and the parsing of the clear handshake frames.

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

import struct
from collections.abc import Callable
from enum import StrEnum
from typing import Any, ClassVar

from itb.telemetry.errors import WireFormatError
from itb.telemetry.protocol import codec
from itb.telemetry.protocol.channel import (
    COUNTER_BYTES,
    TAG_BYTES,
    CipherSuite,
    Opened,
    SealedChannel,
)
from itb.telemetry.protocol.events import SecurityEvent, SecurityEventKind
from itb.telemetry.protocol.framing import (
    MAX_BODY_BYTES,
    Frame,
    FrameDecoder,
    FrameType,
    Garbage,
    encode_frame,
    frame_header,
)
from itb.telemetry.protocol.keys import (
    NONCE_BYTES,
    Role,
    check_serial,
)
from itb.telemetry.protocol.labels import MAX_PROGRAMMER_ID, escape_label, valid_programmer_id

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
class LinkState(StrEnum):
    IDLE = "idle"
    AWAIT_HELLO = "awaiting hello"
    AWAIT_CHALLENGE = "awaiting challenge"
    AWAIT_PROVE = "awaiting proof"
    AWAIT_ACCEPT = "awaiting acceptance"
    OPEN = "open"
    CLOSED = "closed"


class LinkSide:
    """What both ends share: the frame decoder, the outgoing buffer, sealing, and the dispatch
    of each frame by the side's table of (state, frame type) -> handler."""

    HANDLERS: ClassVar[dict[tuple[LinkState, FrameType], str]] = {}

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

    def _on_frame(self, frame: Frame, now_s: float, events: list[Any]) -> None:
        """Hand a frame to the handler its state has for it (the side's `HANDLERS` table);
        any other frame is dropped and reported as unexpected."""
        handler = self.HANDLERS.get((self.state, frame.type))
        if handler is None:
            self._security(events, SecurityEventKind.UNEXPECTED_FRAME,
                           f"{frame.type.name} while {self.state.value}", now_s)
        else:
            getattr(self, handler)(frame, now_s, events)

    def _security(self, events: list[Any], kind: SecurityEventKind, detail: str,
                  now_s: float) -> None:
        events.append(SecurityEvent(kind, detail, now_s=now_s))

    def _open(self, frame: Frame) -> Opened | tuple[SecurityEventKind, str]:
        assert self._channel is not None
        result = self._channel.open(frame.header, frame.body)
        if isinstance(result, Opened):
            return result
        kind = (SecurityEventKind.REPLAYED_FRAME if result.kind == "replay"
                else SecurityEventKind.FORGED_FRAME)
        return kind, f"{frame.type.name}: {result.detail}"


def parse_hello(body: bytes) -> tuple[str, Role, CipherSuite, bytes, str] | str:
    """A HELLO's serial, role, suite, nonce and programmer id, or why it does not parse."""
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


def parse_refused(body: bytes) -> tuple[str, int] | str:
    """A REFUSED frame's reason and retry-after seconds, or why it does not parse."""
    try:
        raw = codec.loads_strict(body)
    except WireFormatError as exc:
        return str(exc)
    if not (isinstance(raw, list) and len(raw) == 2 and type(raw[0]) is str
            and type(raw[1]) is int and 0 <= raw[1] <= 86_400):
        return "REFUSED is [reason, retry-after seconds]"
    return raw[0][:200], raw[1]
