"""Refusals of fleet studies, under the layer's root `FleetError`.

A study file is checked whole before anything runs; every problem found is reported at
once in one `StudyError`, as `file:line: key: reason` (the scenario file's style).
"""

from __future__ import annotations

from itb.errors import ItbError


class FleetError(ItbError):
    """Base of every refusal of fleet studies."""


class StudyError(FleetError):
    """A study file is malformed or asks for something not allowed.

    `problems` holds (line or None, key, reason) for every problem found.
    """

    def __init__(self, source: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(_text(source, *p) for p in problems))


class OutputError(FleetError):
    """An output folder cannot be used (it holds another study's run, or is not readable)."""


def _text(source: str, line: int | None, key: str, reason: str) -> str:
    where = f"{source}:{line}" if line is not None else source
    return f"{where}: {key}: {reason}" if key else f"{where}: {reason}"
