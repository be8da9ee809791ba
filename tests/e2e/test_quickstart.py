"""The README's Quick start main job works and shows a real pump run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_quickstart_main_job_runs_and_reports_a_pump_run() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/run" in readme and "scripts/test" in readme
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "run"), "--json"],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # 60 days at 300 mcg/day through a patent catheter: about 18,000 mcg, within the
    # pump's stated accuracy (devices.md: about +/-14.5%).
    delivered = float(report["delivered_mcg"])
    assert 18_000 * 0.85 <= delivered <= 18_000 * 1.15
    assert float(report["reservoir_estimate_ml"]) > 0
    assert report["events"] > 0
