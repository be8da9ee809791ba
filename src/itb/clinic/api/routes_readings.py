"""/api/patients/{id}/refills, /api/refills/{id}, /api/patients/{id}/program-changes and
/api/program-changes/{id}: read only (the programmer's recordings write them)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from itb.clinic import readings
from itb.clinic.api.common import ERRORS, IdPath
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep

router = APIRouter(tags=["refills and program changes"], responses=ERRORS)


class RefillOut(BaseModel):
    id: int
    version: int
    patient_id: int
    visit_id: int | None
    at: datetime
    outcome: str
    withdrawn_ml: Decimal | None
    expected_ml: Decimal | None
    discrepancy_ml: Decimal | None
    added_ml: Decimal | None
    strength_mcg_per_ml: Decimal | None
    drug: str | None
    lot: str | None
    expiry: date | None
    bridge_bolus_mcg: Decimal | None
    wasted_ml: Decimal | None
    second_checker: str | None
    pocket_check: str | None
    details: dict[str, Any]


class ProgramChangeOut(BaseModel):
    id: int
    version: int
    patient_id: int
    visit_id: int | None
    at: datetime
    outcome: str
    daily_dose_before_mcg: Decimal | None
    daily_dose_after_mcg: Decimal | None
    before: dict[str, Any]
    after: dict[str, Any]
    override_reason: str | None
    details: dict[str, Any]


@router.get("/api/patients/{patient_id}/refills")
def list_refills(patient_id: IdPath, session: SessionDep, actor: ActorDep,
                 now: NowDep) -> list[RefillOut]:
    return [RefillOut.model_validate(r, from_attributes=True)
            for r in readings.list_refills(session, actor, patient_id, now=now)]


@router.get("/api/refills/{refill_id}")
def read_refill(refill_id: IdPath, session: SessionDep, actor: ActorDep,
                now: NowDep) -> RefillOut:
    return RefillOut.model_validate(readings.read_refill(session, actor, refill_id, now=now),
                                    from_attributes=True)


@router.get("/api/patients/{patient_id}/program-changes")
def list_program_changes(patient_id: IdPath, session: SessionDep, actor: ActorDep,
                         now: NowDep) -> list[ProgramChangeOut]:
    return [ProgramChangeOut.model_validate(c, from_attributes=True)
            for c in readings.list_program_changes(session, actor, patient_id, now=now)]


@router.get("/api/program-changes/{change_id}")
def read_program_change(change_id: IdPath, session: SessionDep, actor: ActorDep,
                        now: NowDep) -> ProgramChangeOut:
    found = readings.read_program_change(session, actor, change_id, now=now)
    return ProgramChangeOut.model_validate(found, from_attributes=True)
