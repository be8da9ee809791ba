"""The care team's pages: dashboard rows link to the patient; search; the patient page with
its profile, timeline plot (cached by record version), history tables, FHIR button and the
audit for admins only; a patient is refused another's page (403, audited)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from tests.clinic.conftest import NOW
from tests.clinic.web_helpers import Web
from tests.clinic.work_records import add_patient, interrogate, refill

from itb.clinic.db import ClinicDB
from itb.clinic.models import AuditEntry, Prescription
from itb.clinic.web import plot


def _due_patient(db: ClinicDB) -> int:
    with db.session() as s:
        patient, implant = add_patient(s, "MRN-DUE")
        interrogate(s, patient, implant, NOW - timedelta(days=80),
                    refill_by=NOW + timedelta(days=3))
        interrogate(s, patient, implant, NOW - timedelta(days=170),
                    reservoir_ml=Decimal("19.5"))
        refill(s, patient, NOW - timedelta(days=80))
        s.get(Prescription, 1).program = {"mode": "flex", "steps": [
            {"start": "00:00", "daily_rate_mcg": "240"}, {"start": "06:00",
                                                         "daily_rate_mcg": "480"}]}
        return patient.id


def test_the_dashboard_lists_a_due_refill_that_links_to_the_patient(clinic_db: ClinicDB
                                                                     ) -> None:
    pid = _due_patient(clinic_db)
    web = Web(clinic_db)
    nurse = web.logged_in(web.user("nurse"))
    page = nurse.get("/dashboard")
    assert page.status_code == 200
    assert "Refills due (1)" in page.text and f'href="/patients/{pid}"' in page.text
    assert "MRN-DUE" in page.text


def test_search_finds_by_name_or_record_number_and_htmx_gets_only_the_rows(
        clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    web.patient("A-100", "Ada Lovelace")
    web.patient("B-200", "Bob Stone")
    nurse = web.logged_in(web.user("nurse"))
    by_name = nurse.get("/patients", params={"q": "lovel"}).text
    assert "Ada Lovelace" in by_name and "Bob Stone" not in by_name
    rows = nurse.get("/patients", params={"q": "b-2"}, headers={"HX-Request": "true"}).text
    assert "Bob Stone" in rows and "<html" not in rows
    assert "No patient matches" in nurse.get("/patients", params={"q": "zzz"}).text


def test_the_patient_page_shows_pump_program_profile_histories_and_plot(
        clinic_db: ClinicDB) -> None:
    pid = _due_patient(clinic_db)
    web = Web(clinic_db)
    clinician = web.logged_in(web.user("clinician"))
    page = clinician.get(f"/patients/{pid}").text
    assert "SN-MRN-DUE" in page and "14.2 mL" in page and "24-hour dose profile" in page
    # 00-06 at 240 mcg/day = 10 mcg an hour; from 06:00 at 480 = 20 mcg an hour
    assert "<td>10</td>" in page and "<td>20</td>" in page
    assert "Export FHIR bundle" in page and "Audit of this record" not in page
    png = clinician.get(f"/patients/{pid}/timeline.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert clinician.get(f"/api/patients/{pid}/fhir").status_code == 200


def test_the_plot_is_cached_until_a_shown_record_changes(clinic_db: ClinicDB) -> None:
    pid = _due_patient(clinic_db)
    with clinic_db.session() as s:
        before = plot.fingerprint(s, pid)
    with clinic_db.session() as s:
        assert plot.fingerprint(s, pid) == before
        from itb.clinic.models import Patient
        refill(s, s.get(Patient, pid), NOW - timedelta(days=1))
    with clinic_db.session() as s:
        assert plot.fingerprint(s, pid) != before


@pytest.mark.parametrize("role", ["admin", "nurse"])
def test_only_an_admin_sees_the_audit_of_the_record(clinic_db: ClinicDB, role: str) -> None:
    pid = _due_patient(clinic_db)
    web = Web(clinic_db)
    page = web.logged_in(web.user(role)).get(f"/patients/{pid}")
    assert page.status_code == 200
    assert ("Audit of this record" in page.text) == (role == "admin")


@pytest.mark.req("REQ-WEB-SESSION", "REQ-CLINIC-ACCESS")
def test_a_patient_may_not_open_another_patients_page_and_the_attempt_is_audited(
        clinic_db: ClinicDB) -> None:
    pid = _due_patient(clinic_db)
    web = Web(clinic_db)
    web.patient("OWN-1", "Own Patient")
    me = web.logged_in(web.user("patient", patient_mrn="OWN-1"))
    for path in (f"/patients/{pid}", f"/patients/{pid}/timeline.png"):
        refused = me.get(path)
        assert refused.status_code == 403 and "may not read record" in refused.text
    assert me.get("/dashboard").status_code == 403
    with clinic_db.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied",
                                                    AuditEntry.patient_id == pid)).all()
    assert len(denied) == 2 and all(e.username == "web-patient" for e in denied)
