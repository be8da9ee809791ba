"""Durability and concurrency on both back ends: SQLite in WAL mode with full sync; a writer
killed (SIGKILL) mid-stream loses nothing it committed and leaves nothing half-written; two
editors of one record: the second is refused (StaleRecord, 409), never overwrites."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from tests.clinic.conftest import NOW, actor

from itb.clinic import patients, records
from itb.clinic.db import ClinicDB
from itb.clinic.errors import StaleRecord
from itb.clinic.models import AuditEntry, Patient

FIELDS = {"name": "Cy Example", "date_of_birth": date(1970, 1, 2),
          "weight_kg": Decimal("70"), "origin": "spinal"}

# Creates patients W-1, W-2, ... each in its own transaction, and prints the record number
# only after its commit returned: what it printed is what the database promised to keep.
WRITER = """
import sys
from datetime import UTC, datetime, date
from decimal import Decimal
from itb.clinic import patients
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
db = ClinicDB(sys.argv[1])
nurse = Actor(user_id=None, username="writer", role="nurse", patient_id=None)
n = 0
while True:
    n += 1
    with db.session() as s:
        patients.create_patient(s, nurse, {"mrn": f"W-{n}", "name": "Killed Writer",
            "date_of_birth": date(1970, 1, 2), "weight_kg": Decimal("70.125"),
            "origin": "spinal", "notes": "x" * 2000}, now=datetime.now(UTC))
    print(f"W-{n}", flush=True)
"""


@pytest.mark.req("REQ-CLINIC-DURABLE")
def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    """A SQLite setting (PostgreSQL's commit waits for its WAL flush by default)."""
    db = ClinicDB(f"sqlite:///{tmp_path / 'wal.db'}")
    db.migrate()
    with db.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.dispose()


@pytest.mark.req("REQ-CLINIC-DURABLE")
def test_a_writer_killed_mid_write_loses_nothing_it_committed(clinic_db: ClinicDB) -> None:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, clinic_db.url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    committed = []
    try:
        while len(committed) < 40:
            line = writer.stdout.readline().strip()
            assert line, writer.stderr.read() if writer.stderr else "writer ended"
            committed.append(line)
    finally:
        writer.send_signal(signal.SIGKILL)  # most likely inside its next transaction
        writer.wait(timeout=30)
    committed += [line.strip() for line in writer.stdout if line.strip()]
    assert writer.returncode == -signal.SIGKILL
    with clinic_db.session() as s:
        kept = set(s.scalars(select(Patient.mrn)))
        created = s.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.action == "create"))
        weights = set(s.scalars(select(Patient.weight_kg)))
    assert set(committed) <= kept  # every commit that returned is there
    assert len(kept) - len(committed) in (0, 1)  # at most the one it was committing
    assert created == len(kept) and weights == {Decimal("70.125")}  # nothing half-written
    if clinic_db.engine.dialect.name == "sqlite":
        with clinic_db.engine.connect() as c:
            assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def _new(db: ClinicDB) -> int:
    with db.session() as s:
        return patients.create_patient(s, actor("nurse"), {**FIELDS, "mrn": "MRN-C1"},
                                       now=NOW).id


@pytest.mark.req("REQ-CLINIC-STALE")
def test_a_commit_between_read_and_write_is_caught_in_sql(clinic_db: ClinicDB) -> None:
    """The editor's copy still says version 1 (the Python check passes); the UPDATE's
    `WHERE version = 1` finds no row, and that is a StaleRecord, not a silent overwrite."""
    pid = _new(clinic_db)
    with pytest.raises(StaleRecord, match="changed by someone else"), \
            clinic_db.session() as mine:
        patient = mine.get(Patient, pid)
        assert patient is not None and patient.version == 1
        with clinic_db.session() as theirs:
            patients.update_patient(theirs, actor("clinician"), pid, {"weight_kg": "72"},
                                    version=1, now=NOW)
        records.update(mine, actor("nurse"), patient, {"weight_kg": Decimal("90")}, now=NOW,
                       expected_version=1, patient_id=pid)
    with clinic_db.session() as s:
        kept = s.get(Patient, pid)
        assert kept is not None and kept.weight_kg == Decimal("72") and kept.version == 2
        updates = s.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()
        assert [u.username for u in updates] == ["test-clinician"]


@pytest.mark.req("REQ-CLINIC-STALE")
def test_two_editors_at_once_one_wins_and_the_other_is_refused(clinic_db: ClinicDB) -> None:
    pid = _new(clinic_db)
    both_read = threading.Barrier(2, timeout=30)
    outcome: dict[str, str] = {}

    def edit(who: str, weight: str) -> None:
        try:
            with clinic_db.session() as s:
                patient = s.get(Patient, pid)
                assert patient is not None
                both_read.wait()  # each has read version 1 before either writes
                records.update(s, actor(who), patient, {"weight_kg": Decimal(weight)},
                               now=NOW, expected_version=1, patient_id=pid)
            outcome[who] = weight
        except StaleRecord:
            outcome[who] = "refused"

    editors = [threading.Thread(target=edit, args=("nurse", "71")),
               threading.Thread(target=edit, args=("clinician", "73"))]
    for t in editors:
        t.start()
    for t in editors:
        t.join(timeout=60)
    assert sorted(outcome.values())[-1] == "refused" and len(outcome) == 2
    winner = next(v for v in outcome.values() if v != "refused")
    with clinic_db.session() as s:
        kept = s.get(Patient, pid)
        assert kept is not None and kept.weight_kg == Decimal(winner) and kept.version == 2


@pytest.mark.req("REQ-CLINIC-STALE")
def test_the_api_answers_409_to_the_editor_who_read_the_older_version(
        clinic_db: ClinicDB) -> None:
    from fastapi.testclient import TestClient

    from itb.clinic import users
    from itb.clinic.api.app import create_app

    pid = _new(clinic_db)
    with clinic_db.session() as s:
        users.add_user(s, "nurse1", "nurse", "correct horse", now=NOW)
        token = users.create_token(s, "nurse1", now=NOW)
    client = TestClient(create_app(clinic_db, clock=lambda: NOW))
    client.headers["Authorization"] = f"Bearer {token}"
    first = client.patch(f"/api/patients/{pid}", json={"version": 1, "weight_kg": "71"})
    second = client.patch(f"/api/patients/{pid}", json={"version": 1, "weight_kg": "99"})
    assert first.status_code == 200 and second.status_code == 409
    assert "version 1" in second.json()["error"]
    assert client.get(f"/api/patients/{pid}").json()["weight_kg"] == "71"
