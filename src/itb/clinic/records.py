"""The pattern every clinical write follows: check the role, check the version, change,
audit with before and after. Services call these; nothing else writes a clinical record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from itb.clinic import audit
from itb.clinic.access import Actor, require
from itb.clinic.errors import NotPermitted, RecordNotFound, StaleRecord
from itb.clinic.models import Base, Patient

R = TypeVar("R", bound=Base)
MAX_ID = 2**31 - 1  # ids are INTEGER columns


def entity_name(record: Base) -> str:
    return str(record.__tablename__)


def live(session: Session, model: type[R], record_id: int) -> R:
    """The record with this id, unless it is missing or soft-deleted (404)."""
    if not 1 <= record_id <= MAX_ID:  # PostgreSQL refuses to compare INTEGER ids beyond
        raise RecordNotFound(f"No {model.__tablename__} record with id {record_id}.")
    found = session.get(model, record_id)
    if found is None or getattr(found, "deleted_at", None) is not None:
        raise RecordNotFound(f"No {model.__tablename__} record with id {record_id}.")
    return found


def patient_by_mrn(session: Session, mrn: str) -> Patient:
    found = session.scalars(select(Patient).where(Patient.mrn == mrn,
                                                  Patient.deleted_at.is_(None))).first()
    if found is None:
        raise RecordNotFound(f"No patient with record number {mrn!r}.")
    return found


def guard(session: Session, actor: Actor, permission: str, patient_id: int | None,
          *, now: datetime, entity: str, entity_id: object = None) -> None:
    """`require`, but a refusal is audited as a denied attempt before it is raised."""
    try:
        require(actor, permission, patient_id)
    except NotPermitted as refusal:
        audit.record(session, actor, "denied", entity, now=now, entity_id=entity_id,
                     patient_id=patient_id, detail=f"{permission}: {refusal}")
        session.commit()  # the denial is kept even though the request fails
        raise


def create(session: Session, actor: Actor, record: R, *, now: datetime,
           patient_id: int | None) -> R:
    record.created_at = now  # type: ignore[attr-defined]
    session.add(record)
    session.flush()
    audit.record(session, actor, "create", entity_name(record), now=now,
                 entity_id=record.id, patient_id=patient_id,  # type: ignore[attr-defined]
                 after=audit.snapshot(record))
    return record


def update(session: Session, actor: Actor, record: R, changes: dict[str, Any], *,
           now: datetime, expected_version: int, patient_id: int | None) -> R:
    """Apply `changes` if the record is still at `expected_version`, else 409."""
    current = record.version  # type: ignore[attr-defined]
    if current != expected_version:
        raise StaleRecord(f"{entity_name(record)} {record.id} changed since it was read "  # type: ignore[attr-defined]
                          f"(version {expected_version}; it is now version {current}).")
    before = audit.snapshot(record)
    for key, value in changes.items():
        setattr(record, key, value)
    name, record_id = entity_name(record), record.id  # type: ignore[attr-defined]
    try:
        # the version check in SQL (UPDATE ... WHERE version = N): a writer that committed
        # between our read and this write leaves no row to match
        session.flush()
    except StaleDataError:
        raise StaleRecord(f"{name} {record_id} was changed by someone else "
                          f"since version {expected_version} was read.") from None
    audit.record(session, actor, "update", entity_name(record), now=now,
                 entity_id=record.id, patient_id=patient_id,  # type: ignore[attr-defined]
                 before=before, after=audit.snapshot(record))
    return record


def soft_delete(session: Session, actor: Actor, record: R, *, now: datetime,
                expected_version: int, patient_id: int | None) -> R:
    return update(session, actor, record, {"deleted_at": now}, now=now,
                  expected_version=expected_version, patient_id=patient_id)
