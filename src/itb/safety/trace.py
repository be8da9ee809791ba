"""The pure part of `itb safety trace`: check the safety case and build the matrix.

Inputs are plain data gathered by the shell (`itb.safety.collect`): the SafetyCase, each
test's `req` marker ids (pytest node id -> requirement ids), each scenario's `hazards`
(path -> hazard ids) and a function that says whether a dotted module exists. Nothing
here reads a file, runs pytest or imports the named modules.

The trace fails (a Problem each) when a hazard has no mitigation in the code, a
mitigation or a marker names an unknown requirement, a requirement has no test, names a
module that does not exist or traces to no hazard, or a scenario names an unknown hazard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from itb.safety.model import Hazard, SafetyCase


@dataclass(frozen=True)
class Problem:
    kind: str  # unmitigated, unknown_requirement, untested, no_module, orphan, unknown_hazard
    subject: str  # the hazard, requirement, test or scenario it concerns
    message: str


@dataclass(frozen=True)
class Trace:
    """The matrix (as the JSON document's `hazards`), its summary and its problems."""

    hazards: list[dict[str, Any]]
    summary: dict[str, Any]
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"hazards": self.hazards, "summary": self.summary,
                "problems": [{"kind": p.kind, "subject": p.subject, "message": p.message}
                             for p in self.problems]}


def _invert(mapping: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """{key: [ids]} -> {id: [keys]} in the keys' sorted order."""
    out: dict[str, list[str]] = {}
    for key in sorted(mapping):
        for ident in mapping[key]:
            if key not in out.setdefault(ident, []):
                out[ident].append(key)
    return out


def _case_problems(case: SafetyCase, module_exists: Callable[[str], bool]) -> list[Problem]:
    known_req = {r.id for r in case.requirements}
    known_haz = {h.id for h in case.hazards}
    problems = []
    traced: set[str] = set()
    for hazard in case.hazards:
        if not hazard.mitigated():
            problems.append(Problem("unmitigated", hazard.id,
                                    f"hazard {hazard.id} has no mitigation in the code (every "
                                    "cause is planned or names no requirement)"))
        for cause in hazard.causes:
            for req_id in cause.requirements:
                traced.add(req_id)
                if req_id not in known_req:
                    problems.append(Problem("unknown_requirement", hazard.id,
                                            f"hazard {hazard.id} names requirement {req_id}, "
                                            "which the hazards file does not define"))
    for req in case.requirements:
        for haz_id in req.hazards:
            traced.add(req.id)
            if haz_id not in known_haz:
                problems.append(Problem("unknown_hazard", req.id, f"requirement {req.id} names "
                                        f"hazard {haz_id}, which the hazards file does not "
                                        "define"))
        if req.id not in traced:
            problems.append(Problem("orphan", req.id, f"requirement {req.id} traces to no "
                                    "hazard (no mitigation names it and it names none)"))
        if not module_exists(req.module):
            problems.append(Problem("no_module", req.id, f"requirement {req.id} names module "
                                    f"{req.module}, which does not exist"))
    return problems


def _link_problems(case: SafetyCase, tests: dict[str, list[str]],
                   scenarios: Mapping[str, Sequence[str]]) -> list[Problem]:
    known_req = {r.id for r in case.requirements}
    known_haz = {h.id for h in case.hazards}
    problems = []
    for req in case.requirements:
        if not tests.get(req.id):
            problems.append(Problem("untested", req.id, f"requirement {req.id} has no test "
                                    f"(no test carries @pytest.mark.req(\"{req.id}\"))"))
    for req_id, nodes in sorted(tests.items()):
        if req_id not in known_req:
            problems.extend(Problem("unknown_requirement", node, f"test {node} is marked with "
                                    f"requirement {req_id}, which the hazards file does not "
                                    "define") for node in nodes)
    for path in sorted(scenarios):
        problems.extend(Problem("unknown_hazard", path, f"scenario {path} names hazard "
                                f"{haz_id}, which the hazards file does not define")
                        for haz_id in scenarios[path] if haz_id not in known_haz)
    return problems


def _hazard_row(case: SafetyCase, hazard: Hazard, tests: dict[str, list[str]],
                scenarios: list[str]) -> dict[str, Any]:
    rows = []
    for req_id in case.requirements_of(hazard):
        req = case.requirement(req_id)
        rows.append({"id": req_id, "text": req.text if req else "",
                     "module": req.module if req else "",
                     "tests": tests.get(req_id, []), "scenarios": scenarios})
    return {"id": hazard.id, "title": hazard.title, "category": hazard.category,
            "source": hazard.source,
            "causes": [{"cause": c.cause, "mitigation": c.mitigation, "status": c.status,
                        "requirements": list(c.requirements)} for c in hazard.causes],
            "requirements": rows, "scenarios": scenarios}


def build_trace(case: SafetyCase, markers: Mapping[str, Sequence[str]],
                scenarios: Mapping[str, Sequence[str]],
                module_exists: Callable[[str], bool]) -> Trace:
    """The matrix hazard -> requirement -> tests and scenarios, its summary, its problems.

    `markers` maps each pytest node id to the requirement ids of its `req` markers;
    `scenarios` maps each scenario path to the hazard ids it declares.
    """
    tests = _invert(markers)
    by_hazard = _invert(scenarios)
    problems = _case_problems(case, module_exists) + _link_problems(case, tests, scenarios)
    hazards = [_hazard_row(case, h, tests, by_hazard.get(h.id, [])) for h in case.hazards]
    statuses = [c.status for h in case.hazards for c in h.causes]
    known_req = {r.id for r in case.requirements}
    linked = {node for node, ids in markers.items() if any(i in known_req for i in ids)}
    summary = {
        "hazards": len(case.hazards),
        "requirements": len(case.requirements),
        "mitigations": {s: statuses.count(s) for s in ("implemented", "partial", "planned")},
        "tests_linked": len(linked),
        "test_links": sum(len(v) for k, v in tests.items() if k in known_req),
        "scenarios_linked": sum(1 for ids in scenarios.values() if ids),
        "hazards_with_scenarios": sum(1 for h in hazards if h["scenarios"]),
        "problems": len(problems),
        "ok": not problems,
    }
    return Trace(hazards, summary, tuple(problems))
