"""Refusals of the programmer itself, under the layer's root `ProgrammerError`.

The pump's and the therapy rules' refusals have their own types. Each programmer
refusal carries what the clinician should do next (`next_step`), which the command
line prints after the sentence; a refusal of a value (`OverrideNeeded`,
`PrescriptionMismatch`) is also an `InvalidInput` naming the field, the value and
what is allowed.
"""

from __future__ import annotations

from typing import Any

from itb.errors import InvalidInput, ItbError


class ProgrammerError(ItbError):
    """A programmer-side refusal with the next step for the clinician."""

    next_step: str | None = None

    def __init__(self, message: str, next_step: str) -> None:
        self.next_step = next_step
        super().__init__(message)


# ---------------------------------------------------------------------- values refused
class OverrideNeeded(ProgrammerError, InvalidInput):
    """A dose change breaks a titration rule and no override reason was given."""

    def __init__(self, field: str, value: Any, allowed: str, violations: tuple[str, ...],
                 next_step: str | None = None) -> None:
        self.violations = violations
        self.next_step = next_step  # set when the usual "choose a dose" advice does not fit
        InvalidInput.__init__(self, field, value, allowed, "; ".join(violations))


class PrescriptionMismatch(ProgrammerError, InvalidInput):
    """The drug put into the pump is not what the prescription says."""

    def __init__(self, field: str, value: Any, allowed: str, reason: str | None = None) -> None:
        InvalidInput.__init__(self, field, value, allowed, reason)


# ---------------------------------------------------------------------- acts refused
class EchoMismatch(ProgrammerError):
    """The pump's echo of a command differs from what was sent."""


class LinkInterrupted(ProgrammerError):
    """The link was lost during a command; the message says what state the pump is in."""


class PumpChanged(ProgrammerError):
    """The pump's state changed between reading it and sending a change: nothing was sent."""


class NotConfirmed(ProgrammerError):
    """The clinician answered no at a confirmation: nothing was sent."""


class CatheterCheckNeeded(ProgrammerError):
    """An increase after a poor response to rising doses, before a catheter and pump check."""
