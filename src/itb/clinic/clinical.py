"""The acts every kind of a patient's clinical record shares: list, read (both audited),
add, change at a version, soft delete. The services of each kind (implants, prescriptions,
screening, visits, symptom calls, refills and program changes) check their own fields and
call these; every write goes through `records` (audited with before and after).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.models import Patient, Versioned

V = TypeVar("V", bound=Versioned)
MAX_LIST = 500  # one page of a patient's records (itb's bound)


def patient_of(record: Versioned) -> int:
    return int(record.patient_id)  # type: ignore[attr-defined]


def list_for_patient(session: Session, actor: Actor, model: type[V], patient_id: int, *,
                     now: datetime, order: Any, limit: int = MAX_LIST) -> list[V]:
    """The patient's live records of one kind, newest first; the read is audited."""
    entity = str(model.__tablename__)  # type: ignore[attr-defined]
    records.guard(session, actor, "read_record", patient_id, now=now, entity=entity)
    records.live(session, Patient, patient_id)
    found = list(session.scalars(
        select(model).where(model.patient_id == patient_id,  # type: ignore[attr-defined]
                            model.deleted_at.is_(None))
        .order_by(order.desc(), model.id.desc()).limit(limit)))
    audit.record(session, actor, "read", entity, now=now, patient_id=patient_id,
                 detail=f"list of {len(found)}")
    return found


def loaded(session: Session, actor: Actor, model: type[V], record_id: int, permission: str,
           *, now: datetime) -> V:
    """The live record, once `actor` may `permission` on its patient (else 403, audited)."""
    entity = str(model.__tablename__)  # type: ignore[attr-defined]
    found = records.live(session, model, record_id)
    records.guard(session, actor, permission, patient_of(found), now=now, entity=entity,
                  entity_id=record_id)
    return found


def read_one(session: Session, actor: Actor, model: type[V], record_id: int, *,
             now: datetime) -> V:
    found = loaded(session, actor, model, record_id, "read_record", now=now)
    audit.record(session, actor, "read", str(model.__tablename__),  # type: ignore[attr-defined]
                 now=now, entity_id=record_id, patient_id=patient_of(found))
    return found


def may(session: Session, actor: Actor, model: type[V], patient_id: int, *, now: datetime,
        permission: str = "write_record") -> None:
    """Refuse (403, audited) before looking at the fields of a new record."""
    records.guard(session, actor, permission, patient_id, now=now,
                  entity=str(model.__tablename__))  # type: ignore[attr-defined]


def add(session: Session, actor: Actor, record: V, *, now: datetime,
        permission: str = "write_record") -> V:
    """Create `record` for its patient (who must be live): checked fields only."""
    patient_id = patient_of(record)
    records.guard(session, actor, permission, patient_id, now=now,
                  entity=str(record.__tablename__))  # type: ignore[attr-defined]
    records.live(session, Patient, patient_id)
    return records.create(session, actor, record, now=now, patient_id=patient_id)


def change(session: Session, actor: Actor, record: V, changes: dict[str, Any], *,
           version: int, now: datetime) -> V:
    """Apply checked `changes` to a record `loaded` with write permission."""
    return records.update(session, actor, record, changes, now=now, expected_version=version,
                          patient_id=patient_of(record))


def remove(session: Session, actor: Actor, model: type[V], record_id: int, *, version: int,
           now: datetime) -> V:
    found = loaded(session, actor, model, record_id, "delete_record", now=now)
    return records.soft_delete(session, actor, found, now=now, expected_version=version,
                               patient_id=patient_of(found))


@dataclass(frozen=True)
class Kind(Generic[V]):
    """The shared acts bound to one kind of record and the column its patient's list is
    sorted by (newest first): a service names them (`list_visits = VISITS.listing`)."""

    model: type[V]
    order: Any

    def listing(self, session: Session, actor: Actor, patient_id: int, *,
                now: datetime) -> list[V]:
        return list_for_patient(session, actor, self.model, patient_id, now=now,
                                order=self.order)

    def read(self, session: Session, actor: Actor, record_id: int, *, now: datetime) -> V:
        return read_one(session, actor, self.model, record_id, now=now)

    def delete(self, session: Session, actor: Actor, record_id: int, *, version: int,
               now: datetime) -> V:
        return remove(session, actor, self.model, record_id, version=version, now=now)
