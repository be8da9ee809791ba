"""What a pump remembers about its link between sessions: failures, lockout, the session slot.

Repeated authentication failures are bounded: after `max_failures` failures within
`failure_window_s`, the pump refuses every handshake for `lockout_s`. This caps an
online key-guessing attack (which a 256-bit key already makes hopeless) and, more
usefully, makes a stolen or cloned handheld noisy in the pump's log. The lockout is
itself logged, and it survives restarts because the host persists this state.

Times are the host's seconds clock (`now_s`), whatever scale the host chooses; the
TCP server uses Unix time so a lockout outlives a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itb.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """Security terms of the link. These are engineering parameters, not clinical figures."""

    handshake_timeout_s: float = 10.0
    # A clinician reads the screen between commands; two idle minutes ends the session.
    idle_timeout_s: float = 120.0
    # A refill visit takes about 15 minutes (seeds 000, 002, 004); an hour is ample.
    max_session_s: float = 3600.0
    max_failures: int = 5
    failure_window_s: float = 600.0
    lockout_s: float = 900.0
    # Security events reported one by one per connection before being summarised, so a
    # radio flooding noise cannot fill the pump's event log.
    security_event_budget: int = 16
    # Connection caps per pump (issue 17.1): a pump holds one session, so a few handshakes
    # in progress and a few connections are ample; engineering figures, not clinical ones.
    max_connections_per_pump: int = 8
    max_handshakes_in_progress: int = 4
    # Only the benchmark host sets this, to time the same exchange without crypto.
    allow_plaintext_for_benchmark: bool = False

    def __post_init__(self) -> None:
        for name in ("handshake_timeout_s", "idle_timeout_s", "max_session_s",
                     "failure_window_s", "lockout_s"):
            if not getattr(self, name) > 0:
                raise InvalidInput(name, getattr(self, name), "more than 0 s")
        if self.max_failures < 1:
            raise InvalidInput("max_failures", self.max_failures, "1 or more")
        for name in ("max_connections_per_pump", "max_handshakes_in_progress"):
            if getattr(self, name) < 1:
                raise InvalidInput(name, getattr(self, name), "1 or more")
        if self.security_event_budget < 1:
            raise InvalidInput("security_event_budget", self.security_event_budget, "1 or more")


@dataclass
class LinkGuard:
    """Per-pump link memory shared by every connection to that pump."""

    policy: LinkPolicy = field(default_factory=LinkPolicy)
    failure_times_s: list[float] = field(default_factory=list)
    locked_until_s: float | None = None
    # The one session a pump holds at a time: its owner token and when it lapses at the latest.
    session_owner: int | None = None
    session_deadline_s: float = 0.0

    def lockout_remaining_s(self, now_s: float) -> float:
        if self.locked_until_s is None or now_s >= self.locked_until_s:
            return 0.0
        return self.locked_until_s - now_s

    def record_failure(self, now_s: float) -> bool:
        """Count one failed authentication; True if this failure starts a lockout."""
        horizon = now_s - self.policy.failure_window_s
        self.failure_times_s = [t for t in self.failure_times_s if t > horizon]
        self.failure_times_s.append(now_s)
        if len(self.failure_times_s) >= self.policy.max_failures:
            self.locked_until_s = now_s + self.policy.lockout_s
            self.failure_times_s = []
            return True
        return False

    def record_success(self) -> None:
        self.failure_times_s = []

    def slot_free_for(self, owner: int, now_s: float) -> bool:
        return (self.session_owner in (None, owner)) or now_s >= self.session_deadline_s

    def take_slot(self, owner: int, deadline_s: float) -> None:
        self.session_owner = owner
        self.session_deadline_s = deadline_s

    def release_slot(self, owner: int) -> None:
        if self.session_owner == owner:
            self.session_owner = None
            self.session_deadline_s = 0.0

    def to_state(self) -> dict[str, Any]:
        """What survives a restart (the session slot does not: connections do not)."""
        return {"failure_times_s": list(self.failure_times_s),
                "locked_until_s": self.locked_until_s}

    @classmethod
    def from_state(cls, state: dict[str, Any], policy: LinkPolicy | None = None) -> LinkGuard:
        failures = state.get("failure_times_s", [])
        locked = state.get("locked_until_s")
        if not isinstance(failures, list) or not all(isinstance(t, int | float) for t in failures):
            raise InvalidInput("failure_times_s", failures, "a list of times in seconds")
        if locked is not None and not isinstance(locked, int | float):
            raise InvalidInput("locked_until_s", locked, "a time in seconds or null")
        return cls(policy or LinkPolicy(), [float(t) for t in failures],
                   None if locked is None else float(locked))
