"""Refusals of fleet studies, under the layer's root `FleetError`.

A study file is checked whole before anything runs; every problem found is reported at
once in one `StudyError`, as `file:line: key: reason` (the scenario file's style).
"""

from __future__ import annotations

from itb.errors import ItbError
from itb.textfiles import FileProblems


class FleetError(ItbError):
    """Base of every refusal of fleet studies."""


class StudyError(FleetError, FileProblems):
    """A study file is malformed or asks for something not allowed (every problem found,
    each at its line: `FileProblems`)."""


class OutputError(FleetError):
    """An output folder cannot be used (it holds another study's run, or is not readable)."""

