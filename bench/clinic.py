"""Benchmark: a clinic of 10,000 patients with 5 years of history, on SQLite and PostgreSQL.

Measured, on each back end, each call in its own transaction as the API runs it (the
audit entry each read writes included):

- the worklist (`itb.clinic.worklist`, read from the per-implant summary `implant_status`),
  p50/p99 over `REPEATS` calls: every entry of every list; every entry of the refills due;
  the dashboard's overview (each list's size and 25 most urgent entries); one page of 100
  of the refills due. The whole lists cost in proportion to their entries (the demo clinic
  lists over half of its patients: its plans make 30% due or overdue, and so on);
- a patient's page data (`itb.clinic.chart.load_chart`, recent=20: the patient, implants,
  prescriptions, last visits, interrogations, refills, program changes, session acts,
  symptom calls, screening), p50/p99 over `PAGES` random patients;
- the reference, measured in the same run: one patient read by primary key in its own
  transaction (the floor of any request on that back end).

The clinic is built in a process of its own (`build_apart`) and measured in this one, which
has made none of it, as a server reads a clinic made before it started. Before measuring,
the process freezes its heap as `itb clinic serve` does once it has started
(`freeze_startup_heap`): what lives for the whole process is left out of later garbage
collections, which otherwise pause whichever call tips one by tens of ms.

Targets (issue 11): worklist p99 < 50 ms, patient record p99 < 20 ms, on SQLite.

The history is `itb clinic demo --records-only`'s (itb.clinic.demo.write_records_only, bulk
inserts without running a pump per patient): per patient a screening trial, an implant, a
visit with an interrogation and a refill at each refill (each before the last refill-by
date) from the implant, 4 months to 5 years 10 months ago, a prescription per dose step, a
few faults and symptom calls; then 2% of patients and 1% of interrogations soft-deleted.

PostgreSQL: `ITB_TEST_POSTGRES_URL`, else a throwaway server (`itb.clinic.devpg`), else
skipped and said so. The import rate: recorded programmer sessions (6 act entries each,
every entry in its own transaction, as POST /api/recordings files it) through the feed's
recording service (`itb.clinic.recording.record_entry`); without it the figure is null and
the reason printed.

Run: `.venv/bin/python bench/clinic.py [--patients N]`. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from itb.clinic import implant_status
from itb.clinic.access import Actor
from itb.clinic.chart import load_chart
from itb.clinic.commands.serve import freeze_startup_heap
from itb.clinic.db import ClinicDB
from itb.clinic.demo import plan_patients, write_records_only
from itb.clinic.models import Implant, Interrogation, Patient
from itb.clinic.worklist import overview, page, worklist

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
YEARS = 5  # the demo's implants are 4 months to 5 years 10 months old (itb.clinic.demo)
SEED = 11
REPEATS = 60
PAGES = 300
IMPORT_SESSIONS = 100
IMPORT_ENTRIES = 6
TARGETS_MS = {"worklist_p99": 50.0, "patient_record_p99": 20.0}
NURSE = Actor(user_id=None, username="bench", role="nurse")


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def build(db: ClinicDB, patients: int) -> int:
    """The demo clinic, records only (`itb clinic demo --records-only`'s own writer), then
    2% of patients and 1% of interrogations soft-deleted (Core updates, each batch's
    summary refreshed in the same transaction, as the records-only demo does)."""
    db.migrate()
    counts = write_records_only(db, plan_patients(patients, SEED, NOW), NOW)
    rng = random.Random(SEED)
    with db.session() as s:
        gone = rng.sample(range(1, patients + 1), patients // 50)
        seen = rng.sample(range(1, counts["interrogations"] + 1), counts["interrogations"] // 100)
        s.execute(update(Patient).where(Patient.id.in_(gone)).values(deleted_at=NOW))
        for start in range(0, len(seen), implant_status.BATCH):
            s.execute(update(Interrogation).where(Interrogation.id.in_(
                seen[start:start + implant_status.BATCH])).values(deleted_at=NOW))
        touched = set(gone) | set(s.scalars(select(Interrogation.patient_id).where(
            Interrogation.deleted_at.is_not(None))))
        implant_status.refresh(s.connection(), touched)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
    return sum(counts.values())


def _timed(call: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per call (the CPU time shows the work itself when
    other processes share the machine; the wall time is what a user waits)."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def _summary(samples: tuple[list[float], list[float]], digits: int = 2) -> dict[str, float]:
    wall, cpu = samples
    return {"p50": round(statistics.median(wall), digits),
            "p99": round(_percentile(wall, 0.99), digits),
            "cpu_p50": round(statistics.median(cpu), digits),
            "cpu_p99": round(_percentile(cpu, 0.99), digits)}


def _worklist_calls(db: ClinicDB) -> dict[str, Callable[[], object]]:
    """The worklist reads, each in its own transaction as the API and the web app run them."""
    def run(read: Callable[[Any], object]) -> Callable[[], object]:
        def one() -> object:
            with db.session() as s:
                return read(s)
        return one

    return {
        # every entry of every list (GET /api/worklists, itb clinic worklist)
        "worklist_ms": run(lambda s: worklist(s, NURSE, now=NOW)),
        # every entry of the refills due (GET /api/worklists/refill_due)
        "refill_worklist_ms": run(lambda s: worklist(s, NURSE, now=NOW, kind="refill_due")),
        # the dashboard's read: each list's size and its 25 most urgent entries
        "worklist_overview_ms": run(lambda s: overview(s, NURSE, now=NOW, first=25)),
        # one page of 100 of a whole list (the web app's /worklists/refill_due)
        "worklist_page_ms": run(lambda s: page(s, NURSE, now=NOW, kind="refill_due",
                                               offset=0, limit=100)),
    }


def measure(db: ClinicDB, patients: int) -> dict[str, Any]:
    rng = random.Random(7)
    live = list(range(1, patients + 1))
    with db.session() as s:
        deleted = {p.id for p in s.query(Patient).filter(Patient.deleted_at.is_not(None))}
        listed = worklist(s, NURSE, now=NOW)
    live = [p for p in live if p not in deleted]

    def one_page() -> None:
        with db.session() as s:
            load_chart(s, NURSE, rng.choice(live), now=NOW)

    def one_lookup() -> None:
        with db.session() as s:
            s.get(Patient, rng.choice(live))

    freeze_startup_heap()  # as the server does before its first request
    result: dict[str, Any] = {
        "worklist_entries": len(listed),
        "refill_due_entries": sum(e.kind == "refill_due" for e in listed)}
    for name, call in _worklist_calls(db).items():
        _timed(call, 3)  # warm the caches
        result[name] = _summary(_timed(call, REPEATS))
    _timed(one_page, 20)
    result["patient_record_ms"] = _summary(_timed(one_page, PAGES))
    result["reference_pk_read_ms"] = _summary(_timed(one_lookup, PAGES), 3)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    return result


def import_rate(db: ClinicDB, sessions: int = IMPORT_SESSIONS) -> tuple[float | None, str]:
    """Recorded programmer sessions filed per second through the feed's recording service
    (`record_entry`, each entry in its own transaction as POST /api/recordings runs it):
    sessions of `IMPORT_ENTRIES` act entries each, on random bench pumps."""
    try:
        recording = importlib.import_module("itb.clinic.recording")
    except ImportError:
        return None, "not measured: the feed's recording service (itb.clinic.recording) " \
                     "is not on this branch"
    rng = random.Random(5)
    nurse = Actor(user_id=None, username="bench-feed", role="nurse")
    with db.session() as s:
        serials = list(s.scalars(select(Implant.pump_serial).join(
            Patient, Patient.id == Implant.patient_id).where(
            Patient.deleted_at.is_(None), Implant.deleted_at.is_(None),
            Implant.explanted_on.is_(None))))
    start = time.perf_counter()
    try:
        for number in range(sessions):
            serial, at = rng.choice(serials), NOW + timedelta(minutes=number)
            for seq in range(1, IMPORT_ENTRIES + 1):
                body = {"at": at.isoformat(), "kind": "bolus", "serial": serial,
                        "pump_time": None, "outcome": "done", "summary": f"bench act {seq}",
                        "details": {}, "session": f"bench-{number:06d}", "seq": seq}
                with db.session() as s:
                    recording.record_entry(s, nurse, body, now=NOW)
    except Exception as error:  # the service's interface may differ: say so, measure the rest
        return None, f"not measured: record_entry failed ({type(error).__name__}: {error})"
    elapsed = time.perf_counter() - start
    return round(sessions / elapsed, 1), (
        f"{sessions} sessions of {IMPORT_ENTRIES} act entries through "
        "itb.clinic.recording.record_entry, one transaction per entry")


@contextmanager
def postgres() -> Iterator[str | None]:
    given = os.environ.get("ITB_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        devpg = importlib.import_module("itb.clinic.devpg")
    except ImportError:
        yield None
        return
    server = devpg.TempPostgres()
    try:
        admin = server.start()
    except (OSError, FileNotFoundError) as error:
        print(f"PostgreSQL not started: {error}", file=sys.stderr)
        yield None
        return
    try:
        yield devpg.create_database(admin, "itb_bench_clinic")
    finally:
        server.stop()


def build_apart(url: str, patients: int) -> int:
    """`build` in a process of its own, as a clinic is made before its server starts: the
    measuring process, like a server, has not made 800,000 rows itself (its heap and
    allocator are a server's, not a bulk loader's)."""
    with concurrent.futures.ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_build_url, url, patients).result()


def _build_url(url: str, patients: int) -> int:
    db = ClinicDB(url)
    try:
        return build(db, patients)
    finally:
        db.dispose()


def run_backend(name: str, url: str, patients: int) -> dict[str, Any]:
    start = time.perf_counter()
    rows = build_apart(url, patients)
    built = time.perf_counter() - start
    db = ClinicDB(url)
    try:
        print(f"{name}: {rows} rows inserted in {built:.1f} s", file=sys.stderr)
        result = measure(db, patients)
        rate, how = import_rate(db)
        result.update({"rows": rows, "build_s": round(built, 1),
                       "import_sessions_per_s": rate, "import_note": how})
        print(f"{name}: {json.dumps(result)}", file=sys.stderr)
        return result
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"benchmark": "clinic", "patients": args.patients,
                               "years": YEARS, "targets_ms": TARGETS_MS}
    with tempfile.TemporaryDirectory(prefix="itb-bench-clinic-") as folder:
        results["sqlite"] = run_backend("sqlite", f"sqlite:///{Path(folder) / 'c.db'}",
                                        args.patients)
    if args.no_postgres:
        results["postgresql"] = None
    else:
        with postgres() as url:
            results["postgresql"] = None if url is None else run_backend(
                "postgresql", url, args.patients)
    lite = results["sqlite"]
    results["meets_targets_on_sqlite"] = {
        name: lite[name]["p99"] < TARGETS_MS[target] for name, target in (
            ("worklist_ms", "worklist_p99"), ("refill_worklist_ms", "worklist_p99"),
            ("worklist_overview_ms", "worklist_p99"), ("worklist_page_ms", "worklist_p99"),
            ("patient_record_ms", "patient_record_p99"))}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
