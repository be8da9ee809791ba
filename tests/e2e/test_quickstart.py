"""The README's Quick start: the main job (`scripts/run`: the demo clinic served until
stopped) and the scripted clinic visit to a simulated pump (`scripts/run --visit`)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import urllib.request
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_quickstart_main_job_runs_a_clinic_visit_and_writes_the_report() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/run" in readme and "scripts/test" in readme
    done = subprocess.run(["bash", str(ROOT / "scripts" / "run"), "--visit"],
                          capture_output=True, text=True, timeout=240, check=False)
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


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return int(answer.status)


@pytest.mark.e2e
def test_the_main_job_serves_the_demo_clinic_until_stopped() -> None:
    env = {**os.environ, "ITB_CLINIC_PORT": "0", "ITB_DEMO_PATIENTS": "3"}
    job = subprocess.Popen(["bash", str(ROOT / "scripts" / "run")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
    assert job.stdout is not None
    lines: list[str] = []
    try:
        for line in job.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Serving until stopped"):
                break
        out = "\n".join(lines)
        match = re.search(r"^The clinic: (http://127\.0\.0\.1:\d+/)$", out, re.MULTILINE)
        assert match is not None, (out, job.stderr.read() if job.poll() is not None else "")
        for role in ("admin", "clinician", "nurse", "viewer", "patient"):
            assert re.search(rf"^  {role} +username {role} +password \S+$", out, re.MULTILINE)
        pumps = re.search(r"served on 127\.0\.0\.1:(\d+)", out)
        assert pumps is not None
        url = match.group(1)
        # the web app's login page once it is mounted (itb.clinic.web), else the API's schema
        page = "login" if find_spec("itb.clinic.web") is not None else "openapi.json"
        assert _get(url + page) == 200
    finally:
        job.send_signal(signal.SIGINT)  # Ctrl-C
        rest, errors = job.communicate(timeout=60)
    assert job.returncode == 0, errors
    assert rest.strip().endswith("Stopped.")
    for port in (int(url.rsplit(":", 1)[1].strip("/")), int(pumps.group(1))):
        with pytest.raises(ConnectionRefusedError):  # nothing listens any more
            socket.create_connection(("127.0.0.1", port), timeout=5)
