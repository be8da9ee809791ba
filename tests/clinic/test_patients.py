"""Patients: created, read (audited), updated only at the version read, soft-deleted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from tests.clinic.conftest import NOW, actor

from itb.clinic import patients
from itb.clinic.db import ClinicDB
from itb.clinic.errors import InvalidRecord, NotPermitted, RecordNotFound, StaleRecord
from itb.clinic.models import AuditEntry, Patient

FIELDS = {"mrn": "MRN-0001", "name": "Ada Example", "date_of_birth": date(1980, 5, 1),
          "weight_kg": Decimal("70.5"), "origin": "spinal"}


def _new(db: ClinicDB) -> int:
    with db.session() as s:
        return patients.create_patient(s, actor("nurse"), FIELDS, now=NOW).id


def test_a_patient_is_created_and_its_read_is_audited(clinic_db: ClinicDB) -> None:
    pid = _new(clinic_db)
    with clinic_db.session() as s:
        p = patients.read_patient(s, actor("clinician"), pid, now=NOW)
        assert p.weight_kg == Decimal("70.5") and p.version == 1
    with clinic_db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["create", "read"]


def test_a_search_is_audited_with_what_was_looked_for_and_whose_records_it_showed(
        clinic_db: ClinicDB) -> None:
    pid = _new(clinic_db)
    with clinic_db.session() as s:
        assert [p.id for p in patients.search_patients(s, actor("viewer"), " Ada ",
                                                       now=NOW)] == [pid]
        assert patients.search_patients(s, actor("viewer"), "nobody", now=NOW) == []
    with clinic_db.session() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "read")
                          .order_by(AuditEntry.id)).all()
    assert [(a.entity, a.username, a.detail) for a in reads] == [
        ("patients", "test-viewer", f"search 'Ada': 1 shown (ids {pid})"),
        ("patients", "test-viewer", "search 'nobody': 0 shown")]


def test_an_update_at_a_stale_version_is_refused_and_changes_nothing(clinic_db: ClinicDB) -> None:
    pid = _new(clinic_db)
    with clinic_db.session() as s:
        patients.update_patient(s, actor("nurse"), pid, {"weight_kg": "71"}, version=1, now=NOW)
    with pytest.raises(StaleRecord), clinic_db.session() as s:
        patients.update_patient(s, actor("nurse"), pid, {"weight_kg": "90"}, version=1, now=NOW)
    with clinic_db.session() as s:
        p = s.get(Patient, pid)
        assert p is not None and p.weight_kg == Decimal("71") and p.version == 2


def test_a_soft_deleted_patient_is_not_found_but_stays_in_the_audit(clinic_db: ClinicDB) -> None:
    pid = _new(clinic_db)
    with clinic_db.session() as s:
        patients.delete_patient(s, actor("clinician"), pid, version=1, now=NOW)
    with pytest.raises(RecordNotFound), clinic_db.session() as s:
        patients.read_patient(s, actor("clinician"), pid, now=NOW)
    with clinic_db.session() as s:
        assert patients.search_patients(s, actor("viewer"), "ada", now=NOW) == []
        assert s.get(Patient, pid) is not None


def test_a_patient_may_read_only_their_own_record_and_a_refusal_is_audited(
        clinic_db: ClinicDB) -> None:
    pid = _new(clinic_db)
    with pytest.raises(NotPermitted), clinic_db.session() as s:
        patients.read_patient(s, actor("patient", patient_id=pid + 1), pid, now=NOW)
    with clinic_db.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
        assert len(denied) == 1 and denied[0].patient_id == pid
        assert patients.read_patient(s, actor("patient", patient_id=pid), pid, now=NOW).id == pid


@pytest.mark.parametrize(("field", "value"), [("weight_kg", "0"), ("weight_kg", "nan"),
                                              ("origin", "brain"), ("mrn", "a b"),
                                              ("date_of_birth", date(2027, 1, 1))])
def test_a_bad_field_is_refused_naming_it(clinic_db: ClinicDB, field: str, value: object) -> None:
    with pytest.raises(InvalidRecord) as refusal, clinic_db.session() as s:
        patients.create_patient(s, actor("nurse"), {**FIELDS, field: value}, now=NOW)
    assert refusal.value.field == field
    with clinic_db.session() as s:
        assert s.scalars(select(Patient)).all() == []
