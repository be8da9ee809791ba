"""/api/patients/{id}/symptom-calls and /api/symptom-calls/{id}: a call triaged by
`itb triage`'s rules; a patient may call for their own record."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from itb.clinic import symptom_calls as service
from itb.clinic.api.common import ERRORS, Dec, Moment, Strict
from itb.clinic.api.record_routes import RecordRoutes
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


def _fields(body: BaseModel) -> dict[str, Any]:
    fields = body.model_dump(exclude_none=True)
    if fields.get("facts") is not None:  # exact figures as text (the record is JSON)
        fields["facts"] = {k: (str(v) if isinstance(v, Decimal) else v)
                           for k, v in fields["facts"].items()}
    return fields


routes = RecordRoutes(router, "call", "/api/symptom-calls", "symptom-calls", CallOut)
routes.listing("list_calls", service.list_calls)
routes.add("take_call", CallIn, service.take_call, fields=_fields)
routes.read(service.read_call)
routes.delete(service.delete_call)
