"""/api/patients/{id}/prescriptions and /api/prescriptions/{id}: drug, strength, daily dose,
program (simple or flex steps), limits and patient bolus. Written by clinicians only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from itb.clinic import prescriptions as service
from itb.clinic.api.common import ERRORS, Day, Dec, Strict, change_model, changes
from itb.clinic.api.record_routes import RecordRoutes

router = APIRouter(tags=["prescriptions"], responses=ERRORS)
Drug = Literal[service.DRUGS]  # type: ignore[valid-type]
Strength = Dec(0, 2000)
DailyDose = Dec(0, 2003, low_open=False)
Limit = Dec(0, 3000)
Bolus = Dec(0, 200)
Clock = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Lockout = Annotated[int, Field(ge=0, le=1440)]
PerDay = Annotated[int, Field(ge=1, le=24)]
Stability = Annotated[int, Field(ge=1, le=service.STABILITY)]


class Step(Strict):
    start: Clock
    daily_rate_mcg: DailyDose


class Program(Strict):
    mode: Literal["simple", "flex"]
    steps: Annotated[list[Step], Field(max_length=service.MAX_STEPS)] = Field(
        default_factory=list)


class PrescriptionIn(Strict):
    drug: Drug
    strength_mcg_per_ml: Strength
    daily_dose_mcg: DailyDose
    started_on: Day
    program: Program | None = None
    max_daily_dose_mcg: Limit | None = None
    patient_bolus_mcg: Bolus | None = None
    patient_bolus_lockout_min: Lockout | None = None
    patient_bolus_max_per_day: PerDay | None = None
    stability_days: Stability | None = None
    ended_on: Day | None = None


PrescriptionChange = change_model(PrescriptionIn, "PrescriptionChange")


class PrescriptionOut(BaseModel):
    id: int
    version: int
    patient_id: int
    drug: str
    strength_mcg_per_ml: Decimal
    daily_dose_mcg: Decimal
    program: dict[str, Any]
    max_daily_dose_mcg: Decimal | None
    patient_bolus_mcg: Decimal | None
    patient_bolus_lockout_min: int | None
    patient_bolus_max_per_day: int | None
    stability_days: int | None
    started_on: date
    ended_on: date | None
    prescriber_id: int | None


def _fields(body: BaseModel) -> dict[str, Any]:
    fields = changes(body)
    if fields.get("program") is not None:
        fields["program"] = body.program.model_dump(mode="json")  # type: ignore[attr-defined]
    return fields


routes = RecordRoutes(router, "prescription", "/api/prescriptions", "prescriptions",
                      PrescriptionOut)
routes.listing("list_prescriptions", service.list_prescriptions)
routes.add("add_prescription", PrescriptionIn, service.add_prescription, fields=_fields)
routes.read(service.read_prescription)
routes.update(PrescriptionChange, service.update_prescription, fields=_fields)
routes.delete(service.delete_prescription)
