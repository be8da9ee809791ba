"""The API's patients routes: bearer tokens, 201/200/409/422/401/403 with sentences."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.clinic.conftest import NOW

from itb.clinic import users
from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB


def _client(db: ClinicDB, role: str) -> TestClient:
    with db.session() as s:
        users.add_user(s, f"u-{role}", role, "correct horse", now=NOW)
        token = users.create_token(s, f"u-{role}", now=NOW)
    client = TestClient(create_app(db, clock=lambda: NOW))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


BODY = {"mrn": "MRN-7", "name": "Bo Example", "date_of_birth": "1975-02-03",
        "weight_kg": "80.0", "origin": "cerebral"}


def test_a_nurse_creates_and_updates_a_patient_and_a_stale_update_is_409(
        clinic_db: ClinicDB) -> None:
    nurse = _client(clinic_db, "nurse")
    made = nurse.post("/api/patients", json=BODY)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert nurse.patch(f"/api/patients/{pid}", json={"version": 1, "name": "Bo E"}).json()[
        "version"] == 2
    stale = nurse.patch(f"/api/patients/{pid}", json={"version": 1, "name": "Other"})
    assert stale.status_code == 409 and "version 1" in stale.json()["error"]
    assert nurse.get(f"/api/patients/{pid}").json()["name"] == "Bo E"


def test_no_token_is_401_a_viewer_may_not_write_and_a_bad_field_is_422(
        clinic_db: ClinicDB) -> None:
    viewer = _client(clinic_db, "viewer")
    assert viewer.post("/api/patients", json=BODY).status_code == 403
    bad = _client(clinic_db, "nurse").post("/api/patients", json={**BODY, "weight_kg": "0"})
    assert bad.status_code == 422
    anonymous = TestClient(create_app(clinic_db, clock=lambda: NOW))
    assert anonymous.get("/api/patients").status_code == 401
