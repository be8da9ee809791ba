"""`itb fleet` end to end: a real `dask scheduler` and `dask worker` on loopback, the real
`itb` command as a subprocess, then `itb fleet report` and `itb fleet compare`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from itb.cli import app

from .helpers import study_text

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent
runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def scheduler(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = (tmp_path / "scheduler.log").open("w"), (tmp_path / "worker.log").open("w")
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"],
                              stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads",
                                       "1", "--nworkers", "1", "--no-dashboard"],
                                      stdout=logs[1], stderr=subprocess.STDOUT))
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def _itb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "itb"), "fleet", *args], capture_output=True, text=True,
                          timeout=300)


def test_a_study_runs_on_an_existing_cluster_and_matches_the_embedded_one(
        scheduler: str, tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(study_text(name="small", patients=4, occlusion=(0.5, 0.5), late=0.2))
    remote, local = tmp_path / "remote", tmp_path / "local"
    result = _itb("run", str(path), "--scheduler", scheduler, "--out", str(remote),
                  "--partition-size", "1", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["patient_years"] == 4 and summary["study"]["patients"] == 4
    assert {"survival.png", "incidence.png", "detection.png"} <= {
        p.name for p in remote.iterdir()}
    local_run = _itb("run", str(path), "--workers", "2", "--out", str(local))
    assert local_run.returncode == 0, local_run.stderr
    assert "patient-years" in local_run.stdout
    for name in ("patients.parquet", "events.parquet", "summary.json"):
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name

    # The same command line in process (each `itb` subprocess pays for importing Dask).
    report = runner.invoke(app, ["fleet", "report", str(remote)])
    assert report.exit_code == 0, report.output
    html = (remote / "report.html").read_text()
    assert "Fleet study: small" in html and "survival.png" in html

    compared = runner.invoke(app, ["fleet", "compare", str(remote), str(local), "--json"])
    assert compared.exit_code == 0, compared.output
    rows = json.loads(compared.stdout)["incidence"]
    assert rows["any_withdrawal"]["ratio_b_over_a"]["ratio"] in (1, None)
    text = runner.invoke(app, ["fleet", "compare", str(remote), str(local)])
    assert text.exit_code == 0 and "B/A (95% CI)" in text.stdout


def test_an_unreachable_scheduler_is_refused_in_two_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(study_text(patients=1))
    result = _itb("run", str(path), "--scheduler", f"tcp://127.0.0.1:{_free_port()}",
                  "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: cannot reach the Dask scheduler")
    assert lines[-1].startswith("Next: ") and "Traceback" not in result.stderr
