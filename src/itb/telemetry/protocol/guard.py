"""What a pump remembers about its link: handshake rates per source and the session slot.

Issue 17.4: the pump used to lock every handshake out for 15 minutes after five failed
proofs, and saved the lock; anyone who knew the serial could keep the clinic out for good
with five junk frames every quarter hour. With 256-bit keys the lockout added nothing
against guessing. It is replaced by rate limiting of handshakes per *source* (the peer
address the host reports; "air" for a radio, which cannot tell senders apart):

- each source may start `handshake_burst` handshakes at once and one more every
  `handshake_refill_s` seconds; a HELLO beyond that is refused with the seconds to wait
  (never more than `handshake_refill_s`), and audited;
- a source whose proof verifies gets its full allowance back: proving the key never
  holds a clinician back, and no failure ever locks a pump;
- nothing of this is saved: a restart forgets it.

Issue 17.5: the session slot records the role that holds it. A patient session lasts at
most `patient_max_session_s` and a new one may start only `patient_cooldown_s` after the
last ended; a clinician whose proof verifies ends a patient session and takes the slot.

Times are the host's seconds clock (`now_s`), whatever scale the host chooses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from itb.errors import InvalidInput
from itb.telemetry.protocol.keys import Role

# Sources remembered at once; a full allowance is the same as none, so those go first.
MAX_SOURCES = 256


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """Security terms of the link. These are engineering parameters, not clinical figures."""

    handshake_timeout_s: float = 10.0
    # A clinician reads the screen between commands; two idle minutes ends the session.
    idle_timeout_s: float = 120.0
    # A refill visit takes about 15 minutes (seeds 000, 002, 004); an hour is ample.
    max_session_s: float = 3600.0
    # A patient's handheld reads status or asks for one bolus: minutes are ample, and the
    # cooldown keeps a stolen handheld from holding the only slot (issue 17.5).
    patient_max_session_s: float = 180.0
    patient_cooldown_s: float = 60.0
    # Handshakes per source: a burst, then one per refill period (issue 17.4).
    handshake_burst: int = 10
    handshake_refill_s: float = 2.0
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
                     "patient_max_session_s", "handshake_refill_s"):
            if not getattr(self, name) > 0:
                raise InvalidInput(name, getattr(self, name), "more than 0 s")
        if not self.patient_cooldown_s >= 0:
            raise InvalidInput("patient_cooldown_s", self.patient_cooldown_s, "0 s or more")
        for name in ("handshake_burst", "security_event_budget", "max_connections_per_pump",
                     "max_handshakes_in_progress"):
            if getattr(self, name) < 1:
                raise InvalidInput(name, getattr(self, name), "1 or more")

    def session_limit_s(self, role: Role) -> float:
        if role is Role.PATIENT:
            return min(self.patient_max_session_s, self.max_session_s)
        return self.max_session_s


@dataclass
class _Allowance:
    tokens: float
    at_s: float
    refused: int = 0  # HELLOs refused since the last one admitted (audited as a count)


@dataclass
class LinkGuard:
    """Per-pump link memory shared by every connection to that pump."""

    policy: LinkPolicy = field(default_factory=LinkPolicy)
    sources: dict[str, _Allowance] = field(default_factory=dict)
    # The one session a pump holds at a time: its owner token, role, and when it lapses.
    session_owner: int | None = None
    session_role: Role | None = None
    session_deadline_s: float = 0.0
    patient_cooldown_until_s: float = float("-inf")

    # -- handshake rate per source -------------------------------------------------------
    def _allowance(self, source: str, now_s: float) -> _Allowance:
        burst = self.policy.handshake_burst
        allowance = self.sources.get(source)
        if allowance is None:
            if len(self.sources) >= MAX_SOURCES:
                self._forget_one(now_s)
            allowance = self.sources[source] = _Allowance(float(burst), now_s)
        elapsed = max(0.0, now_s - allowance.at_s)
        allowance.tokens = min(float(burst),
                               allowance.tokens + elapsed / self.policy.handshake_refill_s)
        allowance.at_s = now_s
        return allowance

    def _forget_one(self, now_s: float) -> None:
        def fullness(item: tuple[str, _Allowance]) -> float:
            _, allowance = item
            return allowance.tokens + (now_s - allowance.at_s) / self.policy.handshake_refill_s
        fullest = max(self.sources.items(), key=fullness)[0]
        del self.sources[fullest]

    def admit_handshake(self, source: str, now_s: float) -> tuple[float, int]:
        """(seconds to wait, HELLOs refused before this one): 0 s means go ahead."""
        allowance = self._allowance(source, now_s)
        if allowance.tokens >= 1.0:
            allowance.tokens -= 1.0
            refused, allowance.refused = allowance.refused, 0
            return 0.0, refused
        allowance.refused += 1
        return (1.0 - allowance.tokens) * self.policy.handshake_refill_s, allowance.refused - 1

    def proof_verified(self, source: str) -> None:
        """A source that proves the key gets its whole allowance back."""
        self.sources.pop(source, None)

    # -- the session slot ----------------------------------------------------------------
    def patient_wait_s(self, now_s: float) -> float:
        return max(0.0, self.patient_cooldown_until_s - now_s)

    def slot_free_for(self, owner: int, now_s: float, role: Role | None = None) -> bool:
        """Free, ours, lapsed, or (for a clinician) held by a patient session it may end."""
        if self.session_owner in (None, owner) or now_s >= self.session_deadline_s:
            return True
        return role is Role.CLINICIAN and self.session_role is Role.PATIENT

    def take_slot(self, owner: int, deadline_s: float, role: Role | None = None) -> None:
        self.session_owner = owner
        self.session_deadline_s = deadline_s
        if role is not None:
            self.session_role = role

    def holds_slot(self, owner: int) -> bool:
        return self.session_owner == owner

    def release_slot(self, owner: int, now_s: float | None = None) -> None:
        if self.session_owner == owner:
            if self.session_role is Role.PATIENT and now_s is not None:
                self.patient_cooldown_until_s = now_s + self.policy.patient_cooldown_s
            self.session_owner = None
            self.session_role = None
            self.session_deadline_s = 0.0

    def to_state(self) -> dict[str, Any]:
        """Nothing survives a restart: no lockout, no slot (connections do not survive)."""
        return {}

    @classmethod
    def from_state(cls, state: dict[str, Any], policy: LinkPolicy | None = None) -> LinkGuard:
        # State files from before issue 17.4 hold "failure_times_s" and "locked_until_s":
        # a saved lockout is deliberately not restored.
        if not isinstance(state, dict):
            raise InvalidInput("link_guard", type(state).__name__, "a JSON object")
        return cls(policy or LinkPolicy())
