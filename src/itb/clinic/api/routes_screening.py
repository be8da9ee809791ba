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
    IdPath,
    Lines,
    Moment,
    Strict,
    Version,
    VersionQuery,
    changes,
)
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep
from itb.clinic.models import ScreeningTrial

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


class TrialChange(Strict):
    version: Version
    started_on: Day | None = None
    decision: Decision | None = None
    boluses: Boluses | None = None
    notes: Notes | None = None


class TrialOut(BaseModel):
    id: int
    version: int
    patient_id: int
    started_on: date
    decision: str
    boluses: list[Any]
    notes: str


def out(record: ScreeningTrial) -> TrialOut:
    return TrialOut.model_validate(record, from_attributes=True)


def _fields(body: BaseModel) -> dict[str, Any]:
    fields = changes(body)
    if fields.get("boluses") is not None:
        fields["boluses"] = [b.model_dump(exclude_none=True)
                             for b in body.boluses]  # type: ignore[attr-defined]
    return fields


@router.get("/api/patients/{patient_id}/screening")
def list_trials(patient_id: IdPath, session: SessionDep, actor: ActorDep,
                now: NowDep) -> list[TrialOut]:
    return [out(t) for t in service.list_trials(session, actor, patient_id, now=now)]


@router.post("/api/patients/{patient_id}/screening", status_code=201)
def add_trial(patient_id: IdPath, body: TrialIn, session: SessionDep, actor: ActorDep,
              now: NowDep) -> TrialOut:
    return out(service.add_trial(session, actor, patient_id, _fields(body), now=now))


@router.get("/api/screening/{trial_id}")
def read_trial(trial_id: IdPath, session: SessionDep, actor: ActorDep,
               now: NowDep) -> TrialOut:
    return out(service.read_trial(session, actor, trial_id, now=now))


@router.patch("/api/screening/{trial_id}")
def update_trial(trial_id: IdPath, body: TrialChange, session: SessionDep, actor: ActorDep,
                 now: NowDep) -> TrialOut:
    return out(service.update_trial(session, actor, trial_id, _fields(body),
                                    version=body.version, now=now))


@router.delete("/api/screening/{trial_id}", status_code=204)
def delete_trial(trial_id: IdPath, version: VersionQuery, session: SessionDep,
                 actor: ActorDep, now: NowDep) -> None:
    service.delete_trial(session, actor, trial_id, version=version, now=now)
