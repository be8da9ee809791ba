"""The clinic's records as SQLAlchemy 2 tables.

Every clinical table has `deleted_at` (a soft delete: the row stays for the audit, and the
worklists, the record pages and the FHIR export leave it out) and `version` (an optimistic
lock: an update names the version it read, and a stale one is refused with 409).
Quantities are exact (`ExactDecimal`), times aware UTC (`UTCDateTime`), dates plain dates.
The audit trail (`AuditEntry`) is append-only: the service never updates or deletes it,
and the migration adds database triggers that refuse it too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship

from itb.clinic.columns import ExactDecimal, UTCDateTime

ROLES = ("admin", "clinician", "nurse", "viewer", "patient")
ORIGINS = ("spinal", "cerebral")  # of spasticity (itb.therapy titration rules by origin)
VISIT_KINDS = ("interrogation", "refill", "titration", "replacement", "catheter_revision",
               "symptom_call", "screening", "implant", "emergency", "follow_up")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, Decimal: ExactDecimal,
                           dict[str, Any]: JSON, list[Any]: JSON}


class Versioned:
    """A clinical record: soft delete and optimistic locking."""

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))  # role patient
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]


class ApiToken(Base):
    """A programmer's API token: only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # a login's token ends (POST /api/login); a programmer's token (token create) has none
    expires_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Patient(Versioned, Base):
    __tablename__ = "patients"
    mrn: Mapped[str] = mapped_column(String(32), unique=True)  # medical record number
    name: Mapped[str] = mapped_column(String(128))
    date_of_birth: Mapped[date] = mapped_column(Date)
    weight_kg: Mapped[Decimal]
    origin: Mapped[str] = mapped_column(String(16))  # spinal | cerebral
    # T6 or above: at risk of autonomic dysreflexia (boxed warning; itb triage)
    injury_level: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA, for bookings
    refill_interval_days: Mapped[int] = mapped_column(Integer, default=90)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    notes: Mapped[str] = mapped_column(Text, default="")
    implants: Mapped[list[Implant]] = relationship(back_populates="patient",
                                                   order_by="Implant.implanted_on")


class Implant(Versioned, Base):
    """A pump in a patient, from implant to explant (a replacement is a new implant)."""

    __tablename__ = "implants"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    pump_serial: Mapped[str] = mapped_column(String(64), index=True)
    pump_model: Mapped[str] = mapped_column(String(64))
    implanted_on: Mapped[date] = mapped_column(Date)
    catheter_length_cm: Mapped[Decimal | None]
    catheter_volume_ml: Mapped[Decimal | None]
    key_file: Mapped[str | None] = mapped_column(String(512))  # the pump's wand key
    # where the simulated pump is served (itb pump serve), for a visit from the web app
    pump_host: Mapped[str | None] = mapped_column(String(128))
    pump_port: Mapped[int | None] = mapped_column(Integer)
    explanted_on: Mapped[date | None] = mapped_column(Date)
    explant_reason: Mapped[str | None] = mapped_column(String(256))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("implants.id"))
    patient: Mapped[Patient] = relationship(back_populates="implants")


class Prescription(Versioned, Base):
    __tablename__ = "prescriptions"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    drug: Mapped[str] = mapped_column(String(64))
    strength_mcg_per_ml: Mapped[Decimal]
    daily_dose_mcg: Mapped[Decimal]
    program: Mapped[dict[str, Any]] = mapped_column(default=dict)  # simple or flex steps
    max_daily_dose_mcg: Mapped[Decimal | None]
    # a patient bolus (the pump enforces lockout and 24-hour maximum)
    patient_bolus_mcg: Mapped[Decimal | None]
    patient_bolus_lockout_min: Mapped[int | None] = mapped_column(Integer)
    patient_bolus_max_per_day: Mapped[int | None] = mapped_column(Integer)
    # the drug's in-pump stability limit, days (label; the worklist uses it)
    stability_days: Mapped[int | None] = mapped_column(Integer)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    prescriber_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ScreeningTrial(Versioned, Base):
    __tablename__ = "screening_trials"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    # [{"dose_mcg": "50", "at": ISO, "observations": [{"hour": 1, "ashworth": "2", ...}]}]
    boluses: Mapped[list[Any]] = mapped_column(default=list)
    decision: Mapped[str] = mapped_column(String(32))  # implant | no_implant | repeat
    notes: Mapped[str] = mapped_column(Text, default="")


class Visit(Versioned, Base):
    __tablename__ = "visits"
    # a patient's visits newest first (record page, timeline): one index range (rev. 0002)
    __table_args__ = (Index("ix_visits_patient_at", "patient_id", "at"),)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    implant_id: Mapped[int | None] = mapped_column(ForeignKey("implants.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    clinician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)  # programmer's
    ashworth: Mapped[Decimal | None]  # modified Ashworth score, if recorded
    notes: Mapped[str] = mapped_column(Text, default="")


class Interrogation(Versioned, Base):
    """What the pump said at an interrogation: the worklists are computed from the last."""

    __tablename__ = "interrogations"
    # the worklist's "newest live interrogation of this implant" is one index seek
    __table_args__ = (Index("ix_interrogations_latest", "implant_id", "deleted_at", "at", "id"),)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    implant_id: Mapped[int | None] = mapped_column(ForeignKey("implants.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    at: Mapped[datetime] = mapped_column(index=True)  # the programmer's clock
    pump_time: Mapped[datetime | None]
    reservoir_ml: Mapped[Decimal | None]
    strength_mcg_per_ml: Mapped[Decimal | None]
    daily_dose_mcg: Mapped[Decimal | None]
    alarms: Mapped[list[Any]] = mapped_column(default=list)  # [{"name", "critical"}]
    battery: Mapped[str | None] = mapped_column(String(64))
    eri: Mapped[bool] = mapped_column(Boolean, default=False)
    refill_by: Mapped[datetime | None]
    low_alarm_at: Mapped[datetime | None]
    empty_at: Mapped[datetime | None]
    eri_at: Mapped[datetime | None]
    end_of_service_at: Mapped[datetime | None]


class SessionRecord(Versioned):
    """A record a programmer session files (itb.clinic.recording_writers): whose, at which
    visit, when, how it ended (done, stopped, refused, ...) and the journal's details."""

    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RefillRecord(SessionRecord, Base):
    __tablename__ = "refills"
    # the worklist's "last live refill of this patient" is one index seek, and "patients
    # refilled since a day" one range of the second
    __table_args__ = (Index("ix_refills_last", "patient_id", "deleted_at", "outcome", "at"),
                      Index("ix_refills_recent", "deleted_at", "outcome", "at", "patient_id"))
    withdrawn_ml: Mapped[Decimal | None]
    expected_ml: Mapped[Decimal | None]
    discrepancy_ml: Mapped[Decimal | None]
    added_ml: Mapped[Decimal | None]
    strength_mcg_per_ml: Mapped[Decimal | None]
    drug: Mapped[str | None] = mapped_column(String(64))
    lot: Mapped[str | None] = mapped_column(String(64))
    expiry: Mapped[date | None] = mapped_column(Date)
    bridge_bolus_mcg: Mapped[Decimal | None]
    wasted_ml: Mapped[Decimal | None]
    second_checker: Mapped[str | None] = mapped_column(String(64))
    pocket_check: Mapped[str | None] = mapped_column(String(128))


class ImplantStatus(Base):
    """Derived, not a record: per patient's current implant (live patient, live implant in
    place, the newest if a record lists two), its newest live interrogation, last refill,
    current stability limit and the values the worklist's rules list it by
    (itb.clinic.worklist.listing_keys). Kept in the same transaction as every write that
    changes them (itb.clinic.implant_status); never audited, never edited by a service."""

    __tablename__ = "implant_status"
    # each list's most urgent rows are the first of one index, in the worklist's order
    __table_args__ = (Index("ix_implant_status_refill", "refill_due_on", "mrn"),
                      Index("ix_implant_status_replacement", "replacement_due_on", "mrn"),
                      Index("ix_implant_status_seen", "seen_on", "mrn"),
                      Index("ix_implant_status_not_seen", "not_seen_due_on", "mrn"))
    implant_id: Mapped[int] = mapped_column(ForeignKey("implants.id"), primary_key=True,
                                            autoincrement=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    mrn: Mapped[str] = mapped_column(String(32))  # the patient's, the lists' second order
    interrogation_id: Mapped[int | None] = mapped_column(ForeignKey("interrogations.id"))
    last_refill_at: Mapped[datetime | None]
    stability_days: Mapped[int | None] = mapped_column(Integer)
    refill_due_on: Mapped[date] = mapped_column(Date)
    eri: Mapped[bool] = mapped_column(Boolean)
    replacement_due_on: Mapped[date | None] = mapped_column(Date)
    critical_alarms: Mapped[int] = mapped_column(Integer)
    seen_on: Mapped[date | None] = mapped_column(Date)  # the newest live interrogation's
    not_seen_due_on: Mapped[date] = mapped_column(Date)
    # what an entry shows, worded when the row is kept (revision 0008), so that reading a
    # whole list is one read of this table: none of it depends on the day of the reading
    name: Mapped[str] = mapped_column(String(128))  # the patient's
    pump_serial: Mapped[str] = mapped_column(String(64))
    refill_why: Mapped[str] = mapped_column(Text)  # which date decides the refill, and whence
    replacement_reason: Mapped[str | None] = mapped_column(Text)
    # None when there is none: SQL NULL is read without a JSON decode (a list reads most rows)
    critical_alarm_names: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    last_seen_on: Mapped[date] = mapped_column(Date)  # the interrogation's, else the implant's


class ProgramChange(SessionRecord, Base):
    __tablename__ = "program_changes"
    daily_dose_before_mcg: Mapped[Decimal | None]
    daily_dose_after_mcg: Mapped[Decimal | None]
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    override_reason: Mapped[str | None] = mapped_column(Text)


class SessionAct(SessionRecord, Base):
    """Any other recorded act of a programmer session (bolus, stop, resume, alarm ack...)."""

    __tablename__ = "session_acts"
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text, default="")


class SymptomCall(Versioned, Base):
    __tablename__ = "symptom_calls"
    # a patient's symptom calls newest first (record page, timeline) (rev. 0002)
    __table_args__ = (Index("ix_symptom_calls_patient_at", "patient_id", "at"),)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    at: Mapped[datetime]
    symptoms: Mapped[list[Any]] = mapped_column(default=list)
    disposition: Mapped[str] = mapped_column(String(32))  # as itb triage says it
    causes: Mapped[list[Any]] = mapped_column(default=list)
    advice: Mapped[str] = mapped_column(Text, default="")
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Appointment(Versioned, Base):
    """A booked visit (itb.clinic.appointments): the booking window is checked against the
    pump's projection when it is booked; `status` moves booked -> attended/missed/cancelled."""

    __tablename__ = "appointments"
    # a clinician's day (double booking, the day and week views) is one index range
    __table_args__ = (Index("ix_appointments_clinician_start", "clinician_id", "starts_at"),
                      Index("ix_appointments_patient_start", "patient_id", "starts_at"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(32))  # appointments.KINDS
    starts_at: Mapped[datetime]
    minutes: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(128), default="")
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="booked")
    override_reason: Mapped[str | None] = mapped_column(Text)
    # the booking window as checked, in words (shown with the appointment)
    window: Mapped[str] = mapped_column(Text, default="")
    status_at: Mapped[datetime | None]


class Reminder(Base):
    """One message of the reminder outbox: rendered when the visit is booked, sent once.
    (appointment, channel, offset) is unique, so booking never queues the same one twice."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("appointment_id", "channel", "offset_minutes"),
                      Index("ix_reminders_due", "status", "due_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | portal
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    to: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(256), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # sent | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Escalation(Versioned, Base):
    """A missed refill being chased: its urgency from the pump's last interrogation."""

    __tablename__ = "escalations"
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    raised_at: Mapped[datetime]
    urgency: Mapped[str] = mapped_column(String(16))  # critical | high | moderate
    misses_in_a_row: Mapped[int] = mapped_column(Integer, default=1)
    low_alarm_at: Mapped[datetime | None]
    empty_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(256))


class Recording(Base):
    """One programmer journal entry received: (session, sequence) is unique, so a retry or a
    second sync of the same entry is acknowledged without a second record."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]
    entry: Mapped[dict[str, Any]] = mapped_column()
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    # what the entry became, returned again on a repeat (itb.clinic.recording)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    entity: Mapped[str | None] = mapped_column(String(32))  # interrogations, refills, ...
    record_id: Mapped[int | None] = mapped_column(Integer)


class AuditEntry(Base):
    """Append-only: who did what to which record, with before and after."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)  # no FK: survives anything
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create update delete read denied login
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    patient_id: Mapped[int | None] = mapped_column(Integer, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str] = mapped_column(Text, default="")
