"""Refusals of the programmer itself (the pump's and the therapy rules' have their own types).

Each carries what the clinician should do next (`next_step`), which the command
line prints after the sentence naming the field, the value and what is allowed.
"""

from __future__ import annotations

from typing import Any

from itb.errors import InvalidInput, ItbError


class ProgrammerError(ItbError):
    """A programmer-side refusal with the next step for the clinician."""

    def __init__(self, message: str, next_step: str) -> None:
        self.next_step = next_step
        super().__init__(message)


class OverrideNeeded(InvalidInput):
    """A dose change breaks a titration rule and no override reason was given."""

    def __init__(self, field: str, value: Any, allowed: str, violations: tuple[str, ...],
                 next_step: str | None = None) -> None:
        self.violations = violations
        self.next_step = next_step  # set when the usual "choose a dose" advice does not fit
        super().__init__(field, value, allowed, "; ".join(violations))


class PrescriptionMismatch(InvalidInput):
    """The drug put into the pump is not what the prescription says."""


class EchoMismatch(ProgrammerError):
    """The pump's echo of a command differs from what was sent."""


class LinkInterrupted(ProgrammerError):
    """The link was lost during a command; the message says what state the pump is in."""


class PumpChanged(ProgrammerError):
    """The pump's state changed between reading it and sending a change: nothing was sent."""


class NotConfirmed(ProgrammerError):
    """The clinician answered no at a confirmation: nothing was sent."""
