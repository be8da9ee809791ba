"""Visits of every kind (refill, titration, replacement, catheter revision, symptom call,
...): when, with which pump, by whom, the Ashworth grade if assessed, and notes."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from itb.clinic import checks, clinical, records
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import VISIT_KINDS, Implant, Patient, Visit
from itb.therapy.screening import ASHWORTH_GRADES

FIELDS = ("kind", "at", "implant_id", "session_id", "ashworth", "notes")
# A visit may be booked ahead; itb keeps a year (*unconfirmed*).
AHEAD = timedelta(days=366)


def ashworth_points(grade: str) -> Decimal:
    """The Modified Ashworth grade as stored ("1+" counts 1.5, itb.therapy.screening)."""
    points = ASHWORTH_GRADES[grade]
    return Decimal(points.numerator) / Decimal(points.denominator)


def ashworth_grade(points: Decimal | None) -> str | None:
    if points is None:
        return None
    return next(g for g, p in ASHWORTH_GRADES.items()
                if Decimal(p.numerator) / Decimal(p.denominator) == points)


def checked_fields(session: Session, patient_id: int, fields: dict[str, Any], *,
                   now: datetime) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidRecord(unknown[0], fields[unknown[0]], "not a field of a visit")
    out: dict[str, Any] = {}
    if "kind" in fields:
        out["kind"] = checks.choice("kind", fields["kind"], VISIT_KINDS)
    if "at" in fields:
        out["at"] = checks.moment("at", fields["at"], latest=now + AHEAD)
    if fields.get("implant_id") is not None:
        implant_id = checks.whole("implant_id", fields["implant_id"], 1, 2**31 - 1)
        implant = session.get(Implant, implant_id)
        if implant is None or implant.deleted_at is not None or implant.patient_id != patient_id:
            raise InvalidRecord("implant_id", implant_id, "the id of this patient's implant")
        out["implant_id"] = implant_id
    elif "implant_id" in fields:
        out["implant_id"] = None
    if "session_id" in fields:
        out["session_id"] = checks.optional_text("session_id", fields["session_id"], most=64)
    if "ashworth" in fields:
        grade = fields["ashworth"]
        out["ashworth"] = None if grade is None else ashworth_points(
            checks.choice("ashworth", grade, list(ASHWORTH_GRADES)))
    if "notes" in fields:
        out["notes"] = checks.text("notes", fields["notes"], most=4000, lines=True)
    return out


def add_visit(session: Session, actor: Actor, patient_id: int, fields: dict[str, Any], *,
              now: datetime) -> Visit:
    clinical.may(session, actor, Visit, patient_id, now=now)
    records.live(session, Patient, patient_id)
    checked = checked_fields(session, patient_id, {"at": now.isoformat(), **fields}, now=now)
    if "kind" not in checked:
        raise InvalidRecord("kind", None, "one of: " + ", ".join(VISIT_KINDS))
    clinician = actor.user_id if actor.role in ("clinician", "nurse") else None
    record = Visit(patient_id=patient_id, clinician_id=clinician, **checked)
    return clinical.add(session, actor, record, now=now)


def update_visit(session: Session, actor: Actor, visit_id: int, changes: dict[str, Any], *,
                 version: int, now: datetime) -> Visit:
    found = clinical.loaded(session, actor, Visit, visit_id, "write_record", now=now)
    checked = checked_fields(session, found.patient_id, changes, now=now)
    return clinical.change(session, actor, found, checked, version=version, now=now)


_KIND = clinical.Kind(Visit, Visit.at)
list_visits = _KIND.listing
read_visit = _KIND.read
delete_visit = _KIND.delete
