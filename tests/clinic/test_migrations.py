"""Alembic migrations on both back ends: from an empty database to the models exactly, from
the previous schema with data in it, `itb clinic init`, and the append-only audit in SQL."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect, select, text
from sqlalchemy.exc import DBAPIError
from tests.clinic.conftest import NOW, NewDB, actor

from itb.clinic import audit, patients
from itb.clinic.db import ClinicDB, head_revision
from itb.clinic.models import AuditEntry, Base, Patient, Visit

ROOT = Path(__file__).resolve().parents[2]
ITB = str(ROOT / ".venv" / "bin" / "itb")


def _differences(db: ClinicDB, metadata: MetaData) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_an_empty_database_migrated_to_head_equals_the_models(new_db_url: NewDB) -> None:
    db = ClinicDB(new_db_url(migrated=False))
    assert db.revision() is None
    db.migrate()
    assert db.revision() == head_revision()
    # a model changed without a revision would show here (and fail this test)
    assert _differences(db, Base.metadata) == []
    db.dispose()


def test_the_comparison_sees_a_model_change_without_a_revision(clinic_db: ClinicDB) -> None:
    changed = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["patients"].append_column(Column("shoe_size", Integer(), nullable=True))
    found = _differences(clinic_db, changed)
    assert [d[0] for d in found] == ["add_column"]  # type: ignore[index]


def test_migrating_twice_changes_nothing(clinic_db: ClinicDB) -> None:
    clinic_db.migrate()
    assert clinic_db.revision() == head_revision()
    assert _differences(clinic_db, Base.metadata) == []


def test_an_upgrade_from_the_previous_schema_keeps_the_records(new_db_url: NewDB) -> None:
    db = ClinicDB(new_db_url(migrated=False))
    db.migrate("0001")
    with db.session() as s:  # at 0001, through the service, as the clinic wrote it then
        pid = patients.create_patient(s, actor("nurse"), {
            "mrn": "MRN-OLD-1", "name": "Old Record", "date_of_birth": date(1961, 2, 3),
            "weight_kg": Decimal("64.25"), "origin": "cerebral"}, now=NOW).id
        s.execute(text("INSERT INTO visits (patient_id, kind, at, notes, version, created_at) "
                       "VALUES (:p, 'refill', :at, 'kept', 1, :at)"),
                  {"p": pid, "at": NOW.replace(tzinfo=None)})
    db.migrate()
    assert db.revision() == head_revision()
    with db.session() as s:
        patient = s.get(Patient, pid)
        assert patient is not None and patient.weight_kg == Decimal("64.25")
        assert patient.version == 1 and patient.date_of_birth == date(1961, 2, 3)
        visit = s.scalars(select(Visit).where(Visit.patient_id == pid)).one()
        assert visit.at == NOW and visit.notes == "kept"
        assert [a.action for a in s.scalars(select(AuditEntry))] == ["create"]
    names = {ix["name"] for ix in inspect(db.engine).get_indexes("visits")}
    assert "ix_visits_patient_at" in names
    assert _differences(db, Base.metadata) == []
    db.dispose()


@pytest.mark.req("REQ-CLINIC-AUDIT-APPEND-ONLY")
def test_the_database_refuses_to_change_or_remove_an_audit_entry(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        audit.record(s, actor("admin"), "login", "users", now=NOW, detail="kept")
    for statement in ("UPDATE audit SET detail = 'forged'", "DELETE FROM audit"):
        with pytest.raises(DBAPIError, match="append-only"), clinic_db.engine.begin() as c:
            c.execute(text(statement))
    if clinic_db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), clinic_db.engine.begin() as c:
            c.execute(text("TRUNCATE audit"))
    with clinic_db.session() as s:
        assert [a.detail for a in s.scalars(select(AuditEntry))] == ["kept"]


@pytest.mark.e2e
def test_itb_clinic_init_creates_then_migrates(new_db_url: NewDB) -> None:
    url = new_db_url(migrated=False)
    for _ in range(2):  # the second run finds it at head and changes nothing
        done = subprocess.run([ITB, "clinic", "init", "--db", url], capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert f"at schema revision {head_revision()}" in done.stdout
    db = ClinicDB(url)
    assert db.revision() == head_revision() and _differences(db, Base.metadata) == []
    db.dispose()


@pytest.mark.e2e
def test_itb_clinic_init_refuses_a_url_that_is_not_a_database() -> None:
    done = subprocess.run([ITB, "clinic", "init", "--db", "mysql://x/y"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: ") and "--db" in done.stderr and "Next: " in done.stderr
