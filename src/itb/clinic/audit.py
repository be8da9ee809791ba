"""The audit trail: every write and every read of a patient's record, and every refusal.

Entries are only ever added (`record`); the service has no way to change or remove one,
and the migration adds triggers so the database refuses it too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from itb.clinic.access import Actor
from itb.clinic.models import AuditEntry, Base


def plain(value: Any) -> Any:
    """A column value as JSON: exact decimals as text, times as ISO-8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(record: Base | None) -> dict[str, Any] | None:
    """The record's columns as JSON (secrets left out), for before/after."""
    if record is None:
        return None
    columns = inspect(record).mapper.column_attrs
    return {c.key: plain(getattr(record, c.key)) for c in columns
            if c.key not in ("password_hash", "token_sha256")}


def record(session: Session, actor: Actor, action: str, entity: str, *, now: datetime,
           entity_id: object = None, patient_id: int | None = None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           detail: str = "") -> AuditEntry:
    entry = AuditEntry(at=now, user_id=actor.user_id, username=actor.username, action=action,
                       entity=entity, entity_id=None if entity_id is None else str(entity_id),
                       patient_id=patient_id, before=before, after=after, detail=detail)
    session.add(entry)
    return entry
