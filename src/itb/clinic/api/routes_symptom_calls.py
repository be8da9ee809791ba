"""/api/patients/{id}/symptom-calls and /api/symptom-calls/{id}: a call triaged by
`itb triage`'s rules; a patient may call for their own record."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from itb.clinic import symptom_calls as service
from itb.clinic.api.common import ERRORS, Dec, IdPath, Moment, Strict, VersionQuery
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep
from itb.clinic.models import SymptomCall
from itb.physiology.symptoms import SYMPTOM_NAMES

router = APIRouter(tags=["symptom calls"], responses=ERRORS)
SymptomName = Literal[SYMPTOM_NAMES]  # type: ignore[valid-type]
Days = Dec(0, 36500, low_open=False)  # PumpFacts' own bound (itb.physiology.triage)


class Facts(Strict):
    days_since_refill: Days | None = None
    hours_since_program_change: Days | None = None
    alarm_heard: bool = False
    alarm_tone: Literal["two-tone", "single-tone"] | None = None
    refill_overdue: bool = False
    days_since_implant: Days | None = None


class CallIn(Strict):
    symptoms: Annotated[list[SymptomName], Field(max_length=service.MAX_SYMPTOMS)] = Field(
        default_factory=list)
    facts: Facts | None = None
    at: Moment | None = None


class CallOut(BaseModel):
    id: int
    version: int
    patient_id: int
    at: datetime
    symptoms: list[str]
    disposition: str = Field(description="emergency, call-care-team or routine "
                             "(`itb triage --json`)")
    causes: list[str]
    advice: str
    taken_by_id: int | None


def out(call: SymptomCall) -> CallOut:
    return CallOut.model_validate(call, from_attributes=True)


@router.get("/api/patients/{patient_id}/symptom-calls")
def list_calls(patient_id: IdPath, session: SessionDep, actor: ActorDep,
               now: NowDep) -> list[CallOut]:
    return [out(c) for c in service.list_calls(session, actor, patient_id, now=now)]


@router.post("/api/patients/{patient_id}/symptom-calls", status_code=201)
def take_call(patient_id: IdPath, body: CallIn, session: SessionDep, actor: ActorDep,
              now: NowDep) -> CallOut:
    fields = body.model_dump(exclude_none=True)
    if body.facts is not None:
        facts = body.facts.model_dump(exclude_none=True)
        fields["facts"] = {k: (str(v) if isinstance(v, Decimal) else v)
                           for k, v in facts.items()}
    return out(service.take_call(session, actor, patient_id, fields, now=now))


@router.get("/api/symptom-calls/{call_id}")
def read_call(call_id: IdPath, session: SessionDep, actor: ActorDep, now: NowDep) -> CallOut:
    return out(service.read_call(session, actor, call_id, now=now))


@router.delete("/api/symptom-calls/{call_id}", status_code=204)
def delete_call(call_id: IdPath, version: VersionQuery, session: SessionDep,
                actor: ActorDep, now: NowDep) -> None:
    service.delete_call(session, actor, call_id, version=version, now=now)
