"""/api/worklists: every kind of work at once, or one kind (`/api/worklists/{kind}`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from itb.clinic import worklist as work
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep

router = APIRouter(prefix="/api/worklists", tags=["worklists"])

Kind = Literal["refill_overdue", "refill_due", "replacement_due", "critical_alarm", "not_seen"]
Horizon = Annotated[int, Query(ge=work.HORIZON_DAYS[0], le=work.HORIZON_DAYS[1],
                               description="Refills due within this many days.")]


class WorkEntryOut(BaseModel):
    mrn: str
    patient_id: int
    name: str
    kind: Kind
    due: date
    reason: str
    implant_id: int | None
    pump_serial: str | None


def _out(entries: list[work.WorkEntry]) -> list[WorkEntryOut]:
    return [WorkEntryOut(mrn=e.mrn, patient_id=e.patient_id, name=e.name,
                         kind=e.kind,  # type: ignore[arg-type]
                         due=e.due, reason=e.reason, implant_id=e.implant_id,
                         pump_serial=e.pump_serial) for e in entries]


@router.get("")
def all_work(session: SessionDep, actor: ActorDep, now: NowDep,
             horizon_days: Horizon = work.DEFAULT_HORIZON_DAYS) -> list[WorkEntryOut]:
    """Every worklist entry, soonest due first, each saying why it is there."""
    return _out(work.worklist(session, actor, now=now, horizon_days=horizon_days))


@router.get("/{kind}")
def work_of_kind(kind: Kind, session: SessionDep, actor: ActorDep, now: NowDep,
                 horizon_days: Horizon = work.DEFAULT_HORIZON_DAYS) -> list[WorkEntryOut]:
    """One kind of work: refill_overdue, refill_due, replacement_due, critical_alarm or
    not_seen."""
    return _out(work.worklist(session, actor, now=now, kind=kind, horizon_days=horizon_days))
