"""`itb clinic demo`: a deterministic synthetic clinic, with pumps that `itb pump serve`
serves, records through the write pattern, and work in the worklists."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.clinic.conftest import NOW, NewDB

from itb.clinic import demo, users
from itb.clinic.db import ClinicDB
from itb.clinic.demo_pumps import write_with_pumps
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import (
    AuditEntry,
    Implant,
    Interrogation,
    Patient,
    RefillRecord,
    SymptomCall,
    User,
    Visit,
)

ROOT = Path(__file__).resolve().parents[2]
ITB = str(ROOT / ".venv" / "bin" / "itb")


def _last_interrogations(db: ClinicDB) -> list[Interrogation]:
    with db.session() as s:
        newest = (select(Interrogation.patient_id, func.max(Interrogation.id).label("id"))
                  .group_by(Interrogation.patient_id).subquery())
        return list(s.scalars(select(Interrogation).join(newest,
                                                         Interrogation.id == newest.c.id)))


def _content(db: ClinicDB) -> list[tuple[object, ...]]:
    with db.session() as s:
        return [(p.mrn, p.name, p.weight_kg, len(p.implants)) for p in
                s.scalars(select(Patient).order_by(Patient.mrn))] + [
            (r.patient_id, r.at, r.added_ml, r.withdrawn_ml)
            for r in s.scalars(select(RefillRecord).order_by(RefillRecord.id))]


def test_the_plans_are_the_same_for_the_same_seed_and_differ_for_another() -> None:
    first, again = demo.plan_patients(40, 7, NOW), demo.plan_patients(40, 7, NOW)
    assert first == again and first != demo.plan_patients(40, 8, NOW)
    for plan in first:  # each refill before the previous one's refill-by date
        moments = [plan.implanted_at, *plan.refills]
        assert moments == sorted(moments) and moments[-1] < NOW
        assert plan.implanted_at > NOW - timedelta(days=6 * 365)  # none past end of service


def test_a_records_only_demo_has_work_in_its_worklists(new_db_url: NewDB) -> None:
    db = ClinicDB(new_db_url())
    counts = demo.write_records_only(db, demo.plan_patients(60, 3, NOW), NOW, batch=25)
    assert counts["patients"] == 60 and counts["refills"] > 60
    last = _last_interrogations(db)
    assert len(last) == 60
    refill_by = [i.refill_by for i in last if i.refill_by is not None]
    overdue = [d for d in refill_by if d < NOW]
    due_soon = [d for d in refill_by if NOW <= d < NOW + timedelta(days=14)]
    assert overdue and due_soon and len(overdue) + len(due_soon) < 60
    with db.session() as s:
        patient_login = s.scalars(select(User).where(User.role == "patient")).one()
        assert patient_login.patient_id == s.scalars(
            select(Patient.id).where(Patient.mrn == "DEMO-00001")).one()
        for name, password, _role in demo.LOGINS_SHOWN:
            user = s.scalars(select(User).where(User.username == name)).one()
            assert users.check_password(user, password)
        calls = s.scalars(select(SymptomCall)).all()
        assert calls and {c.disposition for c in calls} <= {"emergency", "call-care-team",
                                                            "routine"}
    db.dispose()


def test_a_demo_with_pumps_files_what_each_pump_said(new_db_url: NewDB, tmp_path: Path) -> None:
    db = ClinicDB(new_db_url())
    plans = demo.plan_patients(3, 11, NOW)
    state = tmp_path / "state"
    with db.session() as s:
        write_with_pumps(s, plans, state, NOW, "127.0.0.1", 4711)
    listed = subprocess.run([ITB, "pump", "list", "--state", str(state)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    with db.session() as s:
        implants = s.scalars(select(Implant).order_by(Implant.id)).all()
        assert [i.pump_serial for i in implants] == [p.serial for p in plans]
        for implant in implants:
            assert implant.pump_serial in listed.stdout
            assert implant.key_file is not None and Path(implant.key_file).is_file()
            assert (implant.pump_host, implant.pump_port) == ("127.0.0.1", 4711)
        visits = s.scalar(select(func.count()).select_from(Visit))
        creates = s.scalar(select(func.count()).select_from(AuditEntry)
                           .where(AuditEntry.action == "create", AuditEntry.entity == "visits"))
        assert visits == creates and visits >= 3  # every record through the write pattern
    for interrogation in _last_interrogations(db):  # the pump's own projection, filed
        assert interrogation.pump_time is not None and interrogation.refill_by is not None
        assert interrogation.low_alarm_at is not None and interrogation.eri_at is not None
        assert interrogation.refill_by < interrogation.low_alarm_at
    db.dispose()


def test_a_demo_is_refused_over_a_clinic_with_patients(new_db_url: NewDB) -> None:
    db = ClinicDB(new_db_url())
    demo.write_records_only(db, demo.plan_patients(2, 1, NOW), NOW)
    with pytest.raises(InvalidRecord, match="already holds 2 patients"):
        demo.require_empty(db)
    db.dispose()


@pytest.mark.e2e
def test_itb_clinic_demo_prints_the_logins_and_refuses_bad_options(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    done = subprocess.run([ITB, "clinic", "demo", "--db", url, "--state", str(tmp_path / "s"),
                           "--patients", "2", "--seed", "5", "--now", NOW.isoformat()],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "Demo clinic ready: 2 patients, 2 simulated pumps" in done.stdout
    for name, password, _role in demo.LOGINS_SHOWN:
        assert f"username {name}" in done.stdout and f"password {password}" in done.stdout
    assert f"itb pump serve --state {tmp_path / 's'}" in done.stdout
    for bad, field in ((["--patients", "0"], "--patients"), (["--now", "yesterday"], "--now"),
                       ([], "--state")):
        refused = subprocess.run([ITB, "clinic", "demo", "--db", url, *bad],
                                 capture_output=True, text=True, timeout=120, check=False)
        assert refused.returncode == 2 and refused.stdout == "", refused.stderr
        error, next_step = refused.stderr.strip().split("\n")
        assert error.startswith("Error: ") and field in error and next_step.startswith("Next: ")
