"""The shell of `itb safety trace`: everything that reads files, runs pytest or looks
modules up. The pure checks and the matrix are in `itb.safety.trace`.

- The hazards file: `safety/hazards.toml` under the project root (TOML).
- The tests' markers: `pytest --collect-only` in a subprocess with `itb.safety.plugin`,
  which writes each test's `req` ids to a temporary file. Collection only: no test runs,
  so the trace takes seconds; CI's own pytest run shows the tests pass.
- The scenarios: each `*.toml` under `scenarios/`, its `[scenario] hazards` list.
- A module exists when `importlib.util.find_spec` finds it (without running it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from itb.safety.model import SafetyCase, SafetyError, parse_case
from itb.safety.plugin import ENV

HAZARDS_FILE = Path("safety") / "hazards.toml"
# The requirements may live beside the hazards file, in their own file (the two together
# are one document: the hazards file's own [[requirement]] tables come first).
REQUIREMENTS_NAME = "requirements.toml"
COLLECT_TIMEOUT_S = 600


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SafetyError(f"cannot read {path} ({error.strerror or error})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SafetyError(f"{path} is not valid TOML ({error})") from None


def read_case(path: Path) -> SafetyCase:
    """The hazards file at `path` as a SafetyCase (SafetyError names the problem)."""
    try:
        document = _read_toml(path)
        beside = path.parent / REQUIREMENTS_NAME
        if beside.is_file():
            extra = _read_toml(beside)
            unknown = sorted(set(extra) - {"requirement"})
            if unknown:
                raise SafetyError(f"{beside}: unknown key {unknown[0]!r} (allowed: requirement)")
            document = {**document, "requirement": [*document.get("requirement", []),
                                                    *extra.get("requirement", [])]}
        return parse_case(document)
    except SafetyError as error:
        if str(path) in str(error):
            raise
        raise SafetyError(f"{path}: {error}") from None


def module_exists(name: str) -> bool:
    """Whether the dotted module `name` can be imported (found, not run)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package that is missing or not a package
        return False


def scenario_hazards(folder: Path, root: Path) -> dict[str, list[str]]:
    """{scenario path relative to root: [hazard ids]} for every scenario file in `folder`."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.toml")):
        table = _read_toml(path).get("scenario", {})
        hazards = table.get("hazards", []) if isinstance(table, dict) else []
        if not isinstance(hazards, list) or not all(isinstance(h, str) for h in hazards):
            raise SafetyError(f"{path}: [scenario] hazards must be a list of hazard ids")
        found[_relative(path, root)] = list(hazards)
    return found


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def collect_markers(root: Path, tests: Path) -> dict[str, list[str]]:
    """{pytest node id: [requirement ids]} from the tests' `req` markers (collection only)."""
    with tempfile.TemporaryDirectory(prefix="itb-safety-") as scratch:
        out = Path(scratch) / "markers.json"
        command = [sys.executable, "-m", "pytest", "--collect-only", "-q",
                   "-p", "itb.safety.plugin", "-p", "no:cacheprovider", str(tests)]
        env = {**os.environ, ENV: str(out)}
        try:
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True,
                                  timeout=COLLECT_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SafetyError(f"collecting the tests failed ({error})") from None
        if done.returncode != 0 or not out.exists():
            tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
            raise SafetyError(f"collecting the tests in {tests} failed (pytest exit status "
                              f"{done.returncode}: {' / '.join(tail) or 'no output'})")
        markers: dict[str, list[str]] = json.loads(out.read_text(encoding="utf-8"))
        return markers
