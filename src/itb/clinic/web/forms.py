"""The care team's forms on a patient: the symptom call (itb triage) and the screening
trial (bolus doses, hourly observations, decision)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from itb.clinic import patients, screening
from itb.clinic.access import Actor
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.models import Patient
from itb.clinic.web import triage_form
from itb.clinic.web.pages import PageActor, checked_form, render
from itb.therapy.catalogue import SCREENING_DOSES_MCG, SCREENING_OBSERVATION_MAX_H
from itb.therapy.screening import ASHWORTH_GRADES
from itb.therapy.units import display

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


# The label's screening: test boluses of 50, 75 then 100 mcg, each observed for 4 to 8 hours
# (itb.therapy.catalogue); the form has a row per dose and a grade per hour 0 to 8.
BOLUS_ROWS = len(SCREENING_DOSES_MCG)
HOURS = tuple(range(SCREENING_OBSERVATION_MAX_H + 1))


def trial_fields(form: FormData) -> dict[str, Any]:
    """The screening service's fields from the form (blank rows and hours left out);
    times are entered in UTC."""
    boluses = []
    for n in range(1, BOLUS_ROWS + 1):
        dose = str(form.get(f"b{n}_dose", "") or "").strip()
        at = str(form.get(f"b{n}_at", "") or "").strip()
        if not dose and not at:
            continue
        seen = [{"hour": h, "ashworth": str(form.get(f"b{n}_h{h}"))} for h in HOURS
                if form.get(f"b{n}_h{h}")]
        boluses.append({"dose_mcg": dose, "at": f"{at}:00+00:00" if len(at) == 16 else at,
                        "observations": seen})
    return {"started_on": str(form.get("started_on", "") or ""), "boluses": boluses,
            "decision": str(form.get("decision", "") or ""),
            "notes": str(form.get("notes", "") or "")}


def _trial_page(request: Request, actor: Actor, patient: Patient, **extra: object
                ) -> Response:
    return render(request, "screening.html", {
        "patient": patient, "rows": range(1, BOLUS_ROWS + 1), "hours": HOURS,
        "doses": [display(d) for d in SCREENING_DOSES_MCG], "grades": list(ASHWORTH_GRADES),
        "decisions": screening.DECISIONS, **extra}, actor=actor)


@router.get("/patients/{patient_id}/screening")
def screening_form(patient_id: int, request: Request, session: SessionDep, actor: PageActor,
                   now: NowDep) -> Response:
    patient = patients.read_patient(session, actor, patient_id, now=now)
    return _trial_page(request, actor, patient, today=now.date())


@router.post("/patients/{patient_id}/screening")
async def record_screening(patient_id: int, request: Request, session: SessionDep,
                           actor: PageActor, now: NowDep) -> Response:
    form = await checked_form(request)
    trial = screening.add_trial(session, actor, patient_id, trial_fields(form), now=now)
    patient = patients.read_patient(session, actor, patient_id, now=now)
    return _trial_page(request, actor, patient, today=now.date(), saved=trial)
