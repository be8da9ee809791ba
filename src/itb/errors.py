"""The root of every error itb raises on purpose, and the refusal of a bad value.

One hierarchy per layer, each in its layer's own `errors.py` under `ItbError`:

    ItbError
    ├── InvalidInput            a value outside what is allowed (field, value, allowed)
    ├── TherapyError            itb.therapy.errors: the clinical rules refuse
    ├── PumpError               itb.pump.errors: the pump refuses an act or a program
    ├── TelemetryError          itb.telemetry.errors: the wand link, its wire and its files
    ├── ProgrammerError         itb.programmer.errors: the programmer refuses (with a next step)
    └── SimError                itb.sim.errors: the simulator refuses (ScenarioError: a file)

A file checked whole (a scenario, a fleet study) reports every problem at once: its layer's
error also inherits `itb.textfiles.FileProblems` (`file:line: key: reason`, one a line).

A refusal of a value is also an `InvalidInput` (it inherits both its layer's root and
`InvalidInput`), so every front end can say "field = value is not allowed: allowed is ...".
Errors are raised where the rule lives and translated to words only at a front end's
boundary (docs/architecture.md, "Errors").
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

# A value echoed back in a refusal is shortened past this many characters (issue 9.11): a
# 100-digit number or a pasted paragraph must not flood the screen, while every real value
# (doses, times, serials) is shown whole. A file's path is what the user needs to find the
# file, so it keeps up to a longer limit.
MAX_ECHO_CHARS = 60
MAX_ECHO_PATH_CHARS = 240
_ECHO_HEAD_CHARS = 20


def _names_a_file(value: object, text: str) -> bool:
    # A path object, or text whose first word has a folder separator and a letter
    # ("/tmp/s.jsonl line 3"; not "1/3" nor "999 mcg/day at 500 mcg/mL").
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return isinstance(value, PurePath) or ("/" in first and any(c.isalpha() for c in first))


def shorten(value: object) -> str:
    """`value` as text, cut to its first characters and its length when it is long."""
    text = str(value)
    limit = MAX_ECHO_PATH_CHARS if _names_a_file(value, text) else MAX_ECHO_CHARS
    if len(text) <= limit:
        return text
    return f"{text[:_ECHO_HEAD_CHARS]}… ({len(text)} characters)"


class ItbError(Exception):
    """Base of every error itb raises on purpose; each layer's root subclasses it."""


class InvalidInput(ItbError, ValueError):
    """A value given at a boundary is outside what is allowed.

    `field` names the input, `value` is what was given (shortened in the message when
    long; `self.value` keeps it whole), `allowed` says the range or
    the choices in words (for example "0 to 20 mL" or "one of: 50, 500, 2000").
    """

    def __init__(self, field: str, value: Any, allowed: str, reason: str | None = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.reason = reason
        message = f"{field} = {shorten(value)} is not allowed: allowed is {allowed}"
        if reason:
            message += f" ({reason})"
        super().__init__(message)

