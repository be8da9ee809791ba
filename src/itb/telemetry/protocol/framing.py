"""Frames on the wand link: version, type, length, body, CRC.

Wire layout (all integers big-endian)::

    offset  size  field
    0       1     protocol version (PROTOCOL_VERSION)
    1       1     frame type (FrameType)
    2       2     body length L, 0..MAX_BODY_BYTES
    4       L     body (CBOR for clear frames; counter + AEAD ciphertext for sealed ones)
    4+L     2     CRC-16/CCITT-FALSE over bytes 0..4+L

The CRC catches radio noise cheaply before any crypto runs; it is not a security
check (anyone can compute it). Authenticity comes from the AEAD tag in sealed bodies.

The decoder is a pure byte-stream parser: it never raises on input. Bytes that do
not form a valid frame are skipped one at a time until a valid header and CRC line
up again, and are reported as `Garbage` so the link can log them.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from enum import IntEnum

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">BBH")
HEADER_BYTES = HEADER.size  # 4
CRC_BYTES = 2
FRAME_OVERHEAD_BYTES = HEADER_BYTES + CRC_BYTES  # 6 bytes of framing per frame
# A wand link is slow and frames are buffered in a small device; bounding the body
# also bounds how long a bogus length field can stall the parser.
MAX_BODY_BYTES = 8192
# Clear frames (HELLO, CHALLENGE, REFUSED) carry a serial, nonces, a programmer id or a
# short reason: about 150 bytes at most, so a clear header announcing more is debris and
# cannot make the decoder wait for, or checksum, kilobytes (issue 17.2).
MAX_CLEAR_BODY_BYTES = 256
# A connection that makes the decoder skip this many bytes, or fail this many CRCs, is
# noise or an attack, not a wand: the link ends it (issue 17.2). A real link's damage is a
# few bytes a session; these bound the decoder's work per connection.
MAX_SKIPPED_BYTES = 16_384
MAX_CRC_FAILURES = 32


class FrameType(IntEnum):
    """What a frame carries. Clear frames are the handshake openers and refusals only."""

    HELLO = 0x01        # programmer -> pump, clear: serial, role, suite, programmer nonce
    CHALLENGE = 0x02    # pump -> programmer, clear: pump nonce
    REFUSED = 0x03      # pump -> programmer, clear: why no session (locked out, busy, ...)
    PROVE = 0x04        # programmer -> pump, sealed: proof of the role key over the transcript
    ACCEPT = 0x05       # pump -> programmer, sealed: the pump's proof and the session terms
    REQUEST = 0x10      # programmer -> pump, sealed: one command
    RESPONSE = 0x11     # pump -> programmer, sealed: the answer to one command
    CLOSE = 0x12        # either way, sealed: orderly end of the session


CLEAR_TYPES = frozenset({FrameType.HELLO, FrameType.CHALLENGE, FrameType.REFUSED})
_CLEAR_TYPE_CODES = frozenset(int(t) for t in CLEAR_TYPES)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame. `header` is the exact 4 header bytes (authenticated as AAD)."""

    version: int
    type: FrameType
    body: bytes

    @property
    def header(self) -> bytes:
        return HEADER.pack(self.version, self.type, len(self.body))


@dataclass(frozen=True, slots=True)
class Garbage:
    """A run of bytes that did not form a valid frame and was skipped."""

    skipped_bytes: int
    reason: str


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF); check value for b'123456789' is 0x29B1."""
    return binascii.crc_hqx(data, 0xFFFF)


def frame_header(frame_type: FrameType, body_length: int) -> bytes:
    if not 0 <= body_length <= MAX_BODY_BYTES:
        raise ValueError(f"frame body of {body_length} bytes exceeds {MAX_BODY_BYTES}")
    return HEADER.pack(PROTOCOL_VERSION, frame_type, body_length)


def encode_frame(frame_type: FrameType, body: bytes) -> bytes:
    """Bytes on the wire for one frame."""
    head = frame_header(frame_type, len(body))
    return head + body + crc16(head + body).to_bytes(CRC_BYTES, "big")


_KNOWN_TYPES = frozenset(int(t) for t in FrameType)


class FrameDecoder:
    """Turns a byte stream into frames, resynchronising past damage.

    Feed bytes with `receive_data`, then take `Frame`s and `Garbage` reports from
    `next_items`. Never raises on any input; memory is bounded by the unparsed tail,
    which is at most one maximal frame plus whatever the caller feeds at once.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._garbage = 0
        self._garbage_reason = ""
        # Offsets below this (relative to the buffer) were ruled out by an earlier look-ahead:
        # scanning resumes here instead of from the start on every read (issue 17.2).
        self._lookahead_from = 0
        # Offsets where a frame starts but is still incomplete: (offset, bytes it needs).
        self._candidates: list[tuple[int, int]] = []
        self.skipped_total = 0
        self.crc_failures = 0

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    @property
    def overwhelmed(self) -> bool:
        """True once this stream made the decoder skip or checksum too much to be a wand."""
        return self.skipped_total > MAX_SKIPPED_BYTES or self.crc_failures > MAX_CRC_FAILURES

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_items(self) -> list[Frame | Garbage]:
        items: list[Frame | Garbage] = []
        buf = self._buffer
        pos = 0
        while len(buf) - pos >= HEADER_BYTES and not self.overwhelmed:
            version, ftype, length = HEADER.unpack_from(buf, pos)
            reason = ""
            if version != PROTOCOL_VERSION:
                reason = "unknown protocol version"
            elif ftype not in _KNOWN_TYPES:
                reason = "unknown frame type"
            elif length > MAX_BODY_BYTES:
                reason = "length beyond the maximum"
            elif length > MAX_CLEAR_BODY_BYTES and ftype in _CLEAR_TYPE_CODES:
                reason = "clear frame longer than a handshake frame can be"
            if reason:
                pos = self._skip(pos, reason)
                continue
            end = pos + HEADER_BYTES + length
            if len(buf) < end + CRC_BYTES:
                # Wait for the rest of this frame, unless a complete valid frame already
                # starts further on: then these bytes were noise (a stray byte, a truncated
                # frame) and waiting would only delay the real frame behind them.
                later = self._next_complete_frame(pos + 1)
                if later is None:
                    break
                while pos < later:
                    pos = self._skip(pos, "incomplete frame overtaken by a valid one")
                continue
            crc = int.from_bytes(buf[end:end + CRC_BYTES], "big")
            if crc != crc16(bytes(buf[pos:end])):
                self.crc_failures += 1
                pos = self._skip(pos, "CRC mismatch")
                continue
            self._flush_garbage(items)
            items.append(Frame(version, FrameType(ftype), bytes(buf[pos + HEADER_BYTES:end])))
            pos = end + CRC_BYTES
        del buf[:pos]
        self._shift(pos)
        if self._garbage and not self._could_start_frame():
            # No frame can begin in what is left: report the run now rather than later.
            self._flush_garbage(items)
        return items

    def flush(self) -> list[Frame | Garbage]:
        """End of stream: a frame still incomplete can never complete, so skip past it.

        Frames hidden inside the declared length of a truncated frame are recovered.
        """
        items = self.next_items()
        while self._buffer and not self.overwhelmed:
            items += self.resynchronise("truncated frame")
        if self._buffer:  # past the bound: the rest is skipped in one go, not byte by byte
            if not self._garbage:
                self._garbage_reason = "truncated frame"
            self._garbage += len(self._buffer)
            self.skipped_total += len(self._buffer)
            self._buffer.clear()
            self._shift(self._lookahead_from)
            self._candidates = []
        self._flush_garbage(items)
        return items

    def resynchronise(self, reason: str = "incomplete frame abandoned") -> list[Frame | Garbage]:
        """Give up on the incomplete frame at the head (e.g. it stalled): skip a byte, re-parse."""
        if not self._buffer:
            return []
        if not self._garbage:
            self._garbage_reason = reason
        self._garbage += 1
        self.skipped_total += 1
        del self._buffer[:1]
        self._shift(1)
        return self.next_items()

    def _skip(self, pos: int, reason: str) -> int:
        if not self._garbage:
            self._garbage_reason = reason
        self._garbage += 1
        self.skipped_total += 1
        return pos + 1

    def _next_complete_frame(self, start: int) -> int | None:
        """Offset of the first complete frame with a valid CRC at or after `start`, if any.

        Each offset is looked at once (issue 17.2): one that cannot start a frame is passed
        for good; one that starts a frame still incomplete is remembered with the length it
        needs and checked again only once that many bytes are buffered; every CRC failure
        counts toward the connection's bound.
        """
        buf = self._buffer
        waiting: list[tuple[int, int]] = []
        found: int | None = None
        for pos, needed in self._candidates:
            if pos < start or found is not None:
                if pos >= start:
                    waiting.append((pos, needed))
                continue
            if needed > len(buf):
                waiting.append((pos, needed))
            elif self._crc_holds(pos, needed):
                found = pos
        self._candidates = waiting
        if found is not None:
            return found
        pos = buf.find(PROTOCOL_VERSION, max(start, self._lookahead_from))
        while pos != -1 and len(buf) - pos >= HEADER_BYTES and not self.overwhelmed:
            self._lookahead_from = pos + 1
            _version, ftype, length = HEADER.unpack_from(buf, pos)
            if ftype in _KNOWN_TYPES and length <= MAX_BODY_BYTES and not (
                    length > MAX_CLEAR_BODY_BYTES and ftype in _CLEAR_TYPE_CODES):
                needed = pos + HEADER_BYTES + length + CRC_BYTES
                if needed > len(buf):
                    self._candidates.append((pos, needed))
                elif self._crc_holds(pos, needed):
                    return pos
            pos = buf.find(PROTOCOL_VERSION, pos + 1)
        return None

    def _crc_holds(self, pos: int, needed: int) -> bool:
        buf = self._buffer
        end = needed - CRC_BYTES
        if int.from_bytes(buf[end:needed], "big") == crc16(bytes(buf[pos:end])):
            return True
        self.crc_failures += 1
        return False

    def _shift(self, removed: int) -> None:
        """`removed` bytes left the head of the buffer: move the remembered offsets."""
        self._lookahead_from = max(0, self._lookahead_from - removed)
        self._candidates = [(p - removed, n - removed) for p, n in self._candidates
                            if p >= removed]

    def _could_start_frame(self) -> bool:
        return bool(self._buffer) and self._buffer[0] == PROTOCOL_VERSION

    def _flush_garbage(self, items: list[Frame | Garbage]) -> None:
        if self._garbage:
            items.append(Garbage(self._garbage, self._garbage_reason))
            self._garbage = 0
            self._garbage_reason = ""


def leading_frame(buf: bytes, frame_type: FrameType, max_body: int) -> Frame | int | None:
    """The frame of `frame_type` that `buf` must begin with, with no resynchronising.

    Returns the frame; or the number of bytes still needed to finish it; or None if `buf`
    cannot begin with such a frame (wrong version, type or length, or a bad CRC). The
    server reads a connection's first frame this way: before its HELLO a connection gets
    no scanning, no look-ahead and at most one CRC (issue 17.2).
    """
    if len(buf) < HEADER_BYTES:
        prefix = HEADER.pack(PROTOCOL_VERSION, frame_type, 0)[:2]
        return None if buf[:2] != prefix[:len(buf[:2])] else HEADER_BYTES - len(buf)
    version, ftype, length = HEADER.unpack_from(buf)
    if version != PROTOCOL_VERSION or ftype != frame_type or length > max_body:
        return None
    end = HEADER_BYTES + length
    if len(buf) < end + CRC_BYTES:
        return end + CRC_BYTES - len(buf)
    if int.from_bytes(buf[end:end + CRC_BYTES], "big") != crc16(bytes(buf[:end])):
        return None
    return Frame(version, frame_type, bytes(buf[HEADER_BYTES:end]))
