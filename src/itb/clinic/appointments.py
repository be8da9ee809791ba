"""Appointments: book a visit (checked against the pump's projection, itb.clinic
.booking_window), refuse double booking (409), mark it attended, missed or cancelled, and list
a clinician's day or week. Services are `(session, actor, ..., now=...)`; every write goes
through `records` (audited). Queuing reminders (itb.clinic.reminders) and raising a no-show
escalation (itb.clinic.escalations) happen in the same transaction as the booking or the
status change, so neither is half-written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit, checks, clinical, escalations, records, reminders
from itb.clinic.access import Actor
from itb.clinic.booking_window import (
    BookingPolicy,
    Projection,
    check_start,
    local,
    local_start,
    window_for,
)
from itb.clinic.errors import ClinicError, InvalidRecord
from itb.clinic.models import Appointment, Interrogation, Patient, User

KINDS = ("refill", "titration", "replacement", "catheter_check", "follow_up")
STATUSES = ("booked", "attended", "missed", "cancelled")
# how long each kind takes, minutes (itb's slots, *unconfirmed*; a refill itself takes about
# 15 minutes in the office: domain.md [000, 002, 004])
MINUTES = {"refill": 30, "titration": 30, "replacement": 120, "catheter_check": 60,
           "follow_up": 30}
LONGEST = max(MINUTES.values())
# who may be booked for each kind: a titration and a replacement are a prescriber's (a
# surgeon's) acts (access.py: program_pump); a nurse may refill (refill_pump)
CLINICIAN_ROLES = {"refill": ("clinician", "nurse"), "titration": ("clinician",),
                   "replacement": ("clinician",), "catheter_check": ("clinician",),
                   "follow_up": ("clinician", "nurse")}
PLACE_CHARS = 128
REASON_CHARS = 1000


class SlotTaken(ClinicError):
    """409: the clinician (or the patient) is already booked at that time."""

    status = 409
    next_step = "Choose another time (the day view lists the clinician's bookings)."


@dataclass(frozen=True)
class Booking:
    """What to book, as the shells give it (checked by `book`)."""

    kind: str
    starts_at: object  # ISO text (with an offset, or local to the patient) or a datetime
    clinician: str  # username
    place: str = ""
    override_reason: str | None = None


def last_projection(session: Session, patient_id: int) -> Projection | None:
    """The pump's projection at the patient's newest live interrogation (None: never)."""
    g = session.scalars(select(Interrogation).where(
        Interrogation.patient_id == patient_id, Interrogation.deleted_at.is_(None))
        .order_by(Interrogation.at.desc(), Interrogation.id.desc())).first()
    if g is None:
        return None
    return Projection(at=g.at, reservoir_ml=g.reservoir_ml,
                      strength_mcg_per_ml=g.strength_mcg_per_ml,
                      daily_dose_mcg=g.daily_dose_mcg, refill_by=g.refill_by,
                      low_alarm_at=g.low_alarm_at, empty_at=g.empty_at, eri=bool(g.eri),
                      eri_at=g.eri_at, end_of_service_at=g.end_of_service_at)


def _clinician(session: Session, username: object, kind: str) -> User:
    roles = CLINICIAN_ROLES[kind]
    allowed = f"the username of an active user with the role {' or '.join(roles)}"
    if not isinstance(username, str):
        raise InvalidRecord("clinician", username, allowed)
    # locked until the transaction ends (PostgreSQL: SELECT ... FOR UPDATE), so two bookings
    # of one clinician are checked one after the other, never side by side
    user = session.scalars(select(User).where(User.username == username.strip())
                           .with_for_update()).first()
    if user is None or not user.active or user.role not in roles:
        raise InvalidRecord("clinician", username, allowed)
    return user


def _overlapping(session: Session, column: Any, owner: int, start: datetime,
                 minutes: int, skip: int | None = None) -> Appointment | None:
    end = start + timedelta(minutes=minutes)
    for other in session.scalars(select(Appointment).where(
            column == owner, Appointment.status == "booked", Appointment.deleted_at.is_(None),
            Appointment.starts_at < end,
            Appointment.starts_at > start - timedelta(minutes=LONGEST))):
        if other.id != skip and other.starts_at + timedelta(minutes=other.minutes) > start:
            return other
    return None


def book(session: Session, actor: Actor, patient_id: int, booking: Booking, *,
         now: datetime, policy: BookingPolicy | None = None,
         reminder_policy: reminders.ReminderPolicy | None = None) -> Appointment:
    """Book a visit: 422 outside the booking window (or without a needed override reason),
    409 if the clinician or the patient is already booked then. Queues its reminders, and a
    refill booked after a missed one closes that no-show's escalation (rebooked)."""
    clinical.may(session, actor, Appointment, patient_id, now=now)
    patient = records.live(session, Patient, patient_id)
    kind = checks.choice("kind", booking.kind, KINDS)
    starts_at = local_start(booking.starts_at, patient.time_zone)
    place = checks.text("place", booking.place or "", most=PLACE_CHARS)
    reason = checks.optional_text("override_reason", booking.override_reason,
                                  most=REASON_CHARS)
    clinician = _clinician(session, booking.clinician, kind)
    window = window_for(kind, last_projection(session, patient_id), now,
                        policy or BookingPolicy())
    checked = check_start(window, kind, starts_at, now, reason)
    minutes = MINUTES[kind]
    for column, owner, who in ((Appointment.clinician_id, clinician.id, clinician.username),
                               (Appointment.patient_id, patient_id, patient.mrn)):
        other = _overlapping(session, column, owner, starts_at, minutes)
        if other is not None:
            raise SlotTaken(f"{who} is already booked from {other.starts_at:%Y-%m-%d %H:%M} "
                            f"UTC for {other.minutes} minutes (appointment {other.id}); a "
                            f"{kind} at {starts_at:%Y-%m-%d %H:%M} UTC would overlap it.")
    appointment = clinical.add(session, actor, Appointment(
        patient_id=patient_id, kind=kind, starts_at=starts_at, minutes=minutes, place=place,
        clinician_id=clinician.id, status="booked", override_reason=reason, window=checked),
        now=now)
    reminders.queue(session, appointment, patient, clinician.username, now=now,
                    policy=reminder_policy)
    if kind == "refill":
        escalations.resolve_for_patient(session, actor, patient_id, now=now,
                                        resolution=f"rebooked: appointment {appointment.id}")
    return appointment


def set_status(session: Session, actor: Actor, appointment_id: int, status: str, *,
               version: int, now: datetime) -> Appointment:
    """Mark a booked visit attended or missed (once it has started) or cancelled. A missed
    refill raises an escalation; an attended one closes the patient's open escalations."""
    appointment = clinical.loaded(session, actor, Appointment, appointment_id,
                                  "write_record", now=now)
    checks.choice("status", status, ("attended", "missed", "cancelled"))
    if appointment.status != "booked":
        raise InvalidRecord("status", status, f"nothing: appointment {appointment_id} is "
                            f"already {appointment.status}")
    if status != "cancelled" and now < appointment.starts_at:
        raise InvalidRecord("status", status, "cancelled before the visit's start "
                            f"({appointment.starts_at:%Y-%m-%d %H:%M} UTC)")
    clinical.change(session, actor, appointment, {"status": status, "status_at": now},
                    version=version, now=now)
    reminders.cancel_pending(session, appointment.id)
    if status == "missed" and appointment.kind == "refill":
        escalations.raise_for_missed(session, actor, appointment, now=now)
    if status == "attended":
        escalations.resolve_for_patient(session, actor, appointment.patient_id, now=now,
                                        resolution=f"seen: appointment {appointment.id}")
    return appointment


def sweep_missed(session: Session, actor: Actor, *, now: datetime,
                 grace_minutes: int = 60) -> list[Appointment]:
    """Mark missed every booked visit that ended more than `grace_minutes` ago and was not
    marked attended (a refill's escalation is raised by `set_status`)."""
    checks.whole("grace_minutes", grace_minutes, 0, 24 * 60, unit="minutes")
    records.guard(session, actor, "write_record", None, now=now, entity="appointments")
    cutoff = now - timedelta(minutes=grace_minutes)
    missed = []
    for appointment in list(session.scalars(select(Appointment).where(
            Appointment.status == "booked", Appointment.deleted_at.is_(None),
            Appointment.starts_at < cutoff).order_by(Appointment.starts_at))):
        if appointment.starts_at + timedelta(minutes=appointment.minutes) <= cutoff:
            missed.append(set_status(session, actor, appointment.id, "missed",
                                     version=appointment.version, now=now))
    return missed


def for_patient(session: Session, actor: Actor, patient_id: int, *,
                now: datetime) -> list[Appointment]:
    return clinical.list_for_patient(session, actor, Appointment, patient_id, now=now,
                                     order=Appointment.starts_at)


def read_appointment(session: Session, actor: Actor, appointment_id: int, *,
                     now: datetime) -> Appointment:
    return clinical.read_one(session, actor, Appointment, appointment_id, now=now)


@dataclass(frozen=True)
class Slot:
    """One line of the day or week view."""

    appointment: Appointment
    patient: Patient
    clinician: str
    local_start: str  # in the patient's zone


def schedule(session: Session, actor: Actor, first_day: date, days: int, *, now: datetime,
             clinician: str | None = None) -> list[Slot]:
    """The clinic's visits from `first_day` (UTC) for `days` days (1: a day, 7: a week), per
    clinician; the read is audited."""
    records.guard(session, actor, "read_worklist", None, now=now, entity="appointments")
    checks.whole("days", days, 1, 31, unit="days")
    start = datetime.combine(first_day, datetime.min.time()).replace(tzinfo=now.tzinfo)
    query = (select(Appointment, Patient, User)
             .join(Patient, Patient.id == Appointment.patient_id)
             .join(User, User.id == Appointment.clinician_id)
             .where(Appointment.deleted_at.is_(None), Patient.deleted_at.is_(None),
                    Appointment.starts_at >= start,
                    Appointment.starts_at < start + timedelta(days=days))
             .order_by(User.username, Appointment.starts_at))
    if clinician:
        query = query.where(User.username == clinician)
    slots = [Slot(a, p, u.username, local(a.starts_at, p.time_zone))
             for a, p, u in session.execute(query)]
    audit.record(session, actor, "read", "appointments", now=now,
                 detail=f"{days} day(s) from {first_day}: {len(slots)}")
    return slots
