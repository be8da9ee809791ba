"""Running a study on Dask: partitions of patients out to workers, Parquet back to disk.

This is the IO shell of fleet studies (processes, files, clocks). A partition is the
patients [start, stop); a worker runs them (`run_partition`, pure: the study's text in,
Arrow tables out as IPC bytes, so workers need no shared disk) and the client writes each
partition's two Parquet files as it comes back (`partitions/`), patients file last and by
rename, so a partition on disk is whole or absent. An interrupted run resumes: partitions
already written for the same study (its digest is in their metadata) are skipped. A worker
that dies mid-partition loses nothing: Dask runs its task again elsewhere. At the end the
partitions are joined, in patient order and fixed row groups, into `patients.parquet` and
`events.parquet`, byte-identical for any number of workers or partitions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from itb.fleet.errors import OutputError
from itb.fleet.patient_run import run_patient
from itb.fleet.study import Study, parse_study
from itb.fleet.tables import (
    DAILY_SCHEMA,
    EVENT_SCHEMA,
    PATIENT_SCHEMA,
    DeterministicWriter,
    daily_table,
    events_table,
    patients_table,
)

PARTS = "partitions"
DEFAULT_PARTITION_SIZE = 50
Progress = Callable[[int, float], None]  # (patients done, patient-years done)


@dataclass(frozen=True)
class RunFigures:
    patients: int
    partitions: int
    partitions_resumed: int
    wall_s: float
    worker_cpu_s: float


def run_partition(text: str, source: str, start: int, stop: int,
                  arm: str | None = None) -> dict[str, Any]:
    """Run patients [start, stop) of a study, or of one of its arms (on a worker). Pure but
    for the CPU clock."""
    study = parse_study(text, source)
    if arm is not None:
        study = study.with_arm(arm)
    begin = time.process_time()
    results = [run_patient(study, i) for i in range(start, stop)]
    cpu = time.process_time() - begin
    out = {"start": start, "stop": stop, "cpu_s": cpu,
           "patients": _ipc(patients_table(results)), "events": _ipc(events_table(results))}
    if study.spec.study.daily:
        out["daily"] = _ipc(daily_table(results))
    return out


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def partition_bounds(patients: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, patients)) for a in range(0, patients, size)]


def _part_paths(out: Path, start: int, stop: int) -> tuple[Path, Path, Path]:
    stem = f"{start:09d}-{stop:09d}"
    return (out / PARTS / f"patients-{stem}.parquet", out / PARTS / f"events-{stem}.parquet",
            out / PARTS / f"daily-{stem}.parquet")


def partition_done(out: Path, study: Study, start: int, stop: int) -> bool:
    """A partition already written for this study, whole and readable."""
    patients, events, daily = _part_paths(out, start, stop)
    others = (events, daily) if study.spec.study.daily else (events,)
    if not patients.is_file() or not all(p.is_file() for p in others):
        return False
    try:
        meta = pq.read_metadata(patients)
        for path in others:
            pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return False
    kv = meta.metadata or {}
    return kv.get(b"itb_study") == study.digest.encode() and meta.num_rows == stop - start


def _write_partition(out: Path, study: Study, result: dict[str, Any]) -> None:
    patients_path, events_path, daily_path = _part_paths(out, result["start"], result["stop"])
    files = [(events_path, result["events"], {})]
    if "daily" in result:
        files.append((daily_path, result["daily"], {}))
    # The patients file last: its presence (with the digest) means the partition is whole.
    files.append((patients_path, result["patients"], {b"itb_study": study.digest.encode()}))
    for path, data, extra in files:
        table = _from_ipc(data)
        table = table.replace_schema_metadata(extra or None)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)


def check_output(out: Path, study: Study) -> None:
    """Refuse a folder that holds partitions of another study."""
    parts = out / PARTS
    if not parts.is_dir():
        return
    for path in sorted(parts.glob("patients-*.parquet")):
        try:
            kv = pq.read_metadata(path).metadata or {}
        except (OSError, pa.ArrowException):
            continue  # unreadable: it will be written again
        if kv.get(b"itb_study") != study.digest.encode():
            raise OutputError(f"the folder {out} holds partitions of another study "
                              f"({path.name})")


def run_study(study: Study, out: Path, client: Any, *, partition_size: int =
              DEFAULT_PARTITION_SIZE, progress: Progress | None = None) -> RunFigures:
    """Run every partition not yet written on the Dask `client`, then join them."""
    from distributed import as_completed

    check_output(out, study)
    (out / PARTS).mkdir(parents=True, exist_ok=True)
    bounds = partition_bounds(study.patients, partition_size)
    todo = [b for b in bounds if not partition_done(out, study, *b)]
    years = float(study.spec.study.years)
    done = study.patients - sum(b - a for a, b in todo)
    if progress is not None:
        progress(done, done * years)
    begin, cpu = time.monotonic(), 0.0
    futures = [client.submit(run_partition, study.text, study.source, a, b, study.arm,
                             pure=False) for a, b in todo]
    try:
        for future in as_completed(futures):
            result = future.result()
            _write_partition(out, study, result)
            cpu += result["cpu_s"]
            done += result["stop"] - result["start"]
            future.release()
            if progress is not None:
                progress(done, done * years)
    except BaseException:
        client.cancel(futures)  # nothing keeps the workers busy after a failure
        raise
    join_partitions(out, bounds, daily=study.spec.study.daily)
    return RunFigures(study.patients, len(bounds), len(bounds) - len(todo),
                      time.monotonic() - begin, cpu)


def join_partitions(out: Path, bounds: list[tuple[int, int]], *, daily: bool = False) -> None:
    """patients.parquet and events.parquet (and daily.parquet) from the partitions, in
    patient order."""
    tables = [("patients", PATIENT_SCHEMA, 0), ("events", EVENT_SCHEMA, 1)]
    if daily:
        tables.append(("daily", DAILY_SCHEMA, 2))
    for name, schema, index in tables:
        tmp = out / f"{name}.parquet.tmp"
        writer = DeterministicWriter(tmp, schema)
        for start, stop in bounds:
            table = pq.read_table(_part_paths(out, start, stop)[index])
            writer.write(table.replace_schema_metadata(None).cast(schema))
        writer.close()
        os.replace(tmp, out / f"{name}.parquet")


def local_client(workers: int) -> tuple[Any, Any]:
    """An embedded cluster: `workers` processes of one thread each."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")  # any free port: never a clash
    return Client(cluster), cluster


def remote_client(address: str) -> Any:
    from distributed import Client

    return Client(address, timeout="10s")
