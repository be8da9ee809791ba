"""Benchmark: a clinic of 10,000 patients with 5 years of history, on SQLite and PostgreSQL.

Measured, on each back end, each call in its own transaction as the API runs it (the
audit entry each read writes included):

- the worklist (`itb.clinic.worklist.worklist`, every kind: it reads every current pump's
  last interrogation; `--kind refill_due` costs the same), p50/p99 over `REPEATS` calls;
- a patient's page data (`itb.clinic.chart.load_chart`, recent=20: the patient, implants,
  prescriptions, last visits, interrogations, refills, program changes, session acts,
  symptom calls, screening), p50/p99 over `PAGES` random patients;
- the reference, measured in the same run: one patient read by primary key in its own
  transaction (the floor of any request on that back end).

Targets (issue 11): worklist p99 < 50 ms, patient record p99 < 20 ms, on SQLite.

The history is bulk-inserted here (Core executemany; the same shape `itb clinic demo
--records-only` makes, without running a pump per patient): per patient an implant (10%
replaced once), a prescription, a visit with an interrogation and a refill every refill
interval (60-120 days) for up to 5 years, a program change every third visit, a symptom
call about once a year; 2% of patients and 1% of interrogations soft-deleted.

PostgreSQL: `ITB_TEST_POSTGRES_URL`, else a throwaway server (`itb.clinic.devpg`), else
skipped and said so. The import rate: recorded programmer sessions (6 act entries each,
every entry in its own transaction, as POST /api/recordings files it) through the feed's
recording service (`itb.clinic.recording.record_entry`); without it the figure is null and
the reason printed.

Run: `.venv/bin/python bench/clinic.py [--patients N]`. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from itb.clinic.access import Actor
from itb.clinic.chart import load_chart
from itb.clinic.db import ClinicDB
from itb.clinic.models import (
    Implant,
    Interrogation,
    Patient,
    Prescription,
    ProgramChange,
    RefillRecord,
    SymptomCall,
    Visit,
)
from itb.clinic.worklist import worklist

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
YEARS = 5
REPEATS = 60
PAGES = 300
BATCH = 5000
IMPORT_SESSIONS = 100
IMPORT_ENTRIES = 6
TARGETS_MS = {"worklist_p99": 50.0, "patient_record_p99": 20.0}
NURSE = Actor(user_id=None, username="bench", role="nurse")


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _at(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, rng.randint(8, 16), rng.choice((0, 30)),
                    tzinfo=UTC)


class History:
    """The rows of the demo clinic, built in batches (row dicts per table)."""

    def __init__(self, patients: int, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.patients = patients
        self.tables: dict[Any, list[dict[str, Any]]] = {}
        self.ids: dict[Any, int] = {}

    def _add(self, model: Any, row: dict[str, Any]) -> int:
        new_id = self.ids.get(model, 0) + 1
        self.ids[model] = new_id
        self.tables.setdefault(model, []).append({"id": new_id, "version": 1,
                                                  "created_at": NOW, **row})
        return new_id

    def patient(self, index: int) -> None:
        rng = self.rng
        interval = rng.randint(60, 120)
        pid = self._add(Patient, {
            "mrn": f"B{index:06d}", "name": f"Bench Patient {index}",
            "date_of_birth": date(1940 + rng.randint(0, 60), rng.randint(1, 12), 1),
            "weight_kg": Decimal(rng.randint(400, 1100)) / 10, "origin": rng.choice(
                ("spinal", "cerebral")), "time_zone": "UTC", "refill_interval_days": interval,
            "notes": "", "deleted_at": NOW if rng.random() < 0.02 else None})
        implanted = NOW.date() - timedelta(days=rng.randint(60, 6 * 365 + 120))
        implant = self._add(Implant, {"patient_id": pid, "pump_serial": f"BS{index:06d}",
                                      "pump_model": "8637-20", "implanted_on": implanted})
        if rng.random() < 0.10 and (NOW.date() - implanted).days > 400:  # replaced once
            swapped = implanted + timedelta(days=rng.randint(200, (NOW.date() - implanted).days
                                                            - 100))
            old = self.tables[Implant][-1]
            old["explanted_on"], old["explant_reason"] = swapped, "battery end of service"
            implant = self._add(Implant, {"patient_id": pid, "pump_serial": f"BS{index:06d}R",
                                          "pump_model": "8637-40", "implanted_on": swapped,
                                          "replaces_id": implant})
        self._add(Prescription, {
            "patient_id": pid, "drug": "baclofen", "strength_mcg_per_ml": Decimal(2000),
            "daily_dose_mcg": Decimal(rng.randint(100, 800)), "program": {},
            "stability_days": 180, "started_on": implanted})
        self._visits(pid, implant, implanted, interval)

    def _visits(self, pid: int, implant: int, implanted: date, interval: int) -> None:
        rng = self.rng
        first = max(implanted, NOW.date() - timedelta(days=YEARS * 365))
        # most patients come on time; 3% have not been seen for longer than their interval
        late = rng.random() < 0.03
        last = NOW.date() - timedelta(days=rng.randint(interval + 1, interval + 60) if late
                                      else rng.randint(0, interval - 10))
        dose = Decimal(rng.randint(100, 800))
        days = []
        while last >= first:  # visits every interval, back from the last one
            days.append(last)
            last -= timedelta(days=interval + rng.randint(-7, 7))
        for count, day in enumerate(reversed(days)):
            at = _at(day, rng)
            vid = self._add(Visit, {"patient_id": pid, "implant_id": implant, "kind": "refill",
                                    "at": at, "session_id": f"s-{pid}-{count}", "notes": "",
                                    "ashworth": Decimal(rng.randint(0, 4))})
            refill_by = at + timedelta(days=interval + rng.randint(0, 14))
            self._add(Interrogation, {
                "patient_id": pid, "implant_id": implant, "visit_id": vid, "at": at,
                "reservoir_ml": Decimal(rng.randint(100, 400)) / 100,
                "strength_mcg_per_ml": Decimal(2000), "daily_dose_mcg": dose,
                "alarms": [{"name": "motor_stall", "critical": True}]
                if rng.random() < 0.002 else [],
                "battery": "ok", "eri": rng.random() < 0.003, "refill_by": refill_by,
                "low_alarm_at": refill_by + timedelta(days=7),
                "empty_at": refill_by + timedelta(days=14),
                "end_of_service_at": _at(implanted + timedelta(days=7 * 365), rng),
                "deleted_at": NOW if rng.random() < 0.01 else None})
            self._add(RefillRecord, {
                "patient_id": pid, "visit_id": vid, "at": at, "outcome": "done",
                "withdrawn_ml": Decimal("3.1"), "expected_ml": Decimal("3.0"),
                "discrepancy_ml": Decimal("0.1"), "added_ml": Decimal(18),
                "strength_mcg_per_ml": Decimal(2000), "drug": "baclofen", "details": {}})
            if count % 3 == 2:
                after = dose + Decimal(rng.choice((-20, 10, 20, 30)))
                self._add(ProgramChange, {
                    "patient_id": pid, "visit_id": vid, "at": at, "outcome": "done",
                    "daily_dose_before_mcg": dose, "daily_dose_after_mcg": after,
                    "before": {}, "after": {}, "details": {}})
                dose = after
            if rng.random() < 0.25:
                self._add(SymptomCall, {"patient_id": pid, "at": at + timedelta(days=20),
                                        "symptoms": ["itching"], "disposition": "routine",
                                        "causes": [], "advice": ""})

    def flush_into(self, db: ClinicDB) -> int:
        """Insert what was built (parents first) and forget it; returns the row count."""
        order = (Patient, Implant, Prescription, Visit, Interrogation, RefillRecord,
                 ProgramChange, SymptomCall)
        rows = 0
        with db.session() as session:
            for model in order:
                batch = self.tables.pop(model, [])
                for start in range(0, len(batch), BATCH):
                    session.execute(insert(model), batch[start:start + BATCH])
                rows += len(batch)
        return rows


def build(db: ClinicDB, patients: int) -> int:
    db.migrate()
    history = History(patients)
    rows = 0
    for index in range(patients):
        history.patient(index)
        if index % 1000 == 999:
            rows += history.flush_into(db)
    rows += history.flush_into(db)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
    return rows


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


def measure(db: ClinicDB, patients: int) -> dict[str, Any]:
    rng = random.Random(7)

    def one_worklist() -> None:
        with db.session() as s:
            worklist(s, NURSE, now=NOW)

    live = list(range(1, patients + 1))
    with db.session() as s:
        deleted = {p.id for p in s.query(Patient).filter(Patient.deleted_at.is_not(None))}
        entries = len(worklist(s, NURSE, now=NOW))
    live = [p for p in live if p not in deleted]

    def one_page() -> None:
        with db.session() as s:
            load_chart(s, NURSE, rng.choice(live), now=NOW)

    def one_lookup() -> None:
        with db.session() as s:
            s.get(Patient, rng.choice(live))

    _timed(one_worklist, 3)  # warm the caches
    _timed(one_page, 20)
    work = _timed(one_worklist, REPEATS)
    page = _timed(one_page, PAGES)
    ref = _timed(one_lookup, PAGES)
    return {"worklist_entries": entries, "worklist_ms": _summary(work),
            "patient_record_ms": _summary(page), "reference_pk_read_ms": _summary(ref, 3),
            "load_average_1min": round(os.getloadavg()[0], 2)}


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


def run_backend(name: str, url: str, patients: int) -> dict[str, Any]:
    db = ClinicDB(url)
    try:
        start = time.perf_counter()
        rows = build(db, patients)
        built = time.perf_counter() - start
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
    results["meets_targets_on_sqlite"] = (
        lite["worklist_ms"]["p99"] < TARGETS_MS["worklist_p99"]
        and lite["patient_record_ms"]["p99"] < TARGETS_MS["patient_record_p99"])
    print(json.dumps(results))


if __name__ == "__main__":
    main()
