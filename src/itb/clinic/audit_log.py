"""Reading the audit trail (admins only). There is no way here, nor anywhere in the
service, to change or remove an entry: the trail is append-only (itb.clinic.audit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit, checks, records
from itb.clinic.access import Actor
from itb.clinic.models import AuditEntry

MAX_PAGE = 500
ACTIONS = ("create", "update", "delete", "read", "denied", "login")


def read_audit(session: Session, actor: Actor, *, now: datetime, patient_id: int | None = None,
               entity: str | None = None, action: str | None = None,
               username: str | None = None, since: datetime | None = None,
               until: datetime | None = None, after_id: int = 0,
               limit: int = 100) -> list[AuditEntry]:
    """Entries in the order they were made, from after `after_id` (a page at a time).

    The read is itself audited; a patient's record appears in it by `patient_id`."""
    records.guard(session, actor, "read_audit", None, now=now, entity="audit")
    limit = checks.whole("limit", limit, 1, MAX_PAGE)
    after_id = checks.whole("after_id", after_id, 0, 2**63 - 1)
    query = select(AuditEntry).where(AuditEntry.id > after_id)
    filters: dict[str, Any] = {}
    if patient_id is not None:
        filters["patient_id"] = checks.whole("patient_id", patient_id, 1, 2**31 - 1)
        query = query.where(AuditEntry.patient_id == patient_id)
    if entity is not None:
        filters["entity"] = checks.text("entity", entity, least=1, most=32)
        query = query.where(AuditEntry.entity == filters["entity"])
    if action is not None:
        filters["action"] = checks.choice("action", action, ACTIONS)
        query = query.where(AuditEntry.action == action)
    if username is not None:
        filters["username"] = checks.text("username", username, least=1, most=64)
        query = query.where(AuditEntry.username == filters["username"])
    if since is not None:
        query = query.where(AuditEntry.at >= checks.moment("since", since))
    if until is not None:
        query = query.where(AuditEntry.at <= checks.moment("until", until))
    found = list(session.scalars(query.order_by(AuditEntry.id).limit(limit)))
    audit.record(session, actor, "read", "audit", now=now, patient_id=patient_id,
                 detail=f"{len(found)} entries; filters {filters}")
    return found
