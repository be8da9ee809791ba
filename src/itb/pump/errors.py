"""Refusals specific to the implanted pump, under the layer's root `PumpError`."""

from __future__ import annotations

from itb.errors import InvalidInput, ItbError


class PumpError(ItbError):
    """Base of every refusal the pump raises."""


# ---------------------------------------------------------------------- programs and limits
class InvalidProgram(PumpError, InvalidInput):
    """An infusion program field is outside the pump model's or the clinician's limits."""


class LimitExceeded(PumpError, InvalidInput):
    """A command would make the firmware exceed a clinician-set hard limit."""


# ---------------------------------------------------------------------- acts
class ActRefused(PumpError):
    """The pump cannot perform a clinical act in its present state (for example during a stall)."""

    def __init__(self, act: str, reason: str) -> None:
        self.act = act
        self.reason = reason
        super().__init__(f"{act} refused: {reason}")


class ProgramNotCommitted(PumpError):
    """Power was lost while the new program was being written; the old program stays in force."""

    def __init__(self, step: int) -> None:
        self.step = step
        super().__init__(f"program not committed: power lost at non-volatile write step {step}; "
                         "the previous program remains in force")
