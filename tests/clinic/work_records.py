"""Records for the worklist and FHIR tests: a patient with an implant, a prescription, and
the interrogations, refills and visits a test names (added straight to the session: these
tests read records, the write services have their own tests)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session
from tests.clinic.conftest import NOW

from itb.clinic.models import Implant, Interrogation, Patient, Prescription, RefillRecord


def add_patient(s: Session, mrn: str, *, implanted_on: date = date(2026, 11, 1),
                serial: str | None = None, interval: int = 90,
                stability_days: int | None = 180) -> tuple[Patient, Implant]:
    patient = Patient(mrn=mrn, name=f"Pat {mrn}", date_of_birth=date(1970, 5, 6),
                      weight_kg=Decimal("72.5"), origin="spinal", refill_interval_days=interval,
                      created_at=NOW)
    s.add(patient)
    s.flush()
    implant = Implant(patient_id=patient.id, pump_serial=serial or f"SN-{mrn}",
                      pump_model="8637-20", implanted_on=implanted_on,
                      catheter_length_cm=Decimal("50"), catheter_volume_ml=Decimal("0.13"),
                      created_at=NOW)
    s.add(implant)
    s.add(Prescription(patient_id=patient.id, drug="baclofen",
                       strength_mcg_per_ml=Decimal("2000"), daily_dose_mcg=Decimal("300"),
                       stability_days=stability_days, started_on=implanted_on, created_at=NOW))
    s.flush()
    return patient, implant


def interrogate(s: Session, patient: Patient, implant: Implant, at: datetime,
                **fields: Any) -> Interrogation:
    """An interrogation at `at`; dates far in the future unless the test names them."""
    far = NOW + timedelta(days=400)
    values: dict[str, Any] = {"refill_by": far, "low_alarm_at": far, "empty_at": far,
                              "end_of_service_at": NOW + timedelta(days=2000),
                              "reservoir_ml": Decimal("14.2"),
                              "strength_mcg_per_ml": Decimal("2000"),
                              "daily_dose_mcg": Decimal("300"), "alarms": [], "eri": False}
    values.update(fields)
    row = Interrogation(patient_id=patient.id, implant_id=implant.id, at=at, created_at=NOW,
                        **values)
    s.add(row)
    s.flush()
    return row


def refill(s: Session, patient: Patient, at: datetime, **fields: Any) -> RefillRecord:
    values: dict[str, Any] = {"outcome": "done", "withdrawn_ml": Decimal("3.1"),
                              "expected_ml": Decimal("3.0"), "discrepancy_ml": Decimal("0.1"),
                              "added_ml": Decimal("18"), "strength_mcg_per_ml": Decimal("2000"),
                              "drug": "baclofen"}
    values.update(fields)
    row = RefillRecord(patient_id=patient.id, at=at, created_at=NOW, **values)
    s.add(row)
    s.flush()
    return row
