"""Records for the appointment tests: a patient with a pump interrogated at a known time, and
the care team's users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from itb.clinic import users
from itb.clinic.models import Implant, Interrogation, Patient

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class PumpDates:
    """The pump's projection at its interrogation, relative to `at`."""

    # 6 mL at 0.15 mL/day (300 mcg/day at 2000 mcg/mL): empty in 40 days, half of it used
    # (the default waste limit) after 20 days
    refill_by_days: int = 30
    low_alarm_days: int = 33
    empty_days: int = 40
    reservoir_ml: str = "6"
    daily_dose_mcg: str = "300"
    strength: str = "2000"
    eos_days: int = 1500
    eri: bool = False


def add_staff(session: Session, now: datetime) -> None:
    for name, role in (("dr-ames", "clinician"), ("dr-bell", "clinician"),
                       ("nurse-cole", "nurse"), ("viewer-dee", "viewer")):
        users.add_user(session, name, role, PASSWORD, now=now)


def add_patient(session: Session, now: datetime, *, mrn: str = "MRN-5001",
                zone: str = "UTC", at: datetime | None = None,
                dates: PumpDates | None = None, email: str | None = "pat@example.org",
                phone: str | None = "+44 7700 900123") -> int:
    at = at or now - timedelta(days=1)
    d = dates or PumpDates()
    patient = Patient(mrn=mrn, name=f"Pat {mrn}", date_of_birth=date(1970, 1, 2),
                      weight_kg=Decimal(70), origin="spinal", time_zone=zone, email=email,
                      phone=phone, created_at=now)
    session.add(patient)
    session.flush()
    implant = Implant(patient_id=patient.id, pump_serial=f"SN-{mrn}", pump_model="8637-20",
                      implanted_on=date(2024, 1, 1), created_at=now)
    session.add(implant)
    session.flush()
    session.add(Interrogation(
        patient_id=patient.id, implant_id=implant.id, at=at,
        reservoir_ml=Decimal(d.reservoir_ml), strength_mcg_per_ml=Decimal(d.strength),
        daily_dose_mcg=Decimal(d.daily_dose_mcg), alarms=[], battery="OK", eri=d.eri,
        refill_by=at + timedelta(days=d.refill_by_days),
        low_alarm_at=at + timedelta(days=d.low_alarm_days),
        empty_at=at + timedelta(days=d.empty_days),
        end_of_service_at=at + timedelta(days=d.eos_days), created_at=now))
    session.flush()
    return patient.id
