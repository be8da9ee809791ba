"""Packaging: pyproject.toml states compatible ranges, requirements.lock pins them exactly.

`pip install itb` resolves pyproject's ranges beside a user's other packages; scripts/setup
and CI install requirements.lock with --require-hashes. These tests keep the two in step:
every locked version must satisfy its range, every dependency must be locked with hashes,
and the lock must cover the Python versions itb claims (3.11 to 3.13).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCK_TEXT = (ROOT / "requirements.lock").read_text(encoding="utf-8")
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")

# One locked requirement: "name==version [; marker]" then its "--hash=sha256:..." lines.
_LOCK_ENTRY = re.compile(r"^(?P<req>[A-Za-z0-9][^\s\\]*==[^\s\\;]+(?:\s*;[^\\\n]+)?)"
                         r"(?P<hashes>(?:\s*\\\s*--hash=sha256:[0-9a-f]{64})*)", re.MULTILINE)


def _locked() -> dict[str, tuple[Version, Requirement, int]]:
    """name -> (locked version, the lock's requirement line, number of hashes)."""
    entries: dict[str, tuple[Version, Requirement, int]] = {}
    for match in _LOCK_ENTRY.finditer(LOCK_TEXT):
        requirement = Requirement(match["req"].strip())
        (pin,) = requirement.specifier
        entries[canonicalize_name(requirement.name)] = (
            Version(pin.version), requirement, match["hashes"].count("--hash="))
    return entries


LOCKED = _locked()


def _declared() -> list[Requirement]:
    project = PYPROJECT["project"]
    return [Requirement(text)
            for text in [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


def test_requires_python_is_3_11_to_3_13() -> None:
    allowed = SpecifierSet(PYPROJECT["project"]["requires-python"])
    for version in SUPPORTED_PYTHONS:
        assert Version(version + ".0") in allowed, version
    assert Version("3.10.12") not in allowed and Version("3.14.0") not in allowed


@pytest.mark.parametrize("requirement", _declared(), ids=lambda r: r.name)
def test_pyproject_range_admits_the_locked_version(requirement: Requirement) -> None:
    name = canonicalize_name(requirement.name)
    assert name in LOCKED, f"{name} is in pyproject.toml but not in requirements.lock"
    version, _, _ = LOCKED[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{name}: locked {version} is outside pyproject's {requirement.specifier}")


@pytest.mark.parametrize("requirement", _declared(), ids=lambda r: r.name)
def test_pyproject_states_a_range_not_a_pin(requirement: Requirement) -> None:
    # A pin (==) in pyproject would make `pip install itb` fight the user's other packages;
    # exact versions belong in the lock. An upper bound keeps a future major release out.
    operators = {spec.operator for spec in requirement.specifier}
    assert "==" not in operators and "===" not in operators, requirement
    assert ">=" in operators, f"{requirement}: no lower bound (the oldest tested release)"
    if requirement.name != "packaging":  # a test-only reader of version strings
        assert "<" in operators, f"{requirement}: no upper bound (the next major release)"


def test_every_locked_package_is_pinned_with_hashes() -> None:
    assert len(LOCKED) >= len(_declared())
    # pip's --require-hashes refuses a line without a hash; check it here, where it is cheap.
    unhashed = sorted(name for name, (_, _, hashes) in LOCKED.items() if hashes == 0)
    assert not unhashed, f"locked without a hash: {unhashed}"
    lines = [line for line in LOCK_TEXT.splitlines() if line and not line.startswith(("#", " "))]
    assert len(lines) == len(LOCKED), "a lock line that is not name==version"


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_lock_installs_every_declared_dependency_on_each_supported_python(python: str) -> None:
    # A universal lock guards some lines with markers (colorama on Windows only); none of
    # itb's own dependencies may be left out on a supported Python on Linux.
    environment = {"python_version": python, "python_full_version": python + ".0",
                   "sys_platform": "linux", "platform_system": "Linux",
                   "implementation_name": "cpython", "platform_python_implementation": "CPython"}
    for requirement in _declared():
        _, locked_line, _ = LOCKED[canonicalize_name(requirement.name)]
        marker: Marker | None = locked_line.marker
        assert marker is None or marker.evaluate(environment), (requirement.name, python)
