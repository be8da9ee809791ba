"""/api/patients/{id}/implants and /api/implants/{id}: a pump in a patient, its explant
and its replacement (explant and the new implant in one transaction)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from itb.clinic import implants
from itb.clinic.api.common import (
    ERRORS,
    Day,
    Dec,
    IdPath,
    Line,
    Strict,
    Version,
    change_model,
)
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep
from itb.clinic.api.record_routes import RecordRoutes
from itb.clinic.models import Implant

router = APIRouter(tags=["implants"], responses=ERRORS)
Serial = Line(64, 1)
Model = Line(64, 1)
Reason = Line(256, 1)
Path512 = Line(512)
Host = Line(128)
CatheterCm = Dec(1, 200, low_open=False)
CatheterMl = Dec(0, 1)
Port = Annotated[int, Field(ge=1, le=65535)]


class NewPump(Strict):
    """A pump as it goes in (a replacement's new pump; an implant adds its date)."""

    pump_serial: Serial
    pump_model: Model
    catheter_length_cm: CatheterCm | None = None
    catheter_volume_ml: CatheterMl | None = None
    key_file: Path512 | None = None
    pump_host: Host | None = None
    pump_port: Port | None = None


class ExplantIn(Strict):
    version: Version
    explanted_on: Day
    explant_reason: Reason


class ImplantIn(NewPump):
    implanted_on: Day


# a different pump is a replacement, not a change
ImplantChange = change_model(ImplantIn, "ImplantChange", fixed=("pump_serial",))


class ReplaceIn(ExplantIn):
    new_pump: NewPump


class ImplantOut(BaseModel):
    id: int
    version: int
    patient_id: int
    pump_serial: str
    pump_model: str
    implanted_on: date
    catheter_length_cm: Decimal | None
    catheter_volume_ml: Decimal | None
    key_file: str | None
    pump_host: str | None
    pump_port: int | None
    explanted_on: date | None
    explant_reason: str | None
    replaces_id: int | None


def out(implant: Implant) -> ImplantOut:
    return ImplantOut.model_validate(implant, from_attributes=True)


routes = RecordRoutes(router, "implant", "/api/implants", "implants", ImplantOut, out)
routes.listing("list_implants", implants.list_implants)
routes.add("add_implant", ImplantIn, implants.add_implant)
routes.read(implants.read_implant)
routes.update(ImplantChange, implants.update_implant)


@router.post("/api/implants/{implant_id}/explant")
def explant(implant_id: IdPath, body: ExplantIn, session: SessionDep, actor: ActorDep,
            now: NowDep) -> ImplantOut:
    return out(implants.explant(session, actor, implant_id, version=body.version,
                                on=body.explanted_on, reason=body.explant_reason, now=now))


@router.post("/api/implants/{implant_id}/replace", status_code=201)
def replace(implant_id: IdPath, body: ReplaceIn, session: SessionDep, actor: ActorDep,
            now: NowDep) -> ImplantOut:
    """Explant this pump and implant the new one the same day; answers the new implant."""
    new = body.new_pump.model_dump(exclude_unset=True)
    return out(implants.replace(session, actor, implant_id, new, version=body.version,
                                on=body.explanted_on, reason=body.explant_reason, now=now))


routes.delete(implants.delete_implant)
