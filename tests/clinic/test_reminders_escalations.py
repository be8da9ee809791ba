"""Reminders (queued at the offsets, sent exactly once under retries, cancelled with the
visit) and no-shows (an escalation from the pump's dates, kept until rebooked or seen; a
patient who misses two visits in a row)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.clinic.appts_records import add_patient, add_staff
from tests.clinic.conftest import NOW, actor

from itb.clinic import appointments, escalations, reminders
from itb.clinic.appointments import Booking
from itb.clinic.db import ClinicDB
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Appointment, Interrogation, Reminder
from itb.clinic.reminders import FileSender, ReminderPolicy

NURSE = actor("nurse")
AT = NOW - timedelta(days=1)


def _setup(db: ClinicDB) -> int:
    with db.session() as s:
        add_staff(s, NOW)
        return add_patient(s, NOW, at=AT)


def _book(db: ClinicDB, patient: int, days: float, *, now=NOW,  # type: ignore[no-untyped-def]
          reason: str | None = None, policy: ReminderPolicy | None = None) -> Appointment:
    with db.session() as s:
        return appointments.book(s, NURSE, patient, Booking(
            "refill", AT + timedelta(days=days), "nurse-cole", "Clinic 2", reason), now=now,
            reminder_policy=policy)


def _mark(db: ClinicDB, appointment: Appointment, status: str, now) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        appointments.set_status(s, NURSE, appointment.id, status,
                                version=appointment.version, now=now)


def test_reminders_are_queued_at_each_offset_on_each_channel(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    visit = _book(clinic_db, patient, 25)
    with clinic_db.session() as s:
        queued = s.scalars(select(Reminder).order_by(Reminder.due_at, Reminder.channel)).all()
    assert {(r.channel, r.offset_minutes) for r in queued} == {
        (c, o) for c in ("email", "sms", "portal") for o in (7 * 24 * 60, 24 * 60)}
    assert all(r.due_at == visit.starts_at - timedelta(minutes=r.offset_minutes)
               for r in queued)
    email = next(r for r in queued if r.channel == "email")
    assert "baclofen withdrawal" in email.body and "Clinic 2" in email.body
    assert "2026-12-24 09:00 UTC" in email.subject


def test_an_offset_already_past_at_booking_is_not_queued(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    _book(clinic_db, patient, 22, now=AT + timedelta(days=19),
          policy=ReminderPolicy((7 * 24 * 60, 24 * 60, 60)))
    with clinic_db.session() as s:
        offsets = set(s.scalars(select(Reminder.offset_minutes)))
    assert offsets == {24 * 60, 60}


class FailsAfterWriting(FileSender):
    """Delivers (the file is written), then fails, as a gateway whose answer is lost."""

    failures = 1

    def deliver(self, key: str, channel: str, to: str, subject: str, body: str) -> None:
        super().deliver(key, channel, to, subject, body)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the gateway's answer was lost")


@pytest.mark.req("REQ-CLINIC-REMINDER-ONCE")
def test_a_reminder_is_sent_exactly_once_when_the_sender_fails_after_writing(
        clinic_db: ClinicDB, tmp_path: Path) -> None:
    with clinic_db.session() as s:
        add_staff(s, NOW)
        patient = add_patient(s, NOW, at=AT, phone=None)
    visit = _book(clinic_db, patient, 25, policy=ReminderPolicy((24 * 60,)))
    due = visit.starts_at - timedelta(days=1)
    sender = FailsAfterWriting(tmp_path / "outbox")
    first = reminders.send_due(clinic_db, sender, now=due)
    assert (first.sent, first.failed) == (1, 1)  # the portal's, and the e-mail that failed
    again = reminders.send_due(clinic_db, sender, now=due + timedelta(minutes=5))
    assert (again.sent, again.failed) == (1, 0)
    assert reminders.send_due(clinic_db, sender, now=due + timedelta(minutes=9)).sent == 0
    files = sorted((tmp_path / "outbox").glob("*.txt"))
    assert len(files) == 1 and "To: pat@example.org" in files[0].read_text()
    with clinic_db.session() as s:
        email = s.scalars(select(Reminder).where(Reminder.channel == "email")).one()
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, None)


def test_nothing_is_sent_before_it_is_due_nor_for_a_cancelled_visit(
        clinic_db: ClinicDB, tmp_path: Path) -> None:
    patient = _setup(clinic_db)
    visit = _book(clinic_db, patient, 25)
    sender = FileSender(tmp_path / "outbox")
    assert reminders.send_due(clinic_db, sender, now=NOW).sent == 0
    _mark(clinic_db, visit, "cancelled", NOW)
    assert reminders.send_due(clinic_db, sender, now=visit.starts_at).sent == 0
    assert not (tmp_path / "outbox").exists()


@pytest.mark.req("REQ-CLINIC-NO-SHOW")
def test_a_patient_who_misses_two_refills_in_a_row_is_escalated_twice_and_more_urgently(
        clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    first = _book(clinic_db, patient, 27)
    after_first = first.starts_at + timedelta(hours=2)
    with clinic_db.session() as s:
        missed = appointments.sweep_missed(s, NURSE, now=after_first)
    assert [a.id for a in missed] == [first.id]
    with clinic_db.session() as s:
        [one] = escalations.open_escalations(s, NURSE, now=after_first)
    assert one.urgency == "high"  # the low-reservoir alarm 6 days after the visit (33 - 27)
    assert one.days_to_low_alarm is not None and 5 < one.days_to_low_alarm < 6
    assert "low-reservoir alarm in 5 days" in one.left and "empty in 12 days" in one.left
    second = _book(clinic_db, patient, 30, now=after_first, reason="rebook after no-show")
    with clinic_db.session() as s:  # rebooked: the first escalation closes
        assert escalations.open_escalations(s, NURSE, now=after_first) == []
    after_second = second.starts_at + timedelta(hours=2)
    _mark(clinic_db, second, "missed", after_second)
    with clinic_db.session() as s:
        [two] = escalations.open_escalations(s, NURSE, now=after_second)
    assert two.escalation.misses_in_a_row == 2 and two.urgency == "critical"
    assert "2 in a row" in two.escalation.reason
    with clinic_db.session() as s:  # seen: an interrogation recorded after the miss
        s.add(Interrogation(patient_id=patient, at=after_second + timedelta(hours=1),
                            alarms=[], created_at=after_second))
    with clinic_db.session() as s:
        assert escalations.open_escalations(s, NURSE,
                                            now=after_second + timedelta(hours=2)) == []


def test_a_visit_cannot_be_marked_missed_before_it_starts(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    visit = _book(clinic_db, patient, 25)
    with pytest.raises(InvalidRecord) as refused:
        _mark(clinic_db, visit, "missed", NOW)
    assert refused.value.field == "status"


def test_attending_closes_the_escalation(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    visit = _book(clinic_db, patient, 25)
    _mark(clinic_db, visit, "missed", visit.starts_at + timedelta(hours=1))
    urgent = _book(clinic_db, patient, 26, now=visit.starts_at + timedelta(hours=1))
    _mark(clinic_db, urgent, "attended", urgent.starts_at)
    with clinic_db.session() as s:
        assert escalations.open_escalations(s, NURSE, now=urgent.starts_at) == []


def test_the_urgency_comes_from_the_pumps_dates() -> None:
    low, empty = NOW + timedelta(days=10), NOW + timedelta(days=20)
    assert escalations.urgency(NOW, low, empty) == "moderate"
    assert escalations.urgency(NOW + timedelta(days=3), low, empty) == "high"
    assert escalations.urgency(NOW + timedelta(days=10), low, empty) == "critical"
    assert escalations.urgency(NOW, None, None) == "high"
    assert escalations.urgency(NOW, low, empty, misses_in_a_row=2) == "critical"
