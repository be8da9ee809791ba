"""The validated `Scenario`, the problems found in a file, and where in the file a key is
written (so every refusal names its line).

A scenario names the patient, the pump and its implant, an optional screening trial
and a timeline of clinical acts and faults (docs/sim.md lists every key; the models are
`itb.sim.schema`). `itb.sim.parser.parse_scenario(text, source)` reads and validates a
file into a `Scenario`; every refusal is a `ScenarioError` naming the file, the line where
it can be found, the key and the reason, and it is raised before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itb.pump.records import to_datetime
from itb.sim.errors import ScenarioError
from itb.sim.schema import ScenarioFile

Loc = tuple[Any, ...]
Problem = tuple[int | None, str, str]  # (line or None, key, reason)


class Problems:
    """The refusals found while checking a file, each placed at its line."""

    def __init__(self, source: str, lines: dict[Loc, int]) -> None:
        self.source = source
        self.lines = lines
        self.found: list[Problem] = []

    def add(self, loc: Loc, reason: str, key: str | None = None) -> None:
        self.found.append((line_for(loc, self.lines), key_text(loc) if key is None else key,
                           reason))

    def raise_any(self) -> None:
        if self.found:
            raise ScenarioError(self.source, self.found)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the parsed file plus its resolved absolute times."""

    source: str
    spec: ScenarioFile
    start_s: int
    end_s: int
    implant_s: int
    # Timeline events with their absolute times (UTC seconds), in time order (file order
    # for equal times); each with its index in the file's [[timeline]] list.
    events: tuple[tuple[int, int, Any], ...]
    parameters: Any  # itb.physiology.PatientParameters, built (and checked) at validation

    @property
    def name(self) -> str:
        return self.spec.scenario.name

    @property
    def start(self) -> datetime:
        return to_datetime(self.start_s)

    @property
    def end(self) -> datetime:
        return to_datetime(self.end_s)

    @property
    def established(self) -> bool:
        return self.spec.patient.days_on_therapy is not None


def seconds(moment: datetime) -> int:
    """A moment as UTC seconds, the run's clock (whole seconds, as the pump counts)."""
    return int(moment.timestamp())


# ---------------------------------------------------------------------- line finding
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"]+)\s*=")


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line numbers of tables and keys, addressed like pydantic locations.

    `[[timeline]]` number i is ("timeline", i); `[patient.kinetics]` is
    ("patient", "kinetics"); a key under it adds its name. Values spanning several
    lines (inline arrays) are found by their key's line.
    """
    lines: dict[tuple[Any, ...], int] = {}
    counters: dict[tuple[str, ...], int] = {}
    path: tuple[Any, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            names = tuple(p.strip().strip('"') for p in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counters.get(names, -1) + 1
                counters[names] = index
                path = (*names, index)
            else:
                # A sub-table of the last array table ([timeline.program]) belongs to it.
                parent = names[:-1]
                path = (*parent, counters[parent], names[-1]) if parent in counters else names
            lines.setdefault(path, number)
            continue
        key = _KEY.match(raw)
        if key:
            parts = tuple(p.strip('"') for p in key.group(1).split("."))
            lines.setdefault((*path, *parts), number)
    return lines


def line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def key_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def schema_reason(error: Any, doc: str) -> str:
    """A pydantic refusal of one key in words: an unknown key points to `doc` (the file's
    keys), a missing one says so, a validator's message loses pydantic's prefix."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key (see {doc} for the keys of this table)"
    if kind == "missing":
        return "missing: this key is required"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message
