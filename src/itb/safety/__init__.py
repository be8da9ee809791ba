"""The safety case: hazards traced to requirements, tests and scenarios (issue 14).

    model.py    the hazards file (`safety/hazards.toml`) read into frozen records
    trace.py    the pure part: the checks and the matrix hazard -> requirement -> tests
    collect.py  the shell: the tests' `req` markers (pytest collection in a subprocess),
                the scenarios' `hazards` key, whether a named module exists
    plugin.py   the small pytest plugin that writes each test's `req` markers
    html.py     the self-contained HTML matrix (Jinja2)
    cli.py      `itb safety trace [--json] [--html FILE]`

docs/safety.md says how to add a hazard, a requirement or a marker.
"""

from __future__ import annotations

from itb.safety.model import Cause, Hazard, Requirement, SafetyCase, SafetyError, parse_case
from itb.safety.trace import Problem, Trace, build_trace

__all__ = [
    "Cause",
    "Hazard",
    "Problem",
    "Requirement",
    "SafetyCase",
    "SafetyError",
    "Trace",
    "build_trace",
    "parse_case",
]
