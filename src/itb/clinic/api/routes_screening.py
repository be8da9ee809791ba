"""/api/patients/{id}/screening and /api/screening/{id}: screening trials (test boluses,
hourly observations, the decision)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from itb.clinic import screening as service
from itb.clinic.api.common import (
    ERRORS,
    Day,
    Dec,
    Grade,
    Lines,
    Moment,
    Strict,
    change_model,
    changes,
)
from itb.clinic.api.record_routes import RecordRoutes

router = APIRouter(tags=["screening"], responses=ERRORS)
Hour = Annotated[int, Field(ge=service.OBSERVATION_HOURS[0], le=service.OBSERVATION_HOURS[1])]
Penn = Annotated[int, Field(ge=0, le=4)]  # Penn spasm frequency (itb.therapy.screening)
BolusDose = Dec(0, int(service.BOLUS_MCG[1]))
Decision = Literal["implant", "no_implant", "repeat"]
Notes = Lines(4000)
ShortNotes = Lines(500)


class Observation(Strict):
    hour: Hour
    ashworth: Grade
    spasm_frequency: Penn | None = None
    notes: ShortNotes | None = None


class Bolus(Strict):
    dose_mcg: BolusDose
    at: Moment
    observations: Annotated[list[Observation], Field(max_length=25)] = Field(
        default_factory=list)


Boluses = Annotated[list[Bolus], Field(max_length=service.MAX_BOLUSES)]


class TrialIn(Strict):
    started_on: Day
    decision: Decision
    boluses: Boluses = Field(default_factory=list)
    notes: Notes = ""


TrialChange = change_model(TrialIn, "TrialChange")


class TrialOut(BaseModel):
    id: int
    version: int
    patient_id: int
    started_on: date
    decision: str
    boluses: list[Any]
    notes: str


def _fields(body: BaseModel) -> dict[str, Any]:
    fields = changes(body)
    if fields.get("boluses") is not None:
        fields["boluses"] = [b.model_dump(exclude_none=True)
                             for b in body.boluses]  # type: ignore[attr-defined]
    return fields


routes = RecordRoutes(router, "trial", "/api/screening", "screening", TrialOut)
routes.listing("list_trials", service.list_trials)
routes.add("add_trial", TrialIn, service.add_trial, fields=_fields)
routes.read(service.read_trial)
routes.update(TrialChange, service.update_trial, fields=_fields)
routes.delete(service.delete_trial)
