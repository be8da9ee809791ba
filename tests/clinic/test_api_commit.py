"""An answer of the API comes after the commit: a 201 means saved, and a commit that fails
is the answer (503, nothing saved), never a success sent before a lost write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tests.clinic.apikit import client

from itb.clinic.db import ClinicDB
from itb.clinic.models import Patient

BODY = {"mrn": "C-1", "name": "Cy Commit", "date_of_birth": "1977-07-07",
        "weight_kg": "77", "origin": "spinal"}


@pytest.mark.req("REQ-CLINIC-INPUT")
def test_a_commit_that_fails_is_the_answer_and_nothing_is_saved(
        clinic_db: ClinicDB, monkeypatch: pytest.MonkeyPatch) -> None:
    nurse = client(clinic_db, "nina", "nurse")
    real = type(clinic_db).session

    @contextmanager
    def failing_commit(db: ClinicDB) -> Iterator[Session]:
        with db.sessions() as session:
            yield session
            session.rollback()  # the commit that never happens
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(type(clinic_db), "session", failing_commit)
    answer = nurse.post("/api/patients", json=BODY)
    monkeypatch.setattr(type(clinic_db), "session", real)
    assert answer.status_code == 503 and "nothing of it was saved" in answer.json()["error"]
    with clinic_db.session() as s:
        assert s.scalars(select(Patient)).all() == []
    saved = nurse.post("/api/patients", json=BODY)
    assert saved.status_code == 201
    with clinic_db.session() as s:  # committed before the answer came
        assert s.scalars(select(Patient.mrn)).all() == ["C-1"]
