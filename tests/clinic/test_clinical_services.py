"""The services of a patient's records: implants (explant, replacement), prescriptions,
screening trials, visits, symptom calls (triaged), the audit (read by admins only)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from tests.clinic.apikit import client, new_patient, seed
from tests.clinic.conftest import NOW, actor

from itb.clinic import audit_log, implants, prescriptions, screening, symptom_calls, visits
from itb.clinic.db import ClinicDB
from itb.clinic.errors import (
    DuplicateRecord,
    InvalidRecord,
    NotPermitted,
    RecordNotFound,
    StaleRecord,
)
from itb.clinic.models import AuditEntry, Implant, Prescription

PUMP = {"pump_serial": "SN-1", "pump_model": "synchromed-ii-20",
        "implanted_on": date(2022, 5, 1)}


def test_a_replacement_explants_the_old_pump_and_the_new_implant_names_it(
        clinic_db: ClinicDB) -> None:
    pid = new_patient(clinic_db, "R-1")
    with clinic_db.session() as s:
        old = implants.add_implant(s, actor("nurse"), pid, PUMP, now=NOW)
    with clinic_db.session() as s:
        new = implants.replace(s, actor("clinician"), old.id,
                               {"pump_serial": "SN-2", "pump_model": "synchromed-ii-40"},
                               version=1, on=date(2026, 11, 20), reason="ERI", now=NOW)
        assert new.replaces_id == old.id and new.implanted_on == date(2026, 11, 20)
    with clinic_db.session() as s:
        gone = s.get(Implant, old.id)
        assert gone is not None and gone.explanted_on == date(2026, 11, 20)
        assert gone.explant_reason == "ERI" and gone.version == 2
        assert [i.pump_serial for i in implants.list_implants(
            s, actor("viewer"), pid, now=NOW)] == ["SN-2", "SN-1"]


def test_an_explant_is_refused_before_the_implant_date_or_twice(clinic_db: ClinicDB) -> None:
    pid = new_patient(clinic_db, "R-2")
    with clinic_db.session() as s:
        made = implants.add_implant(s, actor("nurse"), pid, PUMP, now=NOW)
    with pytest.raises(InvalidRecord) as early, clinic_db.session() as s:
        implants.explant(s, actor("nurse"), made.id, version=1, on=date(2022, 4, 30),
                         reason="infection", now=NOW)
    assert early.value.field == "explanted_on"
    with clinic_db.session() as s:
        implants.explant(s, actor("nurse"), made.id, version=1, on=date(2024, 1, 1),
                         reason="infection", now=NOW)
    with pytest.raises(InvalidRecord), clinic_db.session() as s:
        implants.explant(s, actor("nurse"), made.id, version=2, on=date(2024, 1, 2),
                         reason="again", now=NOW)


def test_a_pump_in_a_patient_cannot_be_implanted_in_another(clinic_db: ClinicDB) -> None:
    first, second = new_patient(clinic_db, "D-1"), new_patient(clinic_db, "D-2")
    with clinic_db.session() as s:
        implants.add_implant(s, actor("nurse"), first, PUMP, now=NOW)
    with pytest.raises(DuplicateRecord), clinic_db.session() as s:
        implants.add_implant(s, actor("nurse"), second, PUMP, now=NOW)


@pytest.mark.parametrize(("field", "value"), [
    ("pump_model", "acme-9000"), ("implanted_on", date(2027, 1, 1)),
    ("catheter_volume_ml", "0"), ("catheter_length_cm", "1e9"), ("pump_port", 70000),
    ("pump_serial", "a\x00b"), ("colour", "red")])
def test_a_bad_implant_field_is_refused_naming_it(clinic_db: ClinicDB, field: str,
                                                  value: object) -> None:
    pid = new_patient(clinic_db, "B-1")
    with pytest.raises(InvalidRecord) as refusal, clinic_db.session() as s:
        implants.add_implant(s, actor("nurse"), pid, {**PUMP, field: value}, now=NOW)
    assert refusal.value.field == field
    with clinic_db.session() as s:
        assert s.scalars(select(Implant)).all() == []


RX = {"drug": "Gablofen", "strength_mcg_per_ml": "500", "daily_dose_mcg": "300",
      "started_on": date(2026, 1, 1)}


@pytest.mark.parametrize(("changes", "field"), [
    ({"max_daily_dose_mcg": "250"}, "max_daily_dose_mcg"),
    ({"daily_dose_mcg": "2004"}, "daily_dose_mcg"),
    ({"daily_dose_mcg": "300.0000001"}, "daily_dose_mcg"),
    ({"strength_mcg_per_ml": "NaN"}, "strength_mcg_per_ml"),
    ({"drug": "morphine"}, "drug"),
    ({"ended_on": date(2025, 1, 1)}, "ended_on"),
    ({"stability_days": 181}, "stability_days"),
    ({"program": {"mode": "flex", "steps": [{"start": "01:00", "daily_rate_mcg": "1"}]}},
     "program.steps[0].start"),
    ({"program": {"mode": "flex", "steps": [{"start": "00:00", "daily_rate_mcg": "1"},
                                            {"start": "00:00", "daily_rate_mcg": "2"}]}},
     "program.steps[1].start"),
])
def test_a_prescription_outside_the_bounds_is_refused_naming_the_field(
        clinic_db: ClinicDB, changes: dict[str, object], field: str) -> None:
    pid = new_patient(clinic_db, "RX-1")
    with pytest.raises(InvalidRecord) as refusal, clinic_db.session() as s:
        prescriptions.add_prescription(s, actor("clinician"), pid, {**RX, **changes}, now=NOW)
    assert refusal.value.field == field
    with clinic_db.session() as s:
        assert s.scalars(select(Prescription)).all() == []


def test_only_a_clinician_prescribes_and_a_nurse_is_refused_and_audited(
        clinic_db: ClinicDB) -> None:
    pid = new_patient(clinic_db, "RX-2")
    with pytest.raises(NotPermitted), clinic_db.session() as s:
        prescriptions.add_prescription(s, actor("nurse"), pid, RX, now=NOW)
    with clinic_db.session() as s:
        made = prescriptions.add_prescription(s, actor("clinician"), pid, RX, now=NOW)
        assert made.daily_dose_mcg == Decimal(300) and made.program == {"mode": "simple"}
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).one()
        assert denied.patient_id == pid and "program pump" in denied.detail


def test_a_prescription_change_at_a_stale_version_is_409_and_changes_nothing(
        clinic_db: ClinicDB) -> None:
    ids = seed(clinic_db, "ST-1", "ST-P")
    with clinic_db.session() as s:
        prescriptions.update_prescription(s, actor("clinician"), ids["prescription"],
                                          {"daily_dose_mcg": "320"}, version=1, now=NOW)
    with pytest.raises(StaleRecord), clinic_db.session() as s:
        prescriptions.update_prescription(s, actor("clinician"), ids["prescription"],
                                          {"daily_dose_mcg": "900"}, version=1, now=NOW)
    with clinic_db.session() as s:
        found = prescriptions.read_prescription(s, actor("viewer"), ids["prescription"],
                                                now=NOW)
        assert found.daily_dose_mcg == Decimal(320)


def test_a_screening_trial_keeps_its_boluses_and_observations(clinic_db: ClinicDB) -> None:
    pid = new_patient(clinic_db, "SC-1")
    bolus = {"dose_mcg": "50", "at": "2026-11-28T09:00:00+01:00",
             "observations": [{"hour": 4, "ashworth": "1+", "spasm_frequency": 1}]}
    with clinic_db.session() as s:
        trial = screening.add_trial(s, actor("nurse"), pid, {
            "started_on": date(2026, 11, 28), "decision": "implant", "boluses": [bolus]},
            now=NOW)
    assert trial.boluses[0]["at"] == "2026-11-28T08:00:00+00:00"
    with pytest.raises(InvalidRecord) as refusal, clinic_db.session() as s:
        screening.add_trial(s, actor("nurse"), pid, {
            "started_on": date(2026, 11, 28), "decision": "implant",
            "boluses": [{**bolus, "dose_mcg": "150"}]}, now=NOW)
    assert refusal.value.field == "boluses[0].dose_mcg"


def test_a_visit_names_only_this_patients_implant_and_keeps_the_ashworth_grade(
        clinic_db: ClinicDB) -> None:
    mine, theirs = seed(clinic_db, "V-1", "V-P1"), seed(clinic_db, "V-2", "V-P2")
    with pytest.raises(InvalidRecord) as refusal, clinic_db.session() as s:
        visits.add_visit(s, actor("nurse"), mine["patient"],
                         {"kind": "refill", "implant_id": theirs["implant"]}, now=NOW)
    assert refusal.value.field == "implant_id"
    with clinic_db.session() as s:
        visit = visits.add_visit(s, actor("nurse"), mine["patient"], {
            "kind": "titration", "implant_id": mine["implant"], "ashworth": "1+"}, now=NOW)
        assert visit.ashworth == Decimal("1.5")
        assert visits.ashworth_grade(visit.ashworth) == "1+"


def test_a_symptom_call_is_triaged_as_itb_triage_says_with_the_records_facts(
        clinic_db: ClinicDB) -> None:
    ids = seed(clinic_db, "SY-1", "SY-P")  # refilled 30 days ago, implanted 2024-03-01
    with clinic_db.session() as s:
        call = symptom_calls.take_call(s, actor("patient", ids["patient"]), ids["patient"],
                                       {"symptoms": ["fever", "neck-stiffness"]}, now=NOW)
        assert call.disposition == "emergency" and call.causes[0] == "meningitis"
        assert call.advice.startswith("EMERGENCY: call 911")
        assert "last refill 30 days ago" in call.advice
        routine = symptom_calls.take_call(s, actor("nurse"), ids["patient"],
                                          {"symptoms": ["bruising"]}, now=NOW)
        assert routine.disposition == "routine"
        alarm = symptom_calls.take_call(s, actor("nurse"), ids["patient"], {
            "symptoms": [], "facts": {"alarm_tone": "single-tone"}}, now=NOW)
        assert alarm.disposition == "call-care-team"


@pytest.mark.parametrize(("fields", "field"), [
    ({"symptoms": ["hiccups"]}, "symptom"), ({"symptoms": []}, "symptoms"),
    ({"symptoms": ["fever"], "facts": {"days_since_refill": "-1"}}, "days_since_refill"),
    ({"symptoms": ["fever"], "at": NOW + timedelta(hours=1)}, "at")])
def test_a_bad_symptom_call_is_refused_naming_the_field(
        clinic_db: ClinicDB, fields: dict[str, object], field: str) -> None:
    pid = new_patient(clinic_db, "SY-2")
    with pytest.raises(InvalidRecord) as refusal, clinic_db.session() as s:
        symptom_calls.take_call(s, actor("nurse"), pid, fields, now=NOW)
    assert refusal.value.field == field


@pytest.mark.req("REQ-CLINIC-AUDIT")
def test_the_audit_is_read_by_admins_only_and_the_read_is_audited(clinic_db: ClinicDB) -> None:
    ids = seed(clinic_db, "AU-1", "AU-P")
    for role in ("clinician", "nurse", "viewer", "patient"):
        with pytest.raises(NotPermitted), clinic_db.session() as s:
            audit_log.read_audit(s, actor(role, ids["patient"]), now=NOW)
    with clinic_db.session() as s:
        entries = audit_log.read_audit(s, actor("admin"), now=NOW, patient_id=ids["patient"],
                                       action="create")
        assert {e.entity for e in entries} >= {"implants", "prescriptions", "visits"}
        assert all(e.after is not None for e in entries)
        page = audit_log.read_audit(s, actor("admin"), now=NOW, limit=2)
        after = audit_log.read_audit(s, actor("admin"), now=NOW, after_id=page[-1].id,
                                     limit=2)
        assert after[0].id > page[-1].id
    with clinic_db.session() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.entity == "audit",
                                                  AuditEntry.action == "read")).all()
        assert len(reads) == 3


@pytest.mark.req("REQ-CLINIC-AUDIT")
def test_no_route_can_change_or_remove_an_audit_entry(clinic_db: ClinicDB) -> None:
    admin = client(clinic_db, "root", "admin")
    spec = admin.get("/openapi.json").json()
    audit_paths = {p: set(ops) for p, ops in spec["paths"].items() if "audit" in p}
    assert audit_paths == {"/api/audit": {"get"}}
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert admin.request(method, "/api/audit").status_code == 405
        assert admin.request(method, "/api/audit/1").status_code in (404, 405)


@pytest.mark.req("REQ-CLINIC-ACCESS", "REQ-CLINIC-AUDIT")
def test_a_patient_is_refused_another_patients_record_and_the_refusal_is_audited(
        clinic_db: ClinicDB) -> None:
    mine, theirs = seed(clinic_db, "PA-1", "PA-P1"), seed(clinic_db, "PA-2", "PA-P2")
    me = client(clinic_db, "pat", "patient", patient_mrn="PA-1")
    assert me.get(f"/api/patients/{mine['patient']}").status_code == 200
    for path in (f"/api/patients/{theirs['patient']}",
                 f"/api/patients/{theirs['patient']}/prescriptions",
                 f"/api/visits/{theirs['visit']}", f"/api/refills/{theirs['refill']}"):
        refused = me.get(path)
        assert refused.status_code == 403, path
        assert refused.json()["error"].startswith("The role patient may not read record")
    with clinic_db.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
        assert [(d.username, d.patient_id) for d in denied] == [("pat", theirs["patient"])] * 4
        assert not any(e.action == "read" and e.patient_id == theirs["patient"]
                       and e.username == "pat" for e in s.scalars(select(AuditEntry)))


def test_a_deleted_record_is_404_everywhere(clinic_db: ClinicDB) -> None:
    ids = seed(clinic_db, "DEL-1", "DEL-P")
    with clinic_db.session() as s:
        visits.delete_visit(s, actor("clinician"), ids["visit"], version=1, now=NOW)
    with pytest.raises(RecordNotFound), clinic_db.session() as s:
        visits.read_visit(s, actor("clinician"), ids["visit"], now=NOW)
    with clinic_db.session() as s:
        assert visits.list_visits(s, actor("clinician"), ids["patient"], now=NOW) == []


@pytest.mark.req("REQ-CLINIC-INPUT")
def test_an_id_beyond_the_databases_integers_is_not_found_not_a_fault(
        clinic_db: ClinicDB) -> None:
    with pytest.raises(RecordNotFound), clinic_db.session() as s:
        visits.read_visit(s, actor("clinician"), 2**31, now=NOW)
