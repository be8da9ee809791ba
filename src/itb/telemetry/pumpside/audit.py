"""The link's audit log: a ring that noise cannot flush (issue 17.6).

Unauthenticated clients used to flush the log: every HELLO-and-hang-up wrote a
`session_ended` and forced an fsync'd save, so 1,100 connections in 4.7 s pushed the real
session entries out of the ring. Now

- only sessions that opened log their end; what an unauthenticated connection did is
  *counted* by kind (`noise`), with at most one `unauthenticated_noise` summary entry per
  pump hour;
- entries have a rank, and a full ring drops the oldest entry of the lowest rank present:
  noise summaries first, then security events (failed proofs, rate limits, dropped frames
  in a session), and session entries (opened, ended) last;
- the adapter marks audit-only changes separately, so the server saves them in its
  periodic batch instead of once per connection.

Indices stay absolute and increasing; once lower-ranked entries have been dropped from
the middle, `since` finds entries by index rather than by position.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Self

from itb.pump.eventlog import BoundedLog, LogEntry

SECURITY_LOG_CAPACITY = 1024
SESSION_KINDS = frozenset({"session_opened", "session_ended",
                           "patient_session_ended_for_clinician"})
NOISE_SUMMARY = "unauthenticated_noise"
_HOUR_S = 3600


def rank(kind: str) -> int:
    """2: sessions; 1: security events; 0: noise summaries (dropped first)."""
    if kind in SESSION_KINDS:
        return 2
    return 0 if kind == NOISE_SUMMARY else 1


class SecurityLog(BoundedLog):
    """A bounded ring of link events, pump-clock stamped, that noise cannot overflow."""

    def __init__(self, capacity: int = SECURITY_LOG_CAPACITY) -> None:
        super().__init__(capacity)
        self.noise: Counter[str] = Counter()
        self._noise_summary_hour: int | None = None

    def append(self, time_s: int, event: str, /, **details: object) -> LogEntry:
        if len(self._ring) == self.capacity:
            lowest = min(rank(e.kind) for e in self._ring)
            victim = next(e for e in self._ring if rank(e.kind) == lowest)
            self._ring.remove(victim)
            self.overflowed += 1
        # Room made by rank: the plain ring below appends without dropping the oldest.
        return super().append(time_s, event, **details)

    def count_noise(self, time_s: int, kind: str) -> None:
        """One unauthenticated event: counted; summarised in the ring once per pump hour."""
        self.noise[kind] += 1
        hour = time_s // _HOUR_S
        if hour != self._noise_summary_hour:
            self._noise_summary_hour = hour
            self.append(time_s, NOISE_SUMMARY,
                        **{k: v for k, v in sorted(self.noise.items())})

    def since(self, index: int, limit: int) -> list[LogEntry]:
        out: list[LogEntry] = []
        for entry in self._ring:
            if len(out) >= limit:
                break
            if entry.index >= index:
                out.append(entry)
        return out

    def to_state(self) -> dict[str, Any]:
        state = super().to_state()
        state["noise"] = dict(self.noise)
        return state

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Self:
        log = super().from_state(data)
        noise = data.get("noise", {})
        if isinstance(noise, dict):
            log.noise = Counter({str(k): int(v) for k, v in noise.items()})
        return log
