"""Helpers of the feed tests: a clinic with the in-process pump's patient, and a programmer
visit whose every journal entry is recorded straight into that clinic (no HTTP)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.clinic.conftest import NOW, actor
from tests.programmer.conftest import SERIAL, InProcessPump

from itb.clinic import patients, recording
from itb.clinic.db import ClinicDB
from itb.clinic.models import Patient
from itb.programmer.clinic_feed import entry_body
from itb.programmer.journal import JournalEntry
from itb.programmer.workflows.visit import Visit

MRN = "MRN-FEED-1"


def add_patient(db: ClinicDB, serial: str = SERIAL, mrn: str = MRN) -> int:
    """A patient with the pump `serial` implanted; returns the patient's id."""
    admin = actor("admin")
    with db.session() as s:
        patient = patients.create_patient(s, admin, {
            "mrn": mrn, "name": "Ada Feed", "date_of_birth": date(1980, 5, 1),
            "weight_kg": Decimal("70"), "origin": "spinal"}, now=NOW)
        patients.add_implant(s, admin, patient.id, {
            "pump_serial": serial, "pump_model": "synchromed-ii-20",
            "implanted_on": date(2026, 1, 5)}, now=NOW)
        return patient.id


def recorded_visit(db: ClinicDB, wand: InProcessPump, journal: Path,
                   role: str = "nurse") -> tuple[Visit, list[recording.Recorded]]:
    """A visit whose recorder files each entry at the clinic as soon as it is journaled."""
    results: list[recording.Recorded] = []

    def recorder(entry: JournalEntry) -> None:
        with db.session() as s:
            results.append(recording.record_entry(s, actor(role), entry_body(entry), now=NOW))

    return Visit(wand.open_session, journal, recorder=recorder), results


def patient(db: ClinicDB, patient_id: int) -> Patient:
    with db.session() as s:
        found = s.get(Patient, patient_id)
        assert found is not None
        return found
