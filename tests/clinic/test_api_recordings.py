"""POST /api/recordings: 201 new, 200 repeat with the same ids, 409/404/422/403/401."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from tests.clinic.conftest import NOW
from tests.clinic.feedkit import add_patient
from tests.clinic.test_recording import BASE

from itb.clinic import users
from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB


def client_of(db: ClinicDB, role: str) -> TestClient:
    with db.session() as s:
        users.add_user(s, f"u-{role}", role, "correct horse", now=NOW)
        token = users.create_token(s, f"u-{role}", now=NOW)
    client = TestClient(create_app(db, clock=lambda: NOW))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_an_entry_is_201_then_200_with_the_same_ids(clinic_db: ClinicDB) -> None:
    patient_id = add_patient(clinic_db)
    nurse = client_of(clinic_db, "nurse")
    first = nurse.post("/api/recordings", json=BASE)
    assert first.status_code == 201, first.text
    assert first.json()["new"] is True and first.json()["patient_id"] == patient_id
    again = client_of(clinic_db, "clinician").post("/api/recordings", json=BASE)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "new": False}


def test_refusals_are_sentences_with_their_status(clinic_db: ClinicDB) -> None:
    add_patient(clinic_db, serial="OTHER")
    nurse = client_of(clinic_db, "nurse")
    unknown = nurse.post("/api/recordings", json=BASE)
    assert unknown.status_code == 404 and BASE["serial"] in unknown.json()["error"]
    add_patient(clinic_db, mrn="MRN-FEED-2")
    assert nurse.post("/api/recordings", json=BASE).status_code == 201
    clash = nurse.post("/api/recordings", json={**BASE, "summary": "something else"})
    assert clash.status_code == 409 and "first is kept" in clash.json()["error"]
    bad = nurse.post("/api/recordings", json={**BASE, "seq": 2, "at": "yesterday"})
    assert bad.status_code == 422 and bad.json()["field"] == "at"
    assert client_of(clinic_db, "viewer").post("/api/recordings", json=BASE).status_code == 403
    anonymous = TestClient(create_app(clinic_db, clock=lambda: NOW))
    assert anonymous.post("/api/recordings", json=BASE).status_code == 401


def test_details_a_json_column_cannot_hold_are_422_never_500(clinic_db: ClinicDB) -> None:
    add_patient(clinic_db)
    nurse = client_of(clinic_db, "nurse")
    for raw in ("NaN", "Infinity", '"\\ud800"', '"a\\u0000b"'):
        content = json.dumps({**BASE, "details": {"x": "HERE"}}).replace('"HERE"', raw)
        sent = nurse.post("/api/recordings", content=content,
                          headers={"Content-Type": "application/json"})
        assert sent.status_code == 422, (raw, sent.text)
        assert sent.json()["field"] == "details.x"
    assert nurse.post("/api/recordings", json=BASE).status_code == 201
