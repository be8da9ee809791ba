"""Refusals of the simulator, under the layer's root `SimError`.

A scenario file is checked whole before anything runs, and every problem found is
reported at once in one `ScenarioError`.
"""

from __future__ import annotations

from itb.errors import ItbError


class SimError(ItbError):
    """Base of every refusal of the simulator."""


class ScenarioError(SimError):
    """A scenario file is malformed or asks for something not allowed.

    `problems` holds (line or None, key, reason) for every problem found.
    """

    def __init__(self, source: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [_problem_text(source, line, key, reason) for line, key, reason in problems]
        super().__init__("\n".join(lines))

    @property
    def first_line(self) -> int | None:
        return self.problems[0][0] if self.problems else None


def _problem_text(source: str, line: int | None, key: str, reason: str) -> str:
    where = f"{source}:{line}" if line is not None else source
    return f"{where}: {key}: {reason}" if key else f"{where}: {reason}"
