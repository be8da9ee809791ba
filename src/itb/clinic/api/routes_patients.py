"""/api/patients: list and search, create, read, update (at a version), soft delete."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from itb.clinic import patients
from itb.clinic.api.common import ERRORS, Day, IdPath, Line, VersionQuery
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep
from itb.clinic.models import Patient

router = APIRouter(prefix="/api/patients", tags=["patients"], responses=ERRORS)
Mrn = Line(32, 1)
Name = Line(128, 1)
Search = Line(64)


class PatientIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mrn: Mrn
    name: Name
    date_of_birth: Day
    weight_kg: Decimal = Field(gt=0, max_digits=6, decimal_places=1)
    origin: str = Field(pattern="^(spinal|cerebral)$")


class PatientChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, le=2**31 - 1)
    name: Name | None = None
    weight_kg: Decimal | None = Field(None, gt=0, max_digits=6, decimal_places=1)
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


def _out(patient: Patient) -> PatientOut:
    return PatientOut(id=patient.id, version=patient.version, mrn=patient.mrn,
                      name=patient.name, date_of_birth=patient.date_of_birth,
                      weight_kg=patient.weight_kg, origin=patient.origin,
                      refill_interval_days=patient.refill_interval_days)


@router.get("")
def list_patients(session: SessionDep, actor: ActorDep, now: NowDep,
                  q: Annotated[Search, Query()] = "") -> list[PatientOut]:
    return [_out(p) for p in patients.search_patients(session, actor, q, now=now)]


@router.post("", status_code=201)
def create_patient(body: PatientIn, session: SessionDep, actor: ActorDep,
                   now: NowDep) -> PatientOut:
    return _out(patients.create_patient(session, actor, body.model_dump(), now=now))


@router.get("/{patient_id}")
def read_patient(patient_id: IdPath, session: SessionDep, actor: ActorDep,
                 now: NowDep) -> PatientOut:
    return _out(patients.read_patient(session, actor, patient_id, now=now))


@router.patch("/{patient_id}")
def update_patient(patient_id: IdPath, body: PatientChange, session: SessionDep,
                   actor: ActorDep, now: NowDep) -> PatientOut:
    changes: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"version"})
    return _out(patients.update_patient(session, actor, patient_id, changes,
                                        version=body.version, now=now))


@router.delete("/{patient_id}", status_code=204)
def delete_patient(patient_id: IdPath, version: VersionQuery,
                   session: SessionDep, actor: ActorDep, now: NowDep) -> None:
    patients.delete_patient(session, actor, patient_id, version=version, now=now)
