"""/api/patients/{id}/fhir: the patient's record as a FHIR R4B Bundle (an audited read)."""

from __future__ import annotations

from fastapi import APIRouter, Path
from fastapi.responses import Response

from itb.clinic import fhir
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep

router = APIRouter(prefix="/api/patients", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


@router.get("/{patient_id}/fhir", response_class=Response,
            responses={200: {"content": {FHIR_JSON: {"schema": {"type": "object"}}},
                             "description": "A FHIR R4B Bundle (type collection)."}})
def patient_fhir(session: SessionDep, actor: ActorDep, now: NowDep,
                 patient_id: int = Path(ge=1, le=2**31 - 1)) -> Response:  # INTEGER ids
    """The patient's live records as a FHIR R4B Bundle, validated before it is sent."""
    text = fhir.export_patient(session, actor, patient_id, now=now)
    return Response(content=text, media_type=FHIR_JSON)
