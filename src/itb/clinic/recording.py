"""Recording the programmer's sessions: one journal entry becomes one clinic record, once.

The programmer (`itb programmer ... --clinic`, itb.programmer.clinic_feed) and
`itb clinic sync` send each journal entry (itb.programmer.journal.JournalEntry) with its
session id and its sequence number in that session. Here the entry is:

1. checked at the boundary (itb.clinic.recording_values: 422 naming the field);
2. looked up by (session, seq) in `recordings`: an entry recorded before gets its first
   result back (the same ids), never a second record; a different entry under the same
   key is refused (409) and the first is kept;
3. matched to its patient by the pump serial of a current implant (an unknown serial is
   refused, 404, naming the serial: a record is never filed under a guessed patient);
4. filed in the Visit of its session (made at the first entry; its kind follows the visit's
   main act: emergency, refill, titration, else interrogation), as an Interrogation, a
   RefillRecord, a ProgramChange or a SessionAct (every other act: bolus, stop, resume,
   alarm acknowledgement, emergencies, settings, event log reads).

Every write goes through itb.clinic.records (audited with its after-image). The figures are
the pump's own, as the programmer read them (itb.programmer.view): nothing is recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic import recording_values as values
from itb.clinic.access import Actor
from itb.clinic.errors import ClinicError, DuplicateRecord, RecordNotFound
from itb.clinic.models import Implant, Patient, Recording, Visit
from itb.clinic.recording_values import EntryIn, checked_entry
from itb.clinic.recording_writers import WRITERS, write_act

# The visit's kind from its main act; a later, weightier act of the session raises it.
VISIT_KIND = {"emergency": "emergency", "refill": "refill", "program": "titration"}
VISIT_RANK = {"interrogation": 0, "titration": 1, "refill": 2, "emergency": 3}
# What makes two sends the same entry (the body's "format" may differ between versions).
SAME = ("at", "kind", "serial", "pump_time", "outcome", "summary", "details")


class RecordingBusy(ClinicError):
    """The same (session, seq) is being recorded by another request right now: 503, so the
    sender's bounded retry asks again and gets the first result."""

    status = 503
    next_step = "Send the entry again: the clinic then returns the first result."


@dataclass(frozen=True)
class Recorded:
    """What the entry became; a repeat returns the first one's ids with `new` False."""

    recording_id: int
    session: str
    seq: int
    patient_id: int
    visit_id: int
    entity: str
    record_id: int
    new: bool

    def to_json(self) -> dict[str, Any]:
        return {"recording_id": self.recording_id, "session": self.session, "seq": self.seq,
                "patient_id": self.patient_id, "visit_id": self.visit_id,
                "entity": self.entity, "record_id": self.record_id, "new": self.new}


def record_entry(session: Session, actor: Actor, body: dict[str, Any], *,
                 now: datetime) -> Recorded:
    """File one journal entry (with `session` and `seq`), exactly once."""
    records.guard(session, actor, "record_session", None, now=now, entity="recordings")
    entry = checked_entry(body)
    first = session.scalars(select(Recording).where(
        Recording.session_id == entry.session, Recording.seq == entry.seq)).first()
    if first is not None:
        return _repeat(first, entry)
    implant = implant_for(session, entry.serial)
    patient_id = implant.patient_id
    visit = _visit_for(session, actor, entry, implant, now=now)
    entity, record = WRITERS.get(entry.kind, write_act)(session, actor, entry, visit, now=now)
    recording = Recording(session_id=entry.session, seq=entry.seq, serial=entry.serial,
                          kind=entry.kind, received_at=now, entry=entry.body,
                          patient_id=patient_id, visit_id=visit.id, entity=entity,
                          record_id=record.id)
    session.add(recording)
    try:
        session.flush()
    except IntegrityError:  # another request recorded this (session, seq) meanwhile
        raise RecordingBusy(f"Entry {entry.seq} of session {entry.session} is being recorded "
                            "by another request.") from None
    audit.record(session, actor, "create", "recordings", now=now, entity_id=recording.id,
                 patient_id=patient_id, after=audit.snapshot(recording))
    return _result(recording, new=True)


def _result(recording: Recording, *, new: bool) -> Recorded:
    return Recorded(recording.id, recording.session_id, recording.seq,
                    recording.patient_id or 0, recording.visit_id or 0, recording.entity or "",
                    recording.record_id or 0, new)


def _repeat(first: Recording, entry: EntryIn) -> Recorded:
    """The first result again; the same key with other content is refused (409)."""
    sent = {key: entry.body.get(key) for key in SAME}
    kept = {key: first.entry.get(key) for key in SAME}
    if sent != kept:
        raise DuplicateRecord(
            f"Entry {entry.seq} of session {entry.session} was recorded before with other "
            f"content ({first.kind} at {first.entry.get('at')}); the first is kept.",
            "Check the journal: each entry has its own sequence number in its session.")
    return _result(first, new=False)


def implant_for(session: Session, serial: str) -> Implant:
    """The current implant of this pump serial (a live patient's); refused if none."""
    found = session.scalars(
        select(Implant).join(Patient, Implant.patient_id == Patient.id).where(
            Implant.pump_serial == serial, Implant.explanted_on.is_(None),
            Implant.deleted_at.is_(None), Patient.deleted_at.is_(None))
        .order_by(Implant.implanted_on.desc(), Implant.id.desc())).first()
    if found is None:
        raise RecordNotFound(
            f"No patient has the pump with serial {serial!r} implanted: the entry was not "
            "recorded.",
            f"Add the implant (pump serial {serial}) to the patient's record, then send the "
            "journal again with 'itb clinic sync'.")
    return found


def _visit_for(session: Session, actor: Actor, entry: EntryIn, implant: Implant, *,
               now: datetime) -> Visit:
    """The session's visit, made at its first entry; its kind raised by a weightier act."""
    kind = VISIT_KIND.get(entry.kind, "interrogation")
    visit = session.scalars(select(Visit).where(
        Visit.session_id == entry.session, Visit.patient_id == implant.patient_id,
        Visit.deleted_at.is_(None)).order_by(Visit.id)).first()
    if visit is None:
        made = Visit(patient_id=implant.patient_id, implant_id=implant.id, kind=kind,
                     at=entry.at, clinician_id=actor.user_id, session_id=entry.session,
                     notes="recorded from the programmer's session journal")
        return records.create(session, actor, made, now=now, patient_id=implant.patient_id)
    weightier = VISIT_RANK.get(kind, 0) > VISIT_RANK.get(visit.kind, 0)
    if weightier and values.outcome(entry.outcome) == "done":
        records.update(session, actor, visit, {"kind": kind}, now=now,
                       expected_version=visit.version, patient_id=implant.patient_id)
    return visit
