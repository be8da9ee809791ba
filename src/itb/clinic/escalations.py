"""No-shows: a missed refill raises an escalation, chased from the top of the dashboard until
the patient is rebooked or seen.

"Missing a pump refill appointment may lead to baclofen withdrawal" (seed 004). The urgency
comes from the pump, as interrogated last: the days left to its low-reservoir alarm date and
to its projected empty date (the clinic never recomputes the pump's figures); the levels are
the shared rule of `itb.therapy.appointments` (`urgency`), which the fleet studies use too.

An escalation stays open until a refill is booked again or the patient attends (the
appointment services close it), or a refill or interrogation is recorded after the missed
visit (the programmer's feed): the listing leaves those out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.models import Appointment, Escalation, Interrogation, Patient, RefillRecord
from itb.therapy.appointments import LEVELS, days_until, urgency

__all__ = ["CALL_SCRIPT", "LEVELS", "OpenEscalation", "open_escalations", "raise_for_missed",
           "resolve_for_patient", "urgency"]

# What to ask and say on the call (seed 004 "Baclofen withdrawal symptoms"; seed 003, Penn's
# list; domain.md "Withdrawal signs"). The instruction is the seeds' own.
CALL_SCRIPT = (
    "Call the patient (or carer) now: the pump refill was missed.",
    "Ask about signs of baclofen withdrawal: itchy skin, sweating, muscle stiffness or "
    "spasms, low-grade fever, dizziness or light-headedness, seizures (seed 004); nausea, "
    "severe pain at the pump site (seed 003).",
    "If any of these: call emergency services now (seed 004: 'Seek help from a healthcare "
    "provider immediately if you suspect you have baclofen withdrawal').",
    "Ask whether the pump has sounded an alarm (the low-reservoir alarm).",
    "Rebook the refill before the low-reservoir alarm date shown here.",
)


def _misses_in_a_row(session: Session, patient_id: int) -> int:
    """Missed refills since the last one attended."""
    count = 0
    for status in session.scalars(select(Appointment.status).where(
            Appointment.patient_id == patient_id, Appointment.kind == "refill",
            Appointment.deleted_at.is_(None),
            Appointment.status.in_(("attended", "missed")))
            .order_by(Appointment.starts_at.desc())):
        if status != "missed":
            break
        count += 1
    return count


def _phrase(days: Fraction | None, what: str) -> str:
    if days is None:
        return f"no {what} projected"
    whole = int(days)  # toward zero: "3 days" until the 4th begins
    return f"{what} in {whole} days" if days > 0 else f"{what} passed {-whole} days ago"


def raise_for_missed(session: Session, actor: Actor, appointment: Appointment, *,
                     now: datetime) -> Escalation:
    """The escalation of a missed refill (an earlier open one of the patient is superseded)."""
    last = session.scalars(select(Interrogation).where(
        Interrogation.patient_id == appointment.patient_id, Interrogation.deleted_at.is_(None))
        .order_by(Interrogation.at.desc(), Interrogation.id.desc())).first()
    low = None if last is None else last.low_alarm_at
    empty = None if last is None else last.empty_at
    misses = _misses_in_a_row(session, appointment.patient_id)
    resolve_for_patient(session, actor, appointment.patient_id, now=now,
                        resolution=f"superseded: appointment {appointment.id} missed too")
    source = "no interrogation on record" if last is None else \
        f"from the interrogation of {last.at:%Y-%m-%d}"
    reason = (f"Refill of {appointment.starts_at:%Y-%m-%d %H:%M} UTC missed"
              f"{f' ({misses} in a row)' if misses > 1 else ''}: "
              f"{_phrase(days_until(low, now), 'low-reservoir alarm')}, "
              f"{_phrase(days_until(empty, now), 'empty')} ({source}).")
    return records.create(session, actor, Escalation(
        patient_id=appointment.patient_id, appointment_id=appointment.id, raised_at=now,
        urgency=urgency(now, low, empty, misses), misses_in_a_row=misses, low_alarm_at=low,
        empty_at=empty, reason=reason), now=now, patient_id=appointment.patient_id)


def resolve_for_patient(session: Session, actor: Actor, patient_id: int, *, now: datetime,
                        resolution: str) -> list[Escalation]:
    found = list(session.scalars(select(Escalation).where(
        Escalation.patient_id == patient_id, Escalation.resolved_at.is_(None),
        Escalation.deleted_at.is_(None))))
    for escalation in found:
        records.update(session, actor, escalation, {"resolved_at": now,
                                                    "resolution": resolution[:256]},
                       now=now, expected_version=escalation.version, patient_id=patient_id)
    return found


@dataclass(frozen=True)
class OpenEscalation:
    """An escalation as the dashboard shows it, its urgency and days as of now."""

    escalation: Escalation
    patient: Patient
    missed_at: datetime
    urgency: str
    days_to_low_alarm: Fraction | None
    days_to_empty: Fraction | None

    @property
    def left(self) -> str:
        return (f"{_phrase(self.days_to_low_alarm, 'low-reservoir alarm')}; "
                f"{_phrase(self.days_to_empty, 'empty')}")


def open_escalations(session: Session, actor: Actor, *, now: datetime) -> list[OpenEscalation]:
    """The open escalations, most urgent first (then soonest empty); the read is audited."""
    records.guard(session, actor, "read_worklist", None, now=now, entity="escalations")
    seen_since = exists().where(Interrogation.patient_id == Escalation.patient_id,
                                Interrogation.deleted_at.is_(None),
                                Interrogation.at > Appointment.starts_at)
    refilled_since = exists().where(RefillRecord.patient_id == Escalation.patient_id,
                                    RefillRecord.deleted_at.is_(None),
                                    RefillRecord.at > Appointment.starts_at)
    rows = session.execute(
        select(Escalation, Patient, Appointment.starts_at)
        .join(Patient, Patient.id == Escalation.patient_id)
        .join(Appointment, Appointment.id == Escalation.appointment_id)
        .where(Escalation.resolved_at.is_(None), Escalation.deleted_at.is_(None),
               Patient.deleted_at.is_(None), ~seen_since, ~refilled_since))
    found = [OpenEscalation(e, p, missed, urgency(now, e.low_alarm_at, e.empty_at,
                                                  e.misses_in_a_row),
                            days_until(e.low_alarm_at, now), days_until(e.empty_at, now))
             for e, p, missed in rows]
    never = Fraction(10**9)
    found.sort(key=lambda o: (LEVELS.index(o.urgency),
                              never if o.days_to_empty is None else o.days_to_empty,
                              o.patient.mrn))
    audit.record(session, actor, "read", "escalations", now=now,
                 detail=f"{len(found)} open")
    return found
