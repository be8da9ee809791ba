"""The README's Quick start main job works: a scripted clinic visit to a simulated pump."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_quickstart_main_job_runs_a_clinic_visit_and_writes_the_report() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/run" in readme and "scripts/test" in readme
    done = subprocess.run(["bash", str(ROOT / "scripts" / "run")], capture_output=True,
                          text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for step in ("1. Interrogate", "2. Refill", "3. Program change", "4. Session report"):
        assert step in out
    assert "Step 7 of 7" in out and "Program sent and verified" in out
    report = ROOT / "out" / "visit-report.html"
    assert out.strip().splitlines()[-1] == f"Session report: {report}"
    html = report.read_text()
    # The interrogation, the refill record and the program change are in the filed report.
    assert 'id="interrogation"' in html and "ITB-DEMO-0001" in html
    assert "Refill record" in html and "refilled 18 mL of Lioresal Intrathecal" in html
    assert "simple continuous, 330 mcg/day" in html
    assert html.count("data:image/png;base64,") == 2
    # The session journal beside it holds exactly this visit.
    journal = [json.loads(line) for line in
               (ROOT / "out" / "visit-session.jsonl").read_text().splitlines()]
    kinds = [entry["kind"] for entry in journal]
    assert kinds == ["interrogation", "refill", "program", "interrogation"]
    assert all(entry["outcome"] == "done" for entry in journal)
    refill = journal[1]["details"]["refill"]
    assert re.fullmatch(r"\d+(\.\d)?", refill["withdrawn_ml"])  # a syringe reads 0.1 mL
    assert refill["added_ml"] == "18" and refill["reservoir_estimate_ml"] is not None
