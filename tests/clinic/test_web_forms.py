"""The symptom forms (care team's call, patient's checker) and the portal's pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.clinic.conftest import NOW
from tests.clinic.web_helpers import Web, token_of
from tests.clinic.work_records import add_patient, interrogate, refill

from itb.clinic.db import ClinicDB
from itb.clinic.models import AuditEntry, SymptomCall


def _patient(db: ClinicDB) -> int:
    with db.session() as s:
        patient, implant = add_patient(s, "MRN-S1")
        interrogate(s, patient, implant, NOW - timedelta(days=2),
                    refill_by=NOW + timedelta(days=40))
        refill(s, patient, NOW - timedelta(days=40))
        return patient.id


@pytest.mark.req("REQ-TRIAGE-EMERGENCY")
def test_a_nurse_records_a_withdrawal_call_as_an_emergency_as_the_seeds_say(
        clinic_db: ClinicDB) -> None:
    pid = _patient(clinic_db)
    web = Web(clinic_db)
    nurse = web.logged_in(web.user("nurse"))
    path = f"/patients/{pid}/symptom-call"
    page = nurse.post(path, data={"csrf_token": token_of(nurse, path),
                                  "symptom": ["itchy-skin", "muscle-stiffness"],
                                  "alarm_tone": "two-tone"})
    assert page.status_code == 200, page.text
    assert "call 911 or your local emergency services now" in page.text
    assert "Tell the team" in page.text
    with clinic_db.session() as s:
        call = s.scalars(select(SymptomCall)).one()
        assert call.disposition == "emergency" and call.patient_id == pid
        assert "withdrawal" in call.causes
        assert s.scalars(select(AuditEntry).where(AuditEntry.entity == "symptom_calls",
                                                  AuditEntry.action == "create")).one()


def test_a_routine_side_effect_is_routine_and_a_bad_symptom_name_is_422(
        clinic_db: ClinicDB) -> None:
    pid = _patient(clinic_db)
    web = Web(clinic_db)
    nurse = web.logged_in(web.user("nurse"))
    path = f"/patients/{pid}/symptom-call"
    routine = nurse.post(path, data={"csrf_token": token_of(nurse, path),
                                     "symptom": "upset-stomach"})
    assert "Routine: tell the team at your next visit" in routine.text
    bad = nurse.post(path, data={"csrf_token": token_of(nurse, path), "symptom": "bogus"})
    assert bad.status_code == 422 and "symptom" in bad.text and "bogus" in bad.text
    none = nurse.post(path, data={"csrf_token": token_of(nurse, path)})
    assert none.status_code == 422
    without_token = nurse.post(path, data={"symptom": "upset-stomach"})
    assert without_token.status_code == 403
    with clinic_db.session() as s:
        assert len(s.scalars(select(SymptomCall)).all()) == 1  # refusals changed nothing


def test_the_portal_shows_my_pump_alarm_tones_and_checks_symptoms(clinic_db: ClinicDB
                                                                  ) -> None:
    _patient(clinic_db)
    web = Web(clinic_db)
    me = web.logged_in(web.user("patient", patient_mrn="MRN-S1"))
    mine = me.get("/me")
    assert mine.status_code == 200
    assert "SN-MRN-S1" in mine.text and (NOW + timedelta(days=40)).date().isoformat() in mine.text
    tones = me.get("/me/alarms").text
    assert "Two tones" in tones and "One tone" in tones and "seed 004" in tones
    checked = me.post("/me/symptoms", data={"csrf_token": token_of(me, "/me/symptoms"),
                                            "symptom": "swelling-over-pump"})
    assert checked.status_code == 200 and "Call the care team" in checked.text


def test_the_portal_is_only_for_a_patient(clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    nurse = web.logged_in(web.user("nurse"))
    assert nurse.get("/me").status_code == 403


def test_a_clinician_records_a_screening_trial_and_a_bad_dose_is_422(clinic_db: ClinicDB
                                                                     ) -> None:
    from itb.clinic.models import ScreeningTrial

    pid = _patient(clinic_db)
    web = Web(clinic_db)
    clinician = web.logged_in(web.user("clinician"))
    path = f"/patients/{pid}/screening"
    form = {"csrf_token": token_of(clinician, path), "started_on": "2026-11-29",
            "decision": "implant", "b1_dose": "50", "b1_at": "2026-11-29T08:00",
            "b1_h0": "3", "b1_h4": "1+", "b2_dose": "", "b2_at": "", "notes": "good response"}
    saved = clinician.post(path, data=form)
    assert saved.status_code == 200, saved.text
    assert "Screening trial recorded: 1 bolus(es), decision implant" in saved.text
    bad = clinician.post(path, data={**form, "b1_dose": "5000"})
    assert bad.status_code == 422 and "boluses[0].dose_mcg" in bad.text
    with clinic_db.session() as s:
        trial = s.scalars(select(ScreeningTrial)).one()
        assert trial.boluses[0]["dose_mcg"] == "50"
        assert [o["hour"] for o in trial.boluses[0]["observations"]] == [0, 4]
    assert "1 bolus(es), decision implant" in clinician.get(f"/patients/{pid}").text
