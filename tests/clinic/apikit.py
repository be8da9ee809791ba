"""Helpers for the API's tests: users with tokens, and a patient with one record of each
kind (the refill and the program change as the programmer's recordings would make them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from tests.clinic.conftest import NOW, actor

from itb.clinic import (
    appointments,
    implants,
    patients,
    prescriptions,
    records,
    screening,
    symptom_calls,
    users,
    visits,
)
from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB
from itb.clinic.models import ProgramChange, RefillRecord

PASSWORD = "correct horse"


def client(db: ClinicDB, username: str, role: str, *, patient_mrn: str | None = None,
           clock: object = None) -> TestClient:
    """A client acting as a new user of `role`, with an API token."""
    with db.session() as s:
        users.add_user(s, username, role, PASSWORD, now=NOW, patient_mrn=patient_mrn)
        token = users.create_token(s, username, now=NOW)
    made = TestClient(create_app(db, clock=clock or (lambda: NOW)))  # type: ignore[arg-type]
    made.headers["Authorization"] = f"Bearer {token}"
    return made


def new_patient(db: ClinicDB, mrn: str) -> int:
    with db.session() as s:
        return patients.create_patient(s, actor("nurse"), {
            "mrn": mrn, "name": f"Pat {mrn}", "date_of_birth": date(1970, 1, 2),
            "weight_kg": Decimal(70), "origin": "spinal"}, now=NOW).id


def seed(db: ClinicDB, mrn: str, serial: str) -> dict[str, int]:
    """A patient with an implant, a prescription, a screening trial, a visit, a symptom
    call, a refill and a program change; the ids by kind (every version is 1)."""
    pid = new_patient(db, mrn)
    nurse, doctor = actor("nurse"), actor("clinician")
    with db.session() as s:
        ids = {"patient": pid}
        ids["implant"] = implants.add_implant(s, nurse, pid, {
            "pump_serial": serial, "pump_model": "synchromed-ii-20",
            "implanted_on": date(2024, 3, 1)}, now=NOW).id
        ids["prescription"] = prescriptions.add_prescription(s, doctor, pid, {
            "drug": "Gablofen", "strength_mcg_per_ml": "500", "daily_dose_mcg": "300",
            "started_on": date(2024, 3, 1)}, now=NOW).id
        ids["trial"] = screening.add_trial(s, nurse, pid, {
            "started_on": date(2024, 1, 10), "decision": "implant"}, now=NOW).id
        ids["visit"] = visits.add_visit(s, nurse, pid, {"kind": "refill"}, now=NOW).id
        ids["call"] = symptom_calls.take_call(s, nurse, pid, {"symptoms": ["nausea"]},
                                              now=NOW).id
        ids["refill"] = records.create(s, nurse, RefillRecord(
            patient_id=pid, at=NOW - timedelta(days=30), outcome="done",
            withdrawn_ml=Decimal("2.1"), expected_ml=Decimal("2"), added_ml=Decimal(18)),
            now=NOW, patient_id=pid).id
        ids["change"] = records.create(s, doctor, ProgramChange(
            patient_id=pid, at=NOW - timedelta(days=20), outcome="done",
            daily_dose_before_mcg=Decimal(280), daily_dose_after_mcg=Decimal(300)),
            now=NOW, patient_id=pid).id
    return ids


def at(days_ago: int) -> datetime:
    return NOW - timedelta(days=days_ago)


def book(db: ClinicDB, patient_id: int, clinician: str) -> dict[str, object]:
    """A clinician (a new user) and a follow-up booked for the patient tomorrow (no
    interrogation on record: no window but the future)."""
    with db.session() as s:
        users.add_user(s, clinician, "clinician", PASSWORD, now=NOW)
        booked = appointments.book(s, actor("nurse"), patient_id, appointments.Booking(
            "follow_up", (NOW + timedelta(days=1)).isoformat(), clinician), now=NOW)
    return {"appointment": booked.id, "clinician": clinician}
