"""/api/audit: the audit trail, read by admins. There is no route that changes or removes
an entry (the trail is append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from itb.clinic import audit_log
from itb.clinic.api.common import ERRORS, MAX_ID, Moment
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep

router = APIRouter(tags=["audit"], responses=ERRORS)
Action = Literal[audit_log.ACTIONS]  # type: ignore[valid-type]
_LINE = r"^[^\x00-\x1f\x7f]*$"


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str
    action: str
    entity: str
    entity_id: str | None
    patient_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str


@router.get("/api/audit")
def read_audit(
    session: SessionDep, actor: ActorDep, now: NowDep,
    patient_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    entity: Annotated[str | None, Query(min_length=1, max_length=32, pattern=_LINE)] = None,
    action: Action | None = None,
    username: Annotated[str | None, Query(min_length=1, max_length=64, pattern=_LINE)] = None,
    since: Annotated[Moment | None, Query()] = None,
    until: Annotated[Moment | None, Query()] = None,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=audit_log.MAX_PAGE)] = 100,
) -> list[AuditOut]:
    """Entries in the order made, after `after_id` (page with the last id you got)."""
    found = audit_log.read_audit(session, actor, now=now, patient_id=patient_id, entity=entity,
                                 action=action, username=username, since=since, until=until,
                                 after_id=after_id, limit=limit)
    return [AuditOut.model_validate(e, from_attributes=True) for e in found]
