"""The care team's forms on a patient: the symptom call (itb triage) and the screening
trial (bolus doses, hourly observations, decision)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from itb.clinic import patients
from itb.clinic.access import Actor
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.models import Patient
from itb.clinic.web import triage_form
from itb.clinic.web.pages import PageActor, checked_form, render

router = APIRouter(include_in_schema=False)


def _call_page(request: Request, actor: Actor, patient: Patient, **extra: object) -> Response:
    return render(request, "symptom_call.html", {
        "patient": patient, "symptoms": triage_form.SYMPTOMS, "tones": triage_form.TONES,
        "patient_view": False, "action": f"/patients/{patient.id}/symptom-call",
        "button": "Triage and record the call", **extra}, actor=actor)


@router.get("/patients/{patient_id}/symptom-call")
def symptom_call_form(patient_id: int, request: Request, session: SessionDep,
                      actor: PageActor, now: NowDep) -> Response:
    patient = patients.read_patient(session, actor, patient_id, now=now)
    return _call_page(request, actor, patient)


@router.post("/patients/{patient_id}/symptom-call")
async def take_symptom_call(patient_id: int, request: Request, session: SessionDep,
                            actor: PageActor, now: NowDep) -> Response:
    form = await checked_form(request)
    _call, result = triage_form.take_call(session, actor, patient_id, form, now=now)
    patient = patients.read_patient(session, actor, patient_id, now=now)
    return _call_page(request, actor, patient, result=result,
                      heading=triage_form.HEADINGS[result.disposition])
