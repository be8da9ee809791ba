"""A small pytest plugin for `itb safety trace`: after collection, write every test's
`req` marker ids as JSON ({node id: [requirement ids]}) to the file named by the
environment variable ITB_SAFETY_MARKERS. Loaded only by the trace's collection run
(`pytest --collect-only -p itb.safety.plugin`); it changes nothing else.

A parametrised test is written once, under its node id without the parameters
(`tests/x.py::test_y`), which pytest also accepts to run every case of it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ENV = "ITB_SAFETY_MARKERS"
_PARAMS = re.compile(r"\[.*\]$")


def pytest_collection_finish(session: pytest.Session) -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    found: dict[str, list[str]] = {}
    for item in session.items:
        ids = [str(arg) for mark in item.iter_markers(name="req") for arg in mark.args]
        if not ids:
            continue
        node = _PARAMS.sub("", item.nodeid)
        known = found.setdefault(node, [])
        known.extend(i for i in ids if i not in known)
    Path(target).write_text(json.dumps(found, indent=1, sort_keys=True), encoding="utf-8")
