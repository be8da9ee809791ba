"""The demo clinic's appointments (`itb clinic demo`): a refill booked for each of the first
patients through the same booking rules as the care team's (itb.clinic.appointments), and
every fourth one booked in the past and missed, so the dashboard has escalations to chase."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import appointments
from itb.clinic.db import ClinicDB
from itb.clinic.demo import DEMO
from itb.clinic.errors import ClinicError
from itb.clinic.models import Patient

MOST = 12  # patients given appointments (the rest of a large demo has none)
MISSED_EVERY = 4


def _book_missed(session: Session, patient: Patient, index: int, now: datetime) -> None:
    start = (now - timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0) \
        + timedelta(minutes=30 * index)
    booked = appointments.book(session, DEMO, patient.id, appointments.Booking(
        "refill", start, "nurse", "Demo clinic, room 1", "demo history: booked earlier"),
        now=start - timedelta(days=1))
    appointments.set_status(session, DEMO, booked.id, "missed", version=booked.version,
                            now=now)


def _book_next(session: Session, patient: Patient, index: int, now: datetime) -> None:
    projection = appointments.last_projection(session, patient.id)
    if projection is None or projection.refill_by is None:
        return
    target = max(projection.refill_by - timedelta(days=1), now + timedelta(days=1))
    start = target.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(
        minutes=30 * index)
    reason = None if start <= projection.refill_by else "demo: refill overdue, first slot"
    appointments.book(session, DEMO, patient.id, appointments.Booking(
        "refill", start, "clinician", "Demo clinic, room 2", reason), now=now)


def add_demo_appointments(db: ClinicDB, now: datetime) -> int:
    """Book the demo's appointments (a booking the rules refuse is left out); how many."""
    made = 0
    with db.session() as session:
        patients = list(session.scalars(select(Patient).where(Patient.deleted_at.is_(None))
                                        .order_by(Patient.id).limit(MOST)))
        for index, patient in enumerate(patients):
            act = _book_missed if index % MISSED_EVERY == MISSED_EVERY - 1 else _book_next
            try:
                with session.begin_nested():
                    act(session, patient, index, now)
                made += 1
            except ClinicError:
                continue  # e.g. a pump past its low-reservoir alarm: the rules say no
    return made
