"""Typed refusals of the therapy rules, under the layer's root `TherapyError`.

Each one is also an `InvalidInput`, so it carries the field, the value given and what
is allowed, and the command line turns it into one sentence with exit status 2.
The subclasses let callers (pump, programmer, clinic) react to the kind of refusal.
"""

from __future__ import annotations

from typing import Any

from itb.errors import InvalidInput, ItbError


class TherapyError(ItbError):
    """Base of every refusal of the therapy rules."""


# ---------------------------------------------------------------------- dosing and titration
class TitrationLimitExceeded(TherapyError, InvalidInput):
    """A proposed dose change is outside the labeled step for this patient.

    `low_mcg_per_day` and `high_mcg_per_day` are the exact allowed new doses.
    """

    def __init__(self, field: str, value: Any, allowed: str, *, low_mcg_per_day: Any,
                 high_mcg_per_day: Any, reason: str | None = None) -> None:
        self.low_mcg_per_day = low_mcg_per_day
        self.high_mcg_per_day = high_mcg_per_day
        super().__init__(field, value, allowed, reason)


class TitrationTooSoon(TherapyError, InvalidInput):
    """A dose change is proposed less than 24 h after the last one."""


class OverrideRequired(TherapyError, InvalidInput):
    """The dose is outside the usual maintenance range: an explicit override is needed."""


# ---------------------------------------------------------------------- screening
class ScreeningProtocolError(TherapyError, InvalidInput):
    """A screening bolus does not follow the labeled protocol (dose, order, timing)."""


class NotACandidate(TherapyError, InvalidInput):
    """The patient does not meet a candidate criterion for an implanted pump."""


# ---------------------------------------------------------------------- refill
class RefillDiscrepancy(TherapyError, InvalidInput):
    """The volume withdrawn at refill differs from the pump's estimate beyond the threshold.

    The refill is blocked until the cause is found; `possible_causes` lists them.
    """

    def __init__(self, field: str, value: Any, allowed: str, *,
                 possible_causes: tuple[str, ...], reason: str | None = None) -> None:
        self.possible_causes = possible_causes
        super().__init__(field, value, allowed, reason)


class Overfill(TherapyError, InvalidInput):
    """A refill would put more drug in the reservoir than it holds."""


# ---------------------------------------------------------------------- flex schedules
class FlexScheduleError(TherapyError, InvalidInput):
    """A flex schedule (or its TOML file) is malformed: names the file, the key and the reason."""

    def __init__(self, source: str, key: str, value: Any, allowed: str, reason: str | None = None
                 ) -> None:
        self.source = source
        self.key = key
        super().__init__(f"{source}: {key}", value, allowed, reason)


# ---------------------------------------------------------------------- dose decrease
class LargeDecreaseUnconfirmed(TherapyError, InvalidInput):
    """A cut larger than the labeled decrease step was not explicitly confirmed.

    Allowed at any time, but an abrupt large reduction can bring on withdrawal (boxed
    warning), so the clinician confirms it knowingly.
    """


# ---------------------------------------------------------------------- guardrails (issue 14)
class GuardrailBlocked(TherapyError, InvalidInput):
    """A value beyond a guardrail's block tier, and no override reason given.

    `findings` are every block (`itb.therapy.guardrails.Finding`); the first names the field.
    """

    def __init__(self, findings: tuple[Any, ...]) -> None:
        self.findings = findings
        first = findings[0]
        name = first.limit.value + (f" ({first.subject})" if first.subject else "")
        super().__init__(name, f"{first.value_text}", f"{first.allowed} without an override "
                         "reason", "; ".join(f.sentence for f in findings))
