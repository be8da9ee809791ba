"""The firmware's bounded event log: a ring with an overflow counter.

Losing old entries is visible, never silent: `overflowed` counts the entries that
fell off the ring, and every entry keeps its absolute index.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Self

MIN_CAPACITY = 4096  # issue 2: a ring of at least 4,096 entries

# The kinds of entry a programmer reads back from the log over the wand (itb.programmer.view:
# the last program change and the last refill or implant); the other kinds are named where
# the firmware writes them.
PROGRAM_CHANGED = "program_changed"
REFILL = "refill"
IMPLANTED = "implanted"


@dataclass(frozen=True)
class LogEntry:
    """One timestamped firmware event. `time_s` is the pump clock (UTC seconds)."""

    index: int
    time_s: int
    kind: str
    details: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "time_s": self.time_s, "kind": self.kind,
                "details": dict(self.details)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogEntry:
        return cls(int(data["index"]), int(data["time_s"]), str(data["kind"]),
                   tuple((str(k), str(v)) for k, v in data["details"].items()))


class BoundedLog:
    """A ring of `LogEntry`s; `next_index` is the index the next entry will get.

    The firmware's event log and the wand link's audit log are both this ring.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("log capacity must be at least 1")
        self.capacity = capacity
        self._ring: deque[LogEntry] = deque(maxlen=capacity)
        self.next_index = 0
        self.overflowed = 0

    def append(self, time_s: int, event: str, /, **details: object) -> LogEntry:
        if len(self._ring) == self.capacity:
            self.overflowed += 1
        entry = LogEntry(self.next_index, time_s, event,
                         tuple((k, str(v)) for k, v in details.items()))
        self._ring.append(entry)
        self.next_index += 1
        return entry

    def __len__(self) -> int:
        return len(self._ring)

    def entries(self) -> list[LogEntry]:
        return list(self._ring)

    def since(self, index: int, limit: int) -> list[LogEntry]:
        """Up to `limit` entries with index ≥ `index` (older ones may have been overwritten)."""
        if self._ring:
            first = self._ring[0].index
            start = max(0, index - first)
        else:
            start = 0
        out: list[LogEntry] = []
        for i in range(start, len(self._ring)):
            if len(out) >= limit:
                break
            out.append(self._ring[i])
        return out

    def to_state(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "next_index": self.next_index,
                "overflowed": self.overflowed, "entries": [e.to_dict() for e in self._ring]}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Self:
        log = cls(int(data["capacity"]))
        log.next_index = int(data["next_index"])
        log.overflowed = int(data["overflowed"])
        for entry in data["entries"]:
            log._ring.append(LogEntry.from_dict(entry))
        return log


class EventLog(BoundedLog):
    """The firmware's event log: a ring of at least 4,096 entries (issue 2)."""

    def __init__(self, capacity: int = MIN_CAPACITY) -> None:
        if capacity < MIN_CAPACITY:
            raise ValueError(f"event log capacity must be at least {MIN_CAPACITY}")
        super().__init__(capacity)
