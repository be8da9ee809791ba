"""Sealing and opening frame bodies: AEAD with strictly increasing counters.

A sealed body is ``counter (4 bytes, big-endian) || ciphertext || tag (16 bytes)``.
The AEAD nonce is the counter padded to 12 bytes; each direction has its own key,
so (key, nonce) never repeats within a session, and sessions never share keys.
The frame header and the counter are authenticated as associated data, so a frame
cannot be re-typed, resized or re-numbered without the tag failing.

On receipt the tag is checked first (so "forged" means the bytes were never sealed
with this session's key), then the counter must exceed every counter accepted
before (so an authentic frame played again, or late, is a "replay").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from itb.telemetry.errors import ChannelExhausted

COUNTER = struct.Struct(">I")
COUNTER_BYTES = COUNTER.size
TAG_BYTES = 16
MAX_COUNTER = 2**32 - 1


class CipherSuite(IntEnum):
    """How frames are protected. Only AES-GCM is ever accepted by a pump in service."""

    AES_256_GCM = 1
    # No encryption and no authentication: exists only so the benchmark can measure
    # what the crypto costs. A pump refuses it unless its host explicitly opted in.
    PLAINTEXT_FOR_BENCHMARK_ONLY = 0xFE


@dataclass(frozen=True, slots=True)
class Opened:
    counter: int
    plaintext: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    """Why a sealed body was dropped: 'malformed', 'forged' or 'replay'."""

    kind: str
    detail: str


class SealedChannel:
    """One direction pair of a session: seals outgoing bodies, opens incoming ones."""

    def __init__(self, suite: CipherSuite, send_key: bytes, receive_key: bytes) -> None:
        self.suite = suite
        self._send = AESGCM(send_key) if suite is CipherSuite.AES_256_GCM else None
        self._receive = AESGCM(receive_key) if suite is CipherSuite.AES_256_GCM else None
        self._next_send = 0
        self._last_received = -1

    @property
    def last_received_counter(self) -> int:
        return self._last_received

    @property
    def sent_count(self) -> int:
        return self._next_send

    def seal(self, header: bytes, plaintext: bytes) -> bytes:
        counter = self._next_send
        if counter > MAX_COUNTER:
            raise ChannelExhausted("send counter exhausted")
        self._next_send += 1
        prefix = COUNTER.pack(counter)
        if self._send is None:
            return prefix + plaintext
        return prefix + self._send.encrypt(_nonce(counter), plaintext, header + prefix)

    def sealed_length(self, plaintext_length: int) -> int:
        tag = TAG_BYTES if self.suite is CipherSuite.AES_256_GCM else 0
        return COUNTER_BYTES + plaintext_length + tag

    def open(self, header: bytes, body: bytes) -> Opened | Rejected:
        minimum = COUNTER_BYTES + (TAG_BYTES if self._receive is not None else 0)
        if len(body) < minimum:
            return Rejected("malformed",
                            f"sealed body of {len(body)} bytes is shorter than {minimum}")
        (counter,) = COUNTER.unpack_from(body)
        if self._receive is None:
            plaintext = body[COUNTER_BYTES:]
        else:
            try:
                plaintext = self._receive.decrypt(_nonce(counter), body[COUNTER_BYTES:],
                                                  header + body[:COUNTER_BYTES])
            except InvalidTag:
                return Rejected("forged", f"authentication tag does not verify (counter {counter})")
        if counter <= self._last_received:
            return Rejected("replay", f"counter {counter} not after last accepted "
                                      f"{self._last_received}")
        self._last_received = counter
        return Opened(counter, plaintext)


def _nonce(counter: int) -> bytes:
    return counter.to_bytes(12, "big")
