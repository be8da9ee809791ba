"""/api/patients: list and search, create, read, update (at a version), soft delete."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from itb.clinic import patients
from itb.clinic.api.common import ERRORS, Day, Line, Strict, Version
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep
from itb.clinic.api.record_routes import RecordRoutes

router = APIRouter(tags=["patients"], responses=ERRORS)
Mrn = Line(32, 1)
Name = Line(128, 1)
Search = Line(64)


Weight = Annotated[Decimal, Field(gt=0, max_digits=6, decimal_places=1)]


class PatientIn(Strict):
    mrn: Mrn
    name: Name
    date_of_birth: Day
    weight_kg: Weight
    origin: str = Field(pattern="^(spinal|cerebral)$")


class PatientChange(Strict):
    version: Version
    name: Name | None = None
    weight_kg: Weight | None = None
    refill_interval_days: int | None = Field(None, ge=7, le=190)


class PatientOut(BaseModel):
    id: int
    version: int
    mrn: str
    name: str
    date_of_birth: date
    weight_kg: Decimal
    origin: str
    refill_interval_days: int


def _changes(body: BaseModel) -> dict[str, Any]:
    """What a PATCH gave a value (null leaves a field as it is)."""
    return body.model_dump(exclude_none=True, exclude={"version"})


@router.get("/api/patients")
def list_patients(session: SessionDep, actor: ActorDep, now: NowDep,
                  q: Annotated[Search, Query()] = "") -> list[PatientOut]:
    return [PatientOut.model_validate(p, from_attributes=True)
            for p in patients.search_patients(session, actor, q, now=now)]


@router.post("/api/patients", status_code=201)
def create_patient(body: PatientIn, session: SessionDep, actor: ActorDep,
                   now: NowDep) -> PatientOut:
    return PatientOut.model_validate(
        patients.create_patient(session, actor, body.model_dump(), now=now),
        from_attributes=True)


routes = RecordRoutes(router, "patient", "/api/patients", "", PatientOut)
routes.read(patients.read_patient)
routes.update(PatientChange, patients.update_patient, fields=_changes)
routes.delete(patients.delete_patient)
