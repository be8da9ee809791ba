"""The error types every part of itb raises for bad input or refused acts.

Each error names the field, the value given and what is allowed, so that the
command line and the web layer can turn it into one clear sentence.
"""

from __future__ import annotations

from typing import Any


class ItbError(Exception):
    """Base of every error itb raises on purpose."""


class InvalidInput(ItbError, ValueError):
    """A value given at a boundary is outside what is allowed.

    `field` names the input, `value` is what was given, `allowed` says the range or
    the choices in words (for example "0 to 20 mL" or "one of: 50, 500, 2000").
    """

    def __init__(self, field: str, value: Any, allowed: str, reason: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.reason = reason
        message = f"{field} = {value!s} is not allowed: allowed is {allowed}"
        if reason:
            message += f" ({reason})"
        super().__init__(message)
