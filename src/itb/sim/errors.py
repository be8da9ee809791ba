"""Refusals of the simulator, under the layer's root `SimError`.

A scenario file is checked whole before anything runs, and every problem found is
reported at once in one `ScenarioError`.
"""

from __future__ import annotations

from itb.errors import ItbError
from itb.textfiles import FileProblems


class SimError(ItbError):
    """Base of every refusal of the simulator."""


class ScenarioError(SimError, FileProblems):
    """A scenario file is malformed or asks for something not allowed (every problem found,
    each at its line: `FileProblems`)."""
