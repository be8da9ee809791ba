"""`itb safety trace`: the checks (pure) and the command on a small project and on itb."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from itb.cli import app
from itb.safety import SafetyError, build_trace, parse_case

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

HAZARDS = """
[[hazard]]
id = "HAZ-OD-01"
title = "Overdose from a programming error"
category = "overdose"
[[hazard.cause]]
cause = "a dose typed tenfold"
mitigation = "the titration rule"
requirements = ["REQ-A"]

[[requirement]]
id = "REQ-A"
text = "A change beyond the step needs an override."
module = "itb.therapy.dosing"
"""
TEST_FILE = """
import pytest

@pytest.mark.req("REQ-A")
def test_a():
    pass
"""


def _case(**changes: Any) -> dict[str, Any]:
    hazard = {"id": "HAZ-OD-01", "title": "t", "category": "overdose",
              "cause": [{"cause": "c", "mitigation": "m", "requirements": ["REQ-A"]}]}
    requirement = {"id": "REQ-A", "text": "t", "module": "itb.therapy.dosing"}
    hazard.update(changes.pop("hazard", {}))
    requirement.update(changes.pop("requirement", {}))
    return {"hazard": [hazard], "requirement": [requirement]}


def _kinds(document: dict[str, Any], markers: dict[str, list[str]] | None = None,
           scenarios: dict[str, list[str]] | None = None) -> list[str]:
    trace = build_trace(parse_case(document), {"t.py::test_a": ["REQ-A"]}
                        if markers is None else markers, scenarios or {},
                        lambda name: name.startswith("itb."))
    return [p.kind for p in trace.problems]


def test_a_traced_case_has_no_problems_and_builds_the_matrix() -> None:
    trace = build_trace(parse_case(_case()), {"t.py::test_a": ["REQ-A"]},
                        {"scenarios/s.toml": ["HAZ-OD-01"]}, lambda name: True)
    assert trace.ok
    hazard = trace.as_json()["hazards"][0]
    assert hazard["id"] == "HAZ-OD-01" and hazard["title"] == "t"
    assert hazard["requirements"] == [{"id": "REQ-A", "text": "t",
                                       "module": "itb.therapy.dosing",
                                       "tests": ["t.py::test_a"],
                                       "scenarios": ["scenarios/s.toml"]}]
    assert trace.summary["hazards"] == 1 and trace.summary["tests_linked"] == 1


def test_a_hazard_whose_mitigations_are_only_planned_fails() -> None:
    planned = {"cause": [{"cause": "c", "mitigation": "m", "status": "planned"}]}
    assert _kinds(_case(hazard=planned, requirement={"hazards": ["HAZ-OD-01"]})) == [
        "unmitigated"]


def test_a_requirement_without_a_test_fails() -> None:
    assert _kinds(_case(), markers={}) == ["untested"]


def test_a_marker_naming_an_unknown_requirement_fails() -> None:
    kinds = _kinds(_case(), markers={"t.py::test_a": ["REQ-A"], "t.py::test_b": ["REQ-NOPE"]})
    assert kinds == ["unknown_requirement"]


def test_a_module_that_does_not_exist_fails() -> None:
    assert _kinds(_case(requirement={"module": "nowhere.at_all"})) == ["no_module"]


def test_a_scenario_naming_an_unknown_hazard_fails() -> None:
    assert _kinds(_case(), scenarios={"s.toml": ["HAZ-OD-99"]}) == ["unknown_hazard"]


def test_a_mitigation_naming_an_undefined_requirement_fails() -> None:
    cause = {"cause": [{"cause": "c", "mitigation": "m", "requirements": ["REQ-A", "REQ-B"]}]}
    assert _kinds(_case(hazard=cause)) == ["unknown_requirement"]


@pytest.mark.parametrize(("change", "words"), [
    ({"hazard": {"id": "OD-1"}}, "HAZ-OD-01"),
    ({"hazard": {"category": "misc"}}, "category"),
    ({"hazard": {"colour": "red"}}, "unknown key 'colour'"),
    ({"requirement": {"module": "itb/pump.py"}}, "dotted module"),
    ({"hazard": {"cause": [{"cause": "c", "mitigation": "m"}]}}, "names the requirement"),
    ({"hazard": {"cause": [{"cause": "c", "mitigation": "m", "status": "planned",
                            "requirements": ["REQ-A"]}]}}, "planned"),
])
def test_a_malformed_hazards_file_is_refused_by_what_is_wrong(change: dict[str, Any],
                                                              words: str) -> None:
    with pytest.raises(SafetyError, match=re.escape(words)):
        parse_case(_case(**change))


def _project(tmp_path: Path, hazards: str = HAZARDS, test_file: str = TEST_FILE,
             scenario_hazards: str = '["HAZ-OD-01"]') -> Path:
    (tmp_path / "safety").mkdir()
    (tmp_path / "safety" / "hazards.toml").write_text(hazards, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(test_file, encoding="utf-8")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "s.toml").write_text(
        f'[scenario]\nname = "s"\nhazards = {scenario_hazards}\n', encoding="utf-8")
    return tmp_path


def _trace(root: Path, *args: str) -> Any:
    return runner.invoke(app, ["safety", "trace", "--root", str(root), *args])


def test_a_small_project_traces_and_its_html_links_by_relative_path(tmp_path: Path) -> None:
    root = _project(tmp_path)
    page = root / "out" / "trace.html"
    result = _trace(root, "--json", "--html", str(page))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["hazards"][0]["requirements"][0]["tests"] == ["tests/test_x.py::test_a"]
    assert document["summary"]["ok"] is True
    html = page.read_text(encoding="utf-8")
    assert 'href="../tests/test_x.py"' in html and 'href="../scenarios/s.toml"' in html
    assert "<script" not in html and "http" not in html.split("<body>")[1]


def test_requirements_may_live_in_their_own_file_beside_the_hazards(tmp_path: Path) -> None:
    hazards, requirement = HAZARDS.split("[[requirement]]")
    root = _project(tmp_path, hazards=hazards)
    (root / "safety" / "requirements.toml").write_text("[[requirement]]" + requirement,
                                                       encoding="utf-8")
    result = _trace(root, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["requirements"] == 1


def test_an_unknown_marker_exits_non_zero_with_error_and_next(tmp_path: Path) -> None:
    root = _project(tmp_path, test_file=TEST_FILE + '\n@pytest.mark.req("REQ-GHOST")\n'
                                                    'def test_b():\n    pass\n')
    result = _trace(root)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: the safety trace fails with 1 problems")
    assert "REQ-GHOST" in result.stderr and "\nNext: " in result.stderr


def test_a_requirement_without_a_test_exits_non_zero(tmp_path: Path) -> None:
    root = _project(tmp_path, test_file="def test_a():\n    pass\n")
    result = _trace(root, "--json")
    assert result.exit_code == 1
    assert [p["kind"] for p in json.loads(result.stdout)["problems"]] == ["untested"]


def test_a_hazard_without_a_mitigation_exits_non_zero(tmp_path: Path) -> None:
    hazards = HAZARDS.replace('requirements = ["REQ-A"]', 'status = "planned"').replace(
        'module = "itb.therapy.dosing"', 'module = "itb.therapy.dosing"\nhazards = ["HAZ-OD-01"]')
    result = _trace(_project(tmp_path, hazards=hazards))
    assert result.exit_code == 1 and "HAZ-OD-01 has no mitigation in the code" in result.stderr


def test_a_hazards_file_that_cannot_be_read_exits_2(tmp_path: Path) -> None:
    root = _project(tmp_path, hazards="[[hazard]\n")
    result = _trace(root)
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
    assert "is not valid TOML" in result.stderr and "Next: " in result.stderr


def test_itbs_own_trace_passes_with_every_hazard_traced_to_a_test() -> None:
    result = _trace(ROOT, "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["ok"] is True and document["summary"]["hazards"] >= 30
    for hazard in document["hazards"]:
        assert hazard["requirements"], hazard["id"]
        assert any(r["tests"] for r in hazard["requirements"]), hazard["id"]
    scenarios = {s for h in document["hazards"] for s in h["scenarios"]}
    assert {p.relative_to(ROOT).as_posix() for p in (ROOT / "scenarios").glob("*.toml")} \
        == scenarios
