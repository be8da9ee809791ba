"""`itb clinic backup` / `restore`: every row back exactly, on SQLite, on PostgreSQL and from
one to the other; a damaged file or a non-empty target changes nothing."""

from __future__ import annotations

import gzip
import os
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.clinic.conftest import NOW, NewDB, actor

from itb.clinic import audit, backup, devpg, patients, records, users
from itb.clinic.db import ClinicDB, head_revision
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Base, Interrogation, Patient, RefillRecord, Visit

ROOT = Path(__file__).resolve().parents[2]
ITB = str(ROOT / ".venv" / "bin" / "itb")


def _fill(db: ClinicDB) -> None:
    """A small clinic: users, patients, an implant, visits with exact values and JSON."""
    with db.session() as s:
        users.add_user(s, "nurse1", "nurse", "correct horse", now=NOW)
        for n in range(3):
            pid = patients.create_patient(s, actor("nurse"), {
                "mrn": f"MRN-B{n}", "name": f"Backup Patient {n}",
                "date_of_birth": date(1960 + n, 3, 4), "weight_kg": Decimal("70.123456"),
                "origin": "spinal", "notes": "naïve — ünïcode ✓"}, now=NOW).id
            users.add_user(s, f"pat{n}", "patient", "correct horse", now=NOW,
                           patient_mrn=f"MRN-B{n}")
            implant = patients.add_implant(s, actor("nurse"), pid, {
                "pump_serial": f"SN-{n}", "pump_model": "synchromed-ii-20",
                "implanted_on": date(2022, 1, 2), "catheter_volume_ml": Decimal("0.2")},
                now=NOW)
            visit = records.create(s, actor("nurse"), Visit(
                patient_id=pid, implant_id=implant.id, kind="refill",
                at=NOW - timedelta(days=30), ashworth=Decimal("1.5")), now=NOW, patient_id=pid)
            records.create(s, actor("nurse"), Interrogation(
                patient_id=pid, implant_id=implant.id, visit_id=visit.id, at=visit.at,
                reservoir_ml=Decimal("12.345678"), alarms=[{"name": "low", "critical": False}],
                refill_by=NOW + timedelta(days=40, seconds=1)), now=NOW, patient_id=pid)
            records.create(s, actor("nurse"), RefillRecord(
                patient_id=pid, visit_id=visit.id, at=visit.at, outcome="done",
                added_ml=Decimal("18"), details={"lot": "A1", "nested": [1, "2"]}),
                now=NOW, patient_id=pid)
        patients.delete_patient(s, actor("clinician"), pid, version=1, now=NOW)


def _everything(db: ClinicDB) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as c:
        return {t.name: [tuple(r) for r in c.execute(select(t).order_by(*t.primary_key))]
                for t in Base.metadata.sorted_tables}


def _round_trip(source: ClinicDB, target: ClinicDB, tmp_path: Path) -> None:
    _fill(source)
    file = tmp_path / "clinic.backup"
    made = backup.backup(source, file)
    assert made.revision == head_revision() and made.rows["patients"] == 3
    restored = backup.restore(target, file)
    assert restored.rows == made.rows
    before, after = _everything(source), _everything(target)
    assert after == before and sum(len(rows) for rows in after.values()) == made.total
    with target.session() as s:  # ids go on after the restored ones (PostgreSQL sequences)
        new = patients.create_patient(s, actor("nurse"), {
            "mrn": "MRN-NEW", "name": "After Restore", "date_of_birth": date(1990, 1, 1),
            "weight_kg": "60", "origin": "cerebral"}, now=NOW)
        assert new.id == 4
        weights = set(s.scalars(select(Patient.weight_kg)))
    assert Decimal("70.123456") in weights and target.revision() == head_revision()


def test_a_backup_restores_every_row_exactly_on_the_same_back_end(
        new_db_url: NewDB, tmp_path: Path) -> None:
    source, target = ClinicDB(new_db_url()), ClinicDB(new_db_url(migrated=False))
    _round_trip(source, target, tmp_path)
    source.dispose()
    target.dispose()


@pytest.mark.parametrize("direction", ["sqlite-to-postgresql", "postgresql-to-sqlite"])
def test_a_backup_moves_between_sqlite_and_postgresql(
        direction: str, postgres_admin_url: str, postgres_template: str,
        tmp_path: Path) -> None:
    name = f"itb_cross_{os.getpid()}_{direction.replace('-', '_')}"
    pg = ClinicDB(devpg.create_database(postgres_admin_url, name, postgres_template))
    lite = ClinicDB(f"sqlite:///{tmp_path / 'lite.db'}")
    lite.migrate()
    source, target = (lite, pg) if direction.startswith("sqlite") else (pg, lite)
    try:
        _round_trip(source, target, tmp_path)
    finally:
        pg.dispose()
        lite.dispose()
        devpg.drop_database(postgres_admin_url, name)


def test_a_restore_over_records_is_refused_unless_replace(
        clinic_db: ClinicDB, new_db_url: NewDB, tmp_path: Path) -> None:
    _fill(clinic_db)
    file = tmp_path / "clinic.backup"
    backup.backup(clinic_db, file)
    other = ClinicDB(new_db_url())
    with other.session() as s:
        audit.record(s, actor("admin"), "login", "users", now=NOW, detail="other clinic")
    with pytest.raises(backup.NotEmpty, match="already holds 1 rows"):
        backup.restore(other, file)
    assert [r[-1] for r in _everything(other)["audit"]] == ["other clinic"]
    backup.restore(other, file, replace=True)
    assert _everything(other) == _everything(clinic_db)
    other.dispose()


def test_a_damaged_or_cut_off_backup_changes_nothing(
        clinic_db: ClinicDB, new_db_url: NewDB, tmp_path: Path) -> None:
    _fill(clinic_db)
    file = tmp_path / "clinic.backup"
    backup.backup(clinic_db, file)
    lines = gzip.decompress(file.read_bytes()).splitlines(keepends=True)
    cut, forged = tmp_path / "cut.backup", tmp_path / "forged.backup"
    cut.write_bytes(gzip.compress(b"".join(lines[:-5])))
    forged.write_bytes(gzip.compress(b"".join(lines).replace(b"70.123456", b"71.123456")))
    target = ClinicDB(new_db_url())
    for bad in (cut, forged, tmp_path / "missing.backup", ROOT / "README.md"):
        with pytest.raises(InvalidRecord, match="--from"):
            backup.restore(target, bad)
    assert sum(len(rows) for rows in _everything(target).values()) == 0
    target.dispose()


@pytest.mark.e2e
def test_itb_clinic_backup_and_restore_from_the_command_line(
        clinic_db: ClinicDB, new_db_url: NewDB, tmp_path: Path) -> None:
    _fill(clinic_db)
    file = tmp_path / "clinic.backup"

    def itb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ITB, "clinic", *args], capture_output=True, text=True,
                              timeout=120, check=False)

    made = itb("backup", "--db", clinic_db.url, "--out", str(file))
    assert made.returncode == 0, made.stderr
    assert f"(schema revision {head_revision()}) to {file}" in made.stdout
    target = new_db_url(migrated=False)
    done = itb("restore", "--db", target, "--from", str(file))
    assert done.returncode == 0 and "Restored" in done.stdout, done.stderr
    again = itb("restore", "--db", target, "--from", str(file))
    assert again.returncode == 2 and again.stdout == "" and "Traceback" not in again.stderr
    error, next_step = again.stderr.strip().split("\n")
    assert error.startswith("Error: ") and "already holds" in error
    assert next_step.startswith("Next: ") and "--replace" in next_step
    assert itb("restore", "--db", target, "--from", str(file), "--replace").returncode == 0
    restored = ClinicDB(target)
    assert _everything(restored) == _everything(clinic_db)
    restored.dispose()
