"""The Dask engine: byte-identical outputs for any partitions and workers, resume, and a
worker killed mid-partition (its partition runs again)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from itb.fleet.engine import PARTS, run_study
from itb.fleet.errors import OutputError
from itb.fleet.outputs import write_outputs

from .helpers import study

OUTPUTS = ("patients.parquet", "events.parquet", "summary.json")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    dask_client = Client(cluster)
    yield dask_client
    dask_client.close()
    cluster.close()


def _run(s: Any, out: Path, client: Any, size: int, progress: Any = None) -> Any:
    figures = run_study(s, out, client, partition_size=size, progress=progress)
    write_outputs(s, out)
    return figures


def _same(a: Path, b: Path) -> None:
    for name in OUTPUTS + (("daily.parquet",) if (a / "daily.parquet").exists() else ()):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_outputs_are_byte_identical_for_any_partition_size(client: Any, tmp_path: Path
                                                           ) -> None:
    s = study(patients=7, occlusion=(0.6, 0.5), pocket=0.05, late=0.2, daily=True)
    _run(s, tmp_path / "a", client, 1)
    _run(s, tmp_path / "b", client, 3)
    _run(s, tmp_path / "c", client, 7)
    _same(tmp_path / "a", tmp_path / "b")
    _same(tmp_path / "a", tmp_path / "c")
    assert (tmp_path / "a" / "daily.parquet").stat().st_size > 0


def test_an_interrupted_run_resumes_from_the_partitions_written(client: Any,
                                                                tmp_path: Path) -> None:
    s = study(patients=6, occlusion=(0.6, 0.5))
    _run(s, tmp_path / "whole", client, 2)
    out = tmp_path / "resumed"
    _run(s, out, client, 2)
    parts = sorted((out / PARTS).glob("patients-*.parquet"))
    parts[0].unlink()  # lost
    parts[1].write_bytes(b"not parquet")  # cut off mid-write
    for name in OUTPUTS:
        (out / name).unlink()
    figures = _run(s, out, client, 2)
    assert (figures.partitions, figures.partitions_resumed) == (3, 1)
    _same(tmp_path / "whole", out)


def test_a_folder_of_another_study_is_refused(client: Any, tmp_path: Path) -> None:
    _run(study(patients=2), tmp_path, client, 2)
    with pytest.raises(OutputError, match="another study"):
        run_study(study(patients=2, seed=12), tmp_path, client)


def test_a_worker_killed_mid_partition_loses_nothing(client: Any, tmp_path: Path) -> None:
    s = study(patients=8, years="2", occlusion=(0.3, 0.5))
    _run(s, tmp_path / "reference", client, 1)
    pids: dict[str, int] = client.run(os.getpid)
    killed: list[int] = []
    first_done = threading.Event()

    def progress(done: int, _years: float) -> None:
        if done:
            first_done.set()

    def kill_one() -> None:
        first_done.wait(60)
        pid = sorted(pids.values())[0]
        os.kill(pid, signal.SIGKILL)  # a worker process dies while partitions are running
        killed.append(pid)

    killer = threading.Thread(target=kill_one)
    killer.start()
    _run(s, tmp_path / "killed", client, 1, progress)
    killer.join()
    assert killed
    client.wait_for_workers(2, timeout=60)  # the nanny started a new worker
    assert set(client.run(os.getpid).values()) != set(pids.values())
    _same(tmp_path / "reference", tmp_path / "killed")
