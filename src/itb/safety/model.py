"""The hazards file read into frozen records, in the style of the FDA's Generic Infusion
Pump hazard analysis: hazard -> causes -> mitigations -> requirement ids.

    [[hazard]]                      id "HAZ-<CATEGORY>-<nn>", title, category, source
    [[hazard.cause]]                cause, mitigation, status, requirements = ["REQ-..."]
    [[requirement]]                 id "REQ-...", text, module (dotted), hazards (optional)

A mitigation's `status` is "implemented" (the code does it, a test shows it), "partial"
(the code does part of it; the cause text says what is left) or "planned" (not in the
code: it lists no requirement and never counts as a mitigation). Pure: this module reads
a parsed TOML document, never a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from itb.errors import ItbError

HAZARD_ID = re.compile(r"^HAZ-[A-Z]+-\d{2}$")
REQUIREMENT_ID = re.compile(r"^REQ-[A-Z0-9]+(-[A-Z0-9]+)*$")
CATEGORIES = ("overdose", "withdrawal", "security", "data", "clinical")
STATUSES = ("implemented", "partial", "planned")
_HAZARD_KEYS = {"id", "title", "category", "source", "cause"}
_CAUSE_KEYS = {"cause", "mitigation", "status", "requirements"}
_REQUIREMENT_KEYS = {"id", "text", "module", "hazards"}
_DOC_KEYS = {"hazard", "requirement"}


class SafetyError(ItbError):
    """The hazards file, a marker or a scenario says something the safety case refuses."""


@dataclass(frozen=True)
class Cause:
    cause: str
    mitigation: str
    status: str
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class Hazard:
    id: str
    title: str
    category: str
    source: str
    causes: tuple[Cause, ...]

    def mitigated(self) -> bool:
        """At least one cause has a mitigation in the code (not only planned)."""
        return any(c.status != "planned" and c.requirements for c in self.causes)


@dataclass(frozen=True)
class Requirement:
    id: str
    text: str
    module: str
    hazards: tuple[str, ...]


@dataclass(frozen=True)
class SafetyCase:
    hazards: tuple[Hazard, ...]
    requirements: tuple[Requirement, ...]

    def requirement(self, req_id: str) -> Requirement | None:
        return next((r for r in self.requirements if r.id == req_id), None)

    def requirements_of(self, hazard: Hazard) -> tuple[str, ...]:
        """The hazard's requirement ids: from its mitigations, then any that name it."""
        ids: list[str] = []
        for cause in hazard.causes:
            ids.extend(r for r in cause.requirements if r not in ids)
        ids.extend(r.id for r in self.requirements if hazard.id in r.hazards and r.id not in ids)
        return tuple(ids)


def _where(kind: str, index: int, item: dict[str, Any]) -> str:
    ident = item.get("id")
    return f"{kind} {ident!r}" if isinstance(ident, str) else f"{kind} number {index + 1}"


def _text(where: str, item: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = item.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise SafetyError(f"{where}: {key} must be non-empty text")
    return value.strip()


def _ids(where: str, item: dict[str, Any], key: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SafetyError(f"{where}: {key} must be a list of ids")
    for ident in value:
        if not pattern.match(ident):
            raise SafetyError(f"{where}: {key} holds {ident!r}, not an id of the form "
                              f"{pattern.pattern}")
    return tuple(value)


def _keys(where: str, item: object, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SafetyError(f"{where} must be a table")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise SafetyError(f"{where}: unknown key {unknown[0]!r} (allowed: "
                          f"{', '.join(sorted(allowed))})")
    return item


def _cause(where: str, item: object) -> Cause:
    table = _keys(where, item, _CAUSE_KEYS)
    status = table.get("status", "implemented")
    if status not in STATUSES:
        raise SafetyError(f"{where}: status must be one of {', '.join(STATUSES)}")
    requirements = _ids(where, table, "requirements", REQUIREMENT_ID)
    if status == "planned" and requirements:
        raise SafetyError(f"{where}: a planned mitigation is not in the code and lists no "
                          "requirement")
    if status != "planned" and not requirements:
        raise SafetyError(f"{where}: an {status} mitigation names the requirement it meets")
    return Cause(_text(where, table, "cause"), _text(where, table, "mitigation"), status,
                 requirements)


def _entry(kind: str, index: int, item: object, keys: set[str], pattern: re.Pattern[str],
           example: str) -> tuple[str, dict[str, Any], str]:
    """A [[hazard]] or [[requirement]] table: where it stands, its keys checked, its id."""
    where = _where(kind, index, item if isinstance(item, dict) else {})
    table = _keys(where, item, keys)
    ident = _text(where, table, "id")
    if not pattern.match(ident):
        raise SafetyError(f"{where}: id must look like {example}")
    return where, table, ident


def _hazard(index: int, item: object) -> Hazard:
    where, table, ident = _entry("hazard", index, item, _HAZARD_KEYS, HAZARD_ID,
                                 "HAZ-OD-01 (HAZ, a category, 2 digits)")
    category = _text(where, table, "category")
    if category not in CATEGORIES:
        raise SafetyError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    causes = table.get("cause", [])
    if not isinstance(causes, list):
        raise SafetyError(f"{where}: cause must be an array of tables ([[hazard.cause]])")
    return Hazard(ident, _text(where, table, "title"), category,
                  _text(where, table, "source", required=False),
                  tuple(_cause(f"{where} cause {i + 1}", c) for i, c in enumerate(causes)))


def _requirement(index: int, item: object) -> Requirement:
    where, table, ident = _entry("requirement", index, item, _REQUIREMENT_KEYS, REQUIREMENT_ID,
                                 "REQ-PUMP-LIMITS")
    module = _text(where, table, "module")
    if not re.match(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$", module):
        raise SafetyError(f"{where}: module must be a dotted module name such as itb.pump.pump")
    return Requirement(ident, _text(where, table, "text"), module,
                       _ids(where, table, "hazards", HAZARD_ID))


def _unique(kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise SafetyError(f"{kind} id {ident} is used twice")
        seen.add(ident)


def parse_case(document: dict[str, Any]) -> SafetyCase:
    """The hazards file's parsed TOML as a SafetyCase; SafetyError names what is wrong."""
    _keys("the hazards file", document, _DOC_KEYS)
    hazards = document.get("hazard", [])
    requirements = document.get("requirement", [])
    if not isinstance(hazards, list) or not isinstance(requirements, list):
        raise SafetyError("the hazards file: hazard and requirement must be arrays of tables")
    case = SafetyCase(tuple(_hazard(i, h) for i, h in enumerate(hazards)),
                      tuple(_requirement(i, r) for i, r in enumerate(requirements)))
    _unique("hazard", [h.id for h in case.hazards])
    _unique("requirement", [r.id for r in case.requirements])
    return case
