"""Non-volatile memory: program and settings in two CRC-checked slots.

Layout of a slot: magic (2 bytes) | sequence number (4) | payload length (4) |
payload | CRC-32 of everything before it (4). A program change writes the
*inactive* slot in steps (erase, header, one step per 64-byte page, CRC) and the
pump then reads back: the newest slot whose CRC is valid is in force. The switch
is the CRC write itself, so a power loss or a bit flip at any step leaves either
the old or the new slot valid and in force, never a mixture.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

_MAGIC = b"\xb1\x7b"
_HEADER = struct.Struct(">2sII")
_CRC = struct.Struct(">I")
PAGE_BYTES = 64
SLOT_CAPACITY_BYTES = 65_536


@dataclass(frozen=True)
class WriteFault:
    """An injected fault during a slot write: at step `step`, either the power is lost
    half-way through the step, or one bit (`bit`, counted within the step's bytes) flips."""

    step: int
    kind: str  # "power_loss" or "bit_flip"
    bit: int = 0


@dataclass(frozen=True)
class SlotRecord:
    slot: int
    sequence: int
    payload: bytes


class NonVolatileMemory:
    """Two slots of bytes. Pure data: no files; the pump's state carries it."""

    def __init__(self) -> None:
        self.slots: list[bytearray] = [bytearray(), bytearray()]

    def read(self, slot: int) -> SlotRecord | None:
        """The slot's record if its magic, length and CRC are valid, else None."""
        data = bytes(self.slots[slot])
        if len(data) < _HEADER.size + _CRC.size:
            return None
        magic, sequence, length = _HEADER.unpack_from(data)
        end = _HEADER.size + length
        if magic != _MAGIC or len(data) != end + _CRC.size:
            return None
        (crc,) = _CRC.unpack_from(data, end)
        if zlib.crc32(data[:end]) != crc:
            return None
        return SlotRecord(slot, sequence, data[_HEADER.size:end])

    def active(self) -> SlotRecord | None:
        """The newest valid slot (the one in force), or None if neither is valid."""
        records = [r for r in (self.read(0), self.read(1)) if r is not None]
        return max(records, key=lambda r: r.sequence) if records else None

    def is_blank(self) -> bool:
        return not self.slots[0] and not self.slots[1]

    @staticmethod
    def write_steps(sequence: int, payload: bytes) -> list[bytes | None]:
        """The byte chunks a write appends, in order; None is the erase step."""
        header = _HEADER.pack(_MAGIC, sequence, len(payload))
        pages = [payload[i:i + PAGE_BYTES] for i in range(0, len(payload), PAGE_BYTES)]
        crc = _CRC.pack(zlib.crc32(header + payload))
        return [None, header, *pages, crc]

    def write(self, payload: bytes, fault: WriteFault | None = None) -> tuple[int, bool]:
        """Write `payload` to the inactive slot; returns (slot written, power lost?).

        With a power-loss fault the write stops half-way through the faulted step.
        """
        if len(payload) + _HEADER.size + _CRC.size > SLOT_CAPACITY_BYTES:
            raise ValueError("payload larger than a memory slot")
        current = self.active()
        target = 0 if current is None else 1 - current.slot
        sequence = 1 if current is None else current.sequence + 1
        for step, chunk in enumerate(self.write_steps(sequence, payload)):
            if fault is not None and fault.step == step and fault.kind == "power_loss":
                if chunk is None:
                    del self.slots[target][: len(self.slots[target]) // 2]
                else:
                    self.slots[target].extend(chunk[: len(chunk) // 2])
                return target, True
            if chunk is None:
                self.slots[target] = bytearray()
                continue
            start = len(self.slots[target])
            self.slots[target].extend(chunk)
            if fault is not None and fault.step == step and fault.kind == "bit_flip":
                bit = fault.bit % (8 * len(chunk))
                self.slots[target][start + bit // 8] ^= 1 << (bit % 8)
        return target, False

    def flip_bit(self, slot: int, bit: int) -> None:
        """Injected corruption of a stored bit (radiation, wear)."""
        data = self.slots[slot]
        if data:
            bit %= 8 * len(data)
            data[bit // 8] ^= 1 << (bit % 8)

    def to_state(self) -> dict[str, Any]:
        return {"slots": [bytes(s).hex() for s in self.slots]}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> NonVolatileMemory:
        nvm = cls()
        nvm.slots = [bytearray.fromhex(s) for s in data["slots"]]
        return nvm
