"""The worklist's summary (`implant_status`) stays in step with the records: after any
sequence of writes and soft deletes, the worklist read from it equals the worklist's rules
(`entries_for`) applied to a fresh computation from every record; revision 0007 backfills
it from the records a 0006 database holds."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from tests.clinic.conftest import NOW, NewDB, actor

from itb.clinic import records
from itb.clinic.db import ClinicDB, alembic_config, head_revision
from itb.clinic.models import (
    Implant,
    ImplantStatus,
    Interrogation,
    Patient,
    Prescription,
    RefillRecord,
)
from itb.clinic.worklist import (
    KINDS,
    REFILLED,
    WorkEntry,
    entries_for,
    overview,
    page,
    worklist,
)

ADMIN = actor("admin")
_mrns = itertools.count(1)


def _day(offset: int) -> datetime:
    return NOW + timedelta(days=offset)


def _newest(rows: list[Any], key: Any) -> Any:
    return max(rows, key=key, default=None)


def fresh_worklist(s: Session, now: datetime, horizon: int) -> list[WorkEntry]:
    """The worklist's rules on every record, read one by one in Python (no summary)."""
    today = now.date()
    live = [r for r in s.scalars(select(Patient)) if r.deleted_at is None]
    entries: list[WorkEntry] = []
    for patient in live:
        implant = _newest([i for i in s.scalars(select(Implant).where(
            Implant.patient_id == patient.id)) if i.deleted_at is None
            and i.explanted_on is None], key=lambda i: (i.implanted_on, i.id))
        if implant is None:
            continue
        seen = _newest([g for g in s.scalars(select(Interrogation).where(
            Interrogation.implant_id == implant.id)) if g.deleted_at is None],
            key=lambda g: (g.at, g.id))
        refills = [r.at for r in s.scalars(select(RefillRecord).where(
            RefillRecord.patient_id == patient.id)) if r.deleted_at is None
            and r.outcome == REFILLED]
        current = _newest([p for p in s.scalars(select(Prescription).where(
            Prescription.patient_id == patient.id)) if p.deleted_at is None
            and p.ended_on is None], key=lambda p: (p.started_on, p.id))
        fields = ("at", "refill_by", "low_alarm_at", "eri", "eri_at", "end_of_service_at",
                  "alarms")
        row = SimpleNamespace(
            patient_id=patient.id, mrn=patient.mrn, name=patient.name,
            refill_interval_days=patient.refill_interval_days, implant_id=implant.id,
            pump_serial=implant.pump_serial, implanted_on=implant.implanted_on,
            **{f: None if seen is None else getattr(seen, f) for f in fields},
            last_refill=max(refills, default=None),
            stability=None if current is None else current.stability_days)
        entries += entries_for(row, today, horizon)
    entries.sort(key=lambda e: (e.due, KINDS.index(e.kind), e.mrn))
    return entries


# ---- the writes a sequence is made of ----------------------------------------------------

def _add_patient(s: Session, interval: int) -> None:
    number = next(_mrns)
    patient = records.create(s, ADMIN, Patient(
        mrn=f"SUM-{number}", name=f"Summary {number}", date_of_birth=date(1970, 1, 1),
        weight_kg=Decimal(70), origin="spinal", refill_interval_days=interval),
        now=NOW, patient_id=None)
    records.create(s, ADMIN, Implant(patient_id=patient.id, pump_serial=f"SUM-SN-{number}",
                                     pump_model="8637-20",
                                     implanted_on=(NOW - timedelta(days=300)).date()),
                   now=NOW, patient_id=patient.id)


def _interrogate(s: Session, pid: int, implant: Implant, at: int, refill_by: int, eri: bool,
                 eos: int, critical: bool) -> None:
    records.create(s, ADMIN, Interrogation(
        patient_id=pid, implant_id=implant.id, at=_day(at), refill_by=_day(refill_by),
        low_alarm_at=_day(refill_by + 5), eri=eri, end_of_service_at=_day(eos),
        alarms=[{"name": "motor_stall", "critical": critical}]), now=NOW, patient_id=pid)


def _live(s: Session, model: Any, pid: int) -> list[Any]:
    return list(s.scalars(select(model).where(model.patient_id == pid,
                                              model.deleted_at.is_(None))
                          .order_by(model.id)))


def _apply(s: Session, op: tuple[Any, ...]) -> None:
    name, pick, *args = op
    patients = _live_patients(s)
    if name == "patient" or not patients:
        _add_patient(s, 30 + pick % 90)
        return
    pid = patients[pick % len(patients)]
    implants = [i for i in _live(s, Implant, pid) if i.explanted_on is None]
    if name == "interrogate" and implants:
        _interrogate(s, pid, implants[-1], *args)
    elif name == "refill":
        records.create(s, ADMIN, RefillRecord(patient_id=pid, at=_day(args[0]),
                                              outcome=args[1]), now=NOW, patient_id=pid)
    elif name == "prescribe":
        records.create(s, ADMIN, Prescription(
            patient_id=pid, drug="baclofen", strength_mcg_per_ml=Decimal(2000),
            daily_dose_mcg=Decimal(300), stability_days=args[0],
            started_on=_day(args[1]).date()), now=NOW, patient_id=pid)
    elif name == "replace" and implants:
        records.update(s, ADMIN, implants[-1], {"explanted_on": _day(args[0]).date()},
                       now=NOW, expected_version=implants[-1].version, patient_id=pid)
        records.create(s, ADMIN, Implant(patient_id=pid, pump_serial=f"R-{next(_mrns)}",
                                         pump_model="8637-40",
                                         implanted_on=_day(args[0]).date()),
                       now=NOW, patient_id=pid)
    elif name == "interval":
        patient = s.get(Patient, pid)
        assert patient is not None
        records.update(s, ADMIN, patient, {"refill_interval_days": args[0]}, now=NOW,
                       expected_version=patient.version, patient_id=pid)
    elif name == "rename":  # the summary holds the name and serial an entry shows
        _rename(s, pid, implants, args[0])
    elif name == "delete":
        _soft_delete(s, pid, args[0])


def _rename(s: Session, pid: int, implants: list[Implant], number: int) -> None:
    patient = s.get(Patient, pid)
    assert patient is not None
    records.update(s, ADMIN, patient, {"name": f"Renamed {number}"}, now=NOW,
                   expected_version=patient.version, patient_id=pid)
    if implants:  # a serial corrected on the record
        records.update(s, ADMIN, implants[-1], {"pump_serial": f"FIX-{number}"}, now=NOW,
                       expected_version=implants[-1].version, patient_id=pid)


def _soft_delete(s: Session, pid: int, what: str) -> None:
    """Soft-delete the newest live record of one kind (the patient, for "patients")."""
    model = {"interrogations": Interrogation, "refills": RefillRecord,
             "prescriptions": Prescription, "implants": Implant, "patients": Patient}[what]
    if model is Patient:
        found: list[Any] = [s.get(Patient, pid)]
    elif model is Interrogation:  # the newest by time: the one the worklist went by
        found = sorted(_live(s, model, pid), key=lambda g: (g.at, g.id))
    else:
        found = _live(s, model, pid)
    if found:
        records.soft_delete(s, ADMIN, found[-1], now=NOW, expected_version=found[-1].version,
                            patient_id=pid)


def _live_patients(s: Session) -> list[int]:
    return list(s.scalars(select(Patient.id).where(Patient.deleted_at.is_(None),
                                                   Patient.mrn.like("SUM-%"))
                          .order_by(Patient.id)))


_OFFSET = st.integers(-200, 60)
_OPS = st.one_of(
    st.tuples(st.just("patient"), st.integers(0, 200)),
    st.tuples(st.just("interrogate"), st.integers(0, 50), _OFFSET, _OFFSET, st.booleans(),
              st.integers(-30, 400), st.booleans()),
    st.tuples(st.just("refill"), st.integers(0, 50), _OFFSET,
              st.sampled_from(("done", "stopped"))),
    st.tuples(st.just("prescribe"), st.integers(0, 50), st.sampled_from((None, 30, 90, 180)),
              st.integers(-300, 0)),
    st.tuples(st.just("replace"), st.integers(0, 50), st.integers(-100, 0)),
    st.tuples(st.just("interval"), st.integers(0, 50), st.integers(20, 180)),
    st.tuples(st.just("rename"), st.integers(0, 50), st.integers(0, 999)),
    st.tuples(st.just("delete"), st.integers(0, 50),
              st.sampled_from(("interrogations", "interrogations", "refills",
                               "prescriptions", "implants", "patients"))))


@pytest.mark.req("REQ-CLINIC-WORKLIST", "REQ-CLINIC-WORKLIST-SUMMARY")
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(_OPS, min_size=1, max_size=14), per_transaction=st.integers(1, 4),
       today=st.integers(-20, 20), horizon=st.sampled_from((0, 14, 60)))
def test_the_summary_worklist_equals_the_rules_on_a_fresh_computation_after_any_writes(
        clinic_db: ClinicDB, ops: list[tuple[Any, ...]], per_transaction: int, today: int,
        horizon: int) -> None:
    for start in range(0, len(ops), per_transaction):  # several writes per transaction
        with clinic_db.session() as s:
            for op in ops[start:start + per_transaction]:
                _apply(s, op)
    now = _day(today)
    with clinic_db.session() as s:
        got = [e.to_json() for e in worklist(s, ADMIN, now=now, horizon_days=horizon)]
        assert got == [e.to_json() for e in fresh_worklist(s, now, horizon)]


def _by_kind(entries: list[WorkEntry], kind: str) -> list[dict[str, Any]]:
    return [e.to_json() for e in entries if e.kind == kind]


@pytest.mark.req("REQ-CLINIC-WORKLIST")
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(_OPS, min_size=3, max_size=14), today=st.integers(-20, 20),
       first=st.integers(1, 4), offset=st.integers(0, 5))
def test_each_lists_count_and_pages_equal_the_full_worklist_of_that_kind(
        clinic_db: ClinicDB, ops: list[tuple[Any, ...]], today: int, first: int,
        offset: int) -> None:
    with clinic_db.session() as s:
        for op in ops:
            _apply(s, op)
    now = _day(today)
    with clinic_db.session() as s:
        full = worklist(s, ADMIN, now=now)
        shown = overview(s, ADMIN, now=now, first=first)
        for kind in KINDS:
            size, entries = shown[kind]
            assert size == len(_by_kind(full, kind))
            assert [e.to_json() for e in entries] == _by_kind(full, kind)[:first]
            size, entries = page(s, ADMIN, now=now, kind=kind, offset=offset, limit=first)
            assert [e.to_json() for e in entries] == _by_kind(full, kind)[
                offset:offset + first]


@pytest.mark.req("REQ-CLINIC-WORKLIST-SUMMARY")
def test_a_write_that_is_rolled_back_leaves_the_summary_as_it_was(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        _add_patient(s, 90)
        pid = _live_patients(s)[-1]
    with clinic_db.session() as s:
        before = s.scalars(select(ImplantStatus).where(ImplantStatus.patient_id == pid)).one()
        kept = (before.interrogation_id, before.refill_due_on)
    with pytest.raises(RuntimeError), clinic_db.session() as s:
        implant = _live(s, Implant, pid)[-1]
        _interrogate(s, pid, implant, -1, 2, True, 100, True)
        raise RuntimeError("cut before the commit")
    with clinic_db.session() as s:
        after = s.scalars(select(ImplantStatus).where(ImplantStatus.patient_id == pid)).one()
        assert (after.interrogation_id, after.refill_due_on) == kept


def _old_clinic(db: ClinicDB) -> None:
    """Three patients' records as the 0006 schema held them (raw SQL: no summary yet)."""
    old = NOW.replace(tzinfo=None)
    with db.engine.begin() as c:
        for number in (1, 2, 3):
            c.execute(text(
                "INSERT INTO patients (id, version, created_at, mrn, name, date_of_birth, "
                "weight_kg, origin, time_zone, refill_interval_days, notes) VALUES "
                "(:n, 1, :t, :mrn, 'Old', '1960-01-01', '70', 'spinal', 'UTC', 30, '')"),
                {"n": number, "t": old, "mrn": f"OLD-{number}"})
            c.execute(text(
                "INSERT INTO implants (id, version, created_at, patient_id, pump_serial, "
                "pump_model, implanted_on) VALUES (:n, 1, :t, :n, :s, '8637-20', "
                "'2026-10-01')"), {"n": number, "t": old, "s": f"OLD-SN-{number}"})
        for gid, (pid, seen, refill_by, deleted, alarms) in enumerate(
                ((1, -5, 3, None, "[]"), (2, -40, 2, None, "[]"), (2, -3, 200, old, "[]"),
                 (3, -1, 300, None, '[{"name": "motor_stall", "critical": true}]')),
                start=1):
            c.execute(text(
                "INSERT INTO interrogations (id, version, created_at, deleted_at, patient_id,"
                " implant_id, at, alarms, eri, refill_by) VALUES (:g, 1, :t, :d, :p, :p, "
                ":at, :a, :f, :rb)"),
                {"g": gid, "t": old, "d": deleted, "p": pid, "f": False, "a": alarms,
                 "at": old + timedelta(days=seen), "rb": old + timedelta(days=refill_by)})


@pytest.mark.req("REQ-CLINIC-WORKLIST-SUMMARY")
def test_revision_0007_backfills_the_summary_from_a_0006_clinic(new_db_url: NewDB) -> None:
    db = ClinicDB(new_db_url(migrated=False))
    db.migrate("0006")
    _old_clinic(db)
    db.migrate()
    assert db.revision() == head_revision()
    with db.session() as s:
        stored = {row.patient_id: row.interrogation_id for row in s.scalars(
            select(ImplantStatus))}
        # patient 2's newest interrogation is soft-deleted: the one before it counts
        assert stored == {1: 1, 2: 2, 3: 4}
        got = [(e.mrn, e.kind) for e in worklist(s, ADMIN, now=NOW)]
        assert got == [(e.mrn, e.kind) for e in fresh_worklist(s, NOW, 14)]
        assert got == [("OLD-2", "not_seen"), ("OLD-3", "critical_alarm"),
                       ("OLD-2", "refill_due"), ("OLD-1", "refill_due")]
    db.dispose()


@pytest.mark.req("REQ-CLINIC-WORKLIST-SUMMARY")
def test_revision_0008_words_the_summary_of_a_0007_clinic(new_db_url: NewDB) -> None:
    db = ClinicDB(new_db_url(migrated=False))
    db.migrate("0006")
    _old_clinic(db)
    db.migrate("0007")
    with db.engine.connect() as c:  # 0007's summary: the keys, no words yet
        assert c.execute(text("SELECT count(*) FROM implant_status")).scalar_one() == 3
    db.migrate()
    with db.session() as s:
        words = {row.mrn: (row.name, row.pump_serial, row.critical_alarm_names)
                 for row in s.scalars(select(ImplantStatus))}
        assert words == {"OLD-1": ("Old", "OLD-SN-1", None), "OLD-2": ("Old", "OLD-SN-2", None),
                         "OLD-3": ("Old", "OLD-SN-3", ["motor_stall"])}
        got = [e.to_json() for e in worklist(s, ADMIN, now=NOW)]
        assert got == [e.to_json() for e in fresh_worklist(s, NOW, 14)]
        assert got[1]["reason"] == ("Critical alarm motor_stall was active at the "
                                    "interrogation of 2026-11-29.")
    with db.engine.begin() as c:  # and back down: 0007's columns and rows are kept
        command.downgrade(alembic_config(c), "0007")
        assert c.execute(text("SELECT count(*) FROM implant_status")).scalar_one() == 3
    db.dispose()
