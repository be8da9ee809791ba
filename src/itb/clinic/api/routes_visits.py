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
    Line,
    Lines,
    Moment,
    Strict,
    change_model,
)
from itb.clinic.api.record_routes import RecordRoutes, given_fields
from itb.clinic.models import VISIT_KINDS, Visit

router = APIRouter(tags=["visits"], responses=ERRORS)
Kind = Literal[VISIT_KINDS]  # type: ignore[valid-type]
SessionId = Line(64, 1)
Notes = Lines(4000)


class VisitIn(Strict):
    kind: Kind
    at: Moment | None = None
    implant_id: BodyId | None = None
    session_id: SessionId | None = None
    ashworth: Grade | None = None
    notes: Notes | None = None


VisitChange = change_model(VisitIn, "VisitChange")


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


routes = RecordRoutes(router, "visit", "/api/visits", "visits", VisitOut, out)
routes.listing("list_visits", service.list_visits)
routes.add("add_visit", VisitIn, service.add_visit, fields=given_fields)
routes.read(service.read_visit)
routes.update(VisitChange, service.update_visit)
routes.delete(service.delete_visit)
