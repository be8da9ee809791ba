"""The reminder outbox: messages rendered from templates (reminder_templates/*.j2) when a
visit is booked, kept in the database (`reminders`), and sent once each when due.

Channels: e-mail (if the patient has an address), SMS (if a phone number) and the patient's
portal (always; "sending" it is showing it on the portal, so it needs no sender). The
offsets before the visit are configurable (`ReminderPolicy`; default 7 days and 1 day,
*unconfirmed*: itb's choice). An offset already past when the visit is booked is not queued
(`itb.therapy.appointments.reminder_times`, the rule the fleet studies share).

Exactly once: the database cannot know whether a sender that failed had already delivered
the message, so a sender must be idempotent on the message's key (`reminder-<id>`): the file
sender writes `<key>.txt` with an exclusive create, and a second delivery of the same key
finds the file and does nothing. A retry after a failure therefore never doubles a message
(a real e-mail or SMS gateway is given the key as its idempotency key).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.booking_window import local
from itb.clinic.models import Appointment, Patient, Reminder
from itb.therapy.appointments import DEFAULT_OFFSETS_MINUTES, reminder_times

if TYPE_CHECKING:
    from itb.clinic.db import ClinicDB

CHANNELS = ("email", "sms", "portal")
WHAT = {"refill": "pump refill", "titration": "dose titration",
        "replacement": "pump replacement", "catheter_check": "catheter check",
        "follow_up": "follow-up"}
_TEMPLATES = Environment(loader=PackageLoader("itb.clinic", "reminder_templates"),
                         autoescape=False, undefined=StrictUndefined,  # plain text, not HTML
                         keep_trailing_newline=True)


@dataclass(frozen=True)
class ReminderPolicy:
    offsets_minutes: tuple[int, ...] = DEFAULT_OFFSETS_MINUTES


class Sender(Protocol):
    """Delivers one message; must be idempotent on `key` (see the module's docstring)."""

    def deliver(self, key: str, channel: str, to: str, subject: str, body: str) -> None: ...


@dataclass
class FileSender:
    """The default sender: each message a file in `folder`, nothing leaves the machine."""

    folder: Path

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.txt"

    def deliver(self, key: str, channel: str, to: str, subject: str, body: str) -> None:
        target = self.path(key)
        if target.exists():
            return  # delivered before (a retry after a failure): not again
        self.folder.mkdir(parents=True, exist_ok=True)
        text = f"Channel: {channel}\nTo: {to}\nSubject: {subject}\n\n{body}"
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".part-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # another delivery won: one file
                os.link(temporary, target)  # exclusive, unlike a rename
        finally:
            os.unlink(temporary)


def render(channel: str, context: dict[str, object]) -> tuple[str, str]:
    """(subject, body) of one message."""
    subject = _TEMPLATES.get_template("subject.j2").render(context).strip()
    body = _TEMPLATES.get_template(f"{channel}.j2").render(context)
    return ("" if channel == "sms" else subject), body


def _addresses(patient: Patient) -> list[tuple[str, str]]:
    found = [("portal", f"portal:{patient.mrn}")]
    if patient.email:
        found.insert(0, ("email", patient.email))
    if patient.phone:
        found.insert(1 if patient.email else 0, ("sms", patient.phone))
    return found


def queue(session: Session, appointment: Appointment, patient: Patient, clinician: str, *,
          now: datetime, policy: ReminderPolicy | None = None) -> list[Reminder]:
    """Render and queue the visit's reminders (in the booking's transaction)."""
    context = {"name": patient.name, "what": WHAT[appointment.kind], "kind": appointment.kind,
               "when": local(appointment.starts_at, patient.time_zone),
               "place": appointment.place, "clinician": clinician}
    made = []
    offsets = (policy or ReminderPolicy()).offsets_minutes
    for offset, due in reminder_times(appointment.starts_at, now, offsets):
        for channel, to in _addresses(patient):
            subject, body = render(channel, context)
            made.append(Reminder(appointment_id=appointment.id, patient_id=patient.id,
                                 channel=channel, offset_minutes=offset, due_at=due, to=to,
                                 subject=subject, body=body, status="pending", attempts=0,
                                 created_at=now))
    session.add_all(made)
    session.flush()
    return made


def cancel_pending(session: Session, appointment_id: int) -> None:
    """A visit no longer booked: its unsent reminders are not sent."""
    session.execute(update(Reminder).where(Reminder.appointment_id == appointment_id,
                                           Reminder.status == "pending")
                    .values(status="cancelled"))


def key_of(reminder: Reminder) -> str:
    return f"reminder-{reminder.id}"


@dataclass(frozen=True)
class SendReport:
    sent: int
    failed: int


def _due_ids(db: ClinicDB, now: datetime) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(Reminder.id).join(
            Appointment, Appointment.id == Reminder.appointment_id).where(
            Reminder.status == "pending", Reminder.due_at <= now,
            Appointment.status == "booked", Appointment.deleted_at.is_(None))
            .order_by(Reminder.due_at, Reminder.id)))


def send_due(db: ClinicDB, sender: Sender, *, now: datetime) -> SendReport:
    """Send every pending reminder due by `now`, each in its own transaction: delivered,
    then marked sent. A failure is kept on the message (attempts, last error) and the next
    run tries again; the sender's idempotency keeps that from doubling the message."""
    sent = failed = 0
    for reminder_id in _due_ids(db, now):
        try:
            with db.session() as session:
                reminder = session.get(Reminder, reminder_id, with_for_update=True)
                if reminder is None or reminder.status != "pending":
                    continue  # another run sent it meanwhile
                reminder.attempts += 1
                if reminder.channel != "portal":  # the portal shows it: nothing to deliver
                    sender.deliver(key_of(reminder), reminder.channel, reminder.to,
                                   reminder.subject, reminder.body)
                reminder.status, reminder.sent_at, reminder.last_error = "sent", now, None
            sent += 1
        except Exception as error:
            failed += 1
            with db.session() as session:
                kept = session.get(Reminder, reminder_id)
                if kept is not None:
                    kept.attempts += 1
                    kept.last_error = f"{type(error).__name__}: {error}"[:1000]
    return SendReport(sent, failed)


def outbox(session: Session, *, limit: int = 500) -> list[Reminder]:
    """The newest messages (the web app's outbox page; the caller checks the role)."""
    return list(session.scalars(select(Reminder).order_by(Reminder.due_at.desc(),
                                                          Reminder.id.desc()).limit(limit)))


def read_outbox(session: Session, actor: Actor, *, now: datetime,
                limit: int = 500) -> list[Reminder]:
    """The outbox for the care team (role checked, the read audited)."""
    records.guard(session, actor, "read_worklist", None, now=now, entity="reminders")
    messages = outbox(session, limit=limit)
    audit.record(session, actor, "read", "reminders", now=now,
                 detail=f"outbox: {len(messages)}")
    return messages


def portal_messages(session: Session, patient_id: int, *, limit: int = 20) -> list[Reminder]:
    """What the patient's portal shows: the portal reminders sent to them."""
    return list(session.scalars(select(Reminder).where(
        Reminder.patient_id == patient_id, Reminder.channel == "portal",
        Reminder.status == "sent").order_by(Reminder.sent_at.desc()).limit(limit)))
