"""/api/patients/{id}/visits and /api/visits/{id}: visits of every kind."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from itb.clinic import visits as service
from itb.clinic.api.common import (
    ERRORS,
    BodyId,
    Grade,
    IdPath,
    Line,
    Lines,
    Moment,
    Strict,
    Version,
    VersionQuery,
    changes,
)
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep
from itb.clinic.models import VISIT_KINDS, Visit

router = APIRouter(tags=["visits"], responses=ERRORS)
Kind = Literal[VISIT_KINDS]  # type: ignore[valid-type]
SessionId = Line(64, 1)
Notes = Lines(4000)


class VisitFields(Strict):
    implant_id: BodyId | None = None
    session_id: SessionId | None = None
    ashworth: Grade | None = None
    notes: Notes | None = None


class VisitIn(VisitFields):
    kind: Kind
    at: Moment | None = None


class VisitChange(VisitFields):
    version: Version
    kind: Kind | None = None
    at: Moment | None = None


class VisitOut(BaseModel):
    id: int
    version: int
    patient_id: int
    implant_id: int | None
    kind: str
    at: datetime
    clinician_id: int | None
    session_id: str | None
    ashworth: str | None
    notes: str


def out(visit: Visit) -> VisitOut:
    return VisitOut(id=visit.id, version=visit.version, patient_id=visit.patient_id,
                    implant_id=visit.implant_id, kind=visit.kind, at=visit.at,
                    clinician_id=visit.clinician_id, session_id=visit.session_id,
                    ashworth=service.ashworth_grade(visit.ashworth), notes=visit.notes)


@router.get("/api/patients/{patient_id}/visits")
def list_visits(patient_id: IdPath, session: SessionDep, actor: ActorDep,
                now: NowDep) -> list[VisitOut]:
    return [out(v) for v in service.list_visits(session, actor, patient_id, now=now)]


@router.post("/api/patients/{patient_id}/visits", status_code=201)
def add_visit(patient_id: IdPath, body: VisitIn, session: SessionDep, actor: ActorDep,
              now: NowDep) -> VisitOut:
    fields = body.model_dump(exclude_none=True)
    return out(service.add_visit(session, actor, patient_id, fields, now=now))


@router.get("/api/visits/{visit_id}")
def read_visit(visit_id: IdPath, session: SessionDep, actor: ActorDep,
               now: NowDep) -> VisitOut:
    return out(service.read_visit(session, actor, visit_id, now=now))


@router.patch("/api/visits/{visit_id}")
def update_visit(visit_id: IdPath, body: VisitChange, session: SessionDep, actor: ActorDep,
                 now: NowDep) -> VisitOut:
    return out(service.update_visit(session, actor, visit_id, changes(body),
                                    version=body.version, now=now))


@router.delete("/api/visits/{visit_id}", status_code=204)
def delete_visit(visit_id: IdPath, version: VersionQuery, session: SessionDep,
                 actor: ActorDep, now: NowDep) -> None:
    service.delete_visit(session, actor, visit_id, version=version, now=now)
