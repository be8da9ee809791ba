"""/api/worklists and /api/patients/{id}/fhir: the shells over the worklist and the export."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from tests.clinic.conftest import NOW
from tests.clinic.work_records import add_patient, interrogate

from itb.clinic import users
from itb.clinic.api.app import create_app
from itb.clinic.api.routes_worklist import Kind
from itb.clinic.db import ClinicDB
from itb.clinic.worklist import KINDS


def _client(db: ClinicDB, role: str) -> TestClient:
    with db.session() as s:
        users.add_user(s, f"u-{role}", role, "correct horse", now=NOW)
        token = users.create_token(s, f"u-{role}", now=NOW)
    client = TestClient(create_app(db, clock=lambda: NOW))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _two_patients(db: ClinicDB) -> int:
    with db.session() as s:
        p, i = add_patient(s, "API-1")
        interrogate(s, p, i, NOW - timedelta(days=3), refill_by=NOW + timedelta(days=2),
                    alarms=[{"name": "motor_stall", "critical": True}])
        q, j = add_patient(s, "API-2")
        interrogate(s, q, j, NOW - timedelta(days=3), eri=True)
        return p.id


def test_the_api_lists_all_work_or_one_kind_each_with_its_reason(clinic_db: ClinicDB) -> None:
    _two_patients(clinic_db)
    viewer = _client(clinic_db, "viewer")
    every = viewer.get("/api/worklists")
    assert every.status_code == 200, every.text
    assert sorted((e["mrn"], e["kind"]) for e in every.json()) == [
        ("API-1", "critical_alarm"), ("API-1", "refill_due"), ("API-2", "replacement_due")]
    assert all(e["reason"] and e["due"] for e in every.json())
    alarms = viewer.get("/api/worklists/critical_alarm").json()
    assert [(e["mrn"], e["due"]) for e in alarms] == [("API-1", "2026-11-27")]
    assert viewer.get("/api/worklists/refill_due", params={"horizon_days": 1}).json() == []


def test_a_bad_kind_or_horizon_is_422_and_no_token_401(clinic_db: ClinicDB) -> None:
    nurse = _client(clinic_db, "nurse")
    assert nurse.get("/api/worklists/coffee").status_code == 422
    assert nurse.get("/api/worklists", params={"horizon_days": 366}).status_code == 422
    assert nurse.get("/api/worklists", params={"horizon_days": "x"}).status_code == 422
    assert TestClient(create_app(clinic_db)).get("/api/worklists").status_code == 401
    assert set(get_args(Kind)) == set(KINDS)


def test_the_api_serves_a_valid_bundle_to_a_clinician_only(clinic_db: ClinicDB) -> None:
    pid = _two_patients(clinic_db)
    clinician = _client(clinic_db, "clinician")
    got = clinician.get(f"/api/patients/{pid}/fhir")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(got.text)
    assert bundle.entry[0].resource.get_resource_type() == "Patient"
    assert clinician.get("/api/patients/999/fhir").status_code == 404
    assert clinician.get("/api/patients/0/fhir").status_code == 422
    refused = _client(clinic_db, "nurse").get(f"/api/patients/{pid}/fhir")
    assert refused.status_code == 403 and "export" in refused.json()["error"]
