"""The patient portal (role patient, linked to one record): my pump, what the alarm tones
mean, the symptom checker, and a patient bolus if one is prescribed (asked of the pump:
`handheld`). Every page reads only the patient's own record through the
same guarded, audited services as the care team's pages; a patient asking for another
record gets 403 there (and the attempt is audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from itb.clinic import records, reminders
from itb.clinic.access import Actor
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.chart import load_chart
from itb.clinic.errors import NotPermitted, RecordNotFound
from itb.clinic.models import Patient, Prescription, SessionAct
from itb.clinic.patients import current_implant
from itb.clinic.web import handheld, triage_form
from itb.clinic.web.pages import PageActor, checked_form, render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Tone:
    sound: str
    means: str
    do: str
    source: str


# devices.md, alarms row (SynchroMed II: medtronic.com advisories 2011, HSA Singapore 2017);
# seed 004 "Seek medical attention as soon as possible if you suspect the pump isn't working
# as it should"; seed 004 "Missing a pump refill appointment may lead to baclofen withdrawal".
TONES = (
    Tone("Two tones, for about three seconds, repeating (critical)",
         "The pump may have stopped giving the drug: empty reservoir, motor stall, end of the "
         "battery's service, a memory error or a low-battery reset.",
         "Call the care team now. If you have signs of withdrawal (itching, sweating, more "
         "spasms or stiffness, fever, confusion), call 911 or your local emergency number.",
         "devices.md (alarms); seed 004"),
    Tone("One tone, for about one second, repeating (not critical)",
         "The reservoir is getting low, or the battery is nearing its end (elective "
         "replacement indicator).",
         "Call the care team to book a refill or a replacement soon; do not miss it.",
         "devices.md (alarms, battery); seed 004"),
)


def _own(actor: Actor) -> int:
    if actor.role != "patient" or actor.patient_id is None:
        raise NotPermitted("These pages are for a patient's own record; the care team "
                           "uses the dashboard.", "Open the dashboard instead.")
    return actor.patient_id


def _bolus_prescribed(prescriptions: list[Prescription], today: date) -> Prescription | None:
    live = [p for p in prescriptions if p.started_on <= today
            and (p.ended_on is None or p.ended_on >= today)]
    return live[0] if live and live[0].patient_bolus_mcg else None


def _my_pump(request: Request, session: Session, actor: Actor, now: datetime,
             **extra: object) -> Response:
    chart = load_chart(session, actor, _own(actor), now=now, recent=5, purpose="portal")
    return render(request, "portal.html", {
        "patient": chart.patient, "implant": current_implant(chart.patient),
        "last": chart.interrogations[0] if chart.interrogations else None,
        "bolus": _bolus_prescribed(chart.prescriptions, now.date()),
        "calls": chart.symptom_calls[:5],
        "messages": reminders.portal_messages(session, chart.patient.id), **extra},
        actor=actor)


@router.get("/me")
def my_pump(request: Request, session: SessionDep, actor: PageActor, now: NowDep) -> Response:
    return _my_pump(request, session, actor, now)


@router.post("/me/bolus")
async def patient_bolus(request: Request, session: SessionDep, actor: PageActor,
                        now: NowDep) -> Response:
    """Ask the pump for the prescribed bolus; the pump's answer is kept as a session act."""
    patient_id = _own(actor)
    records.guard(session, actor, "patient_bolus", patient_id, now=now, entity="session_acts")
    patient = records.live(session, Patient, patient_id)
    implant = current_implant(patient)
    if implant is None:
        raise RecordNotFound("No pump is recorded for you.", "Call the care team.")
    answer = handheld.ask_pump(implant)
    records.create(session, actor, SessionAct(
        patient_id=patient_id, at=now, kind="patient_bolus", outcome=answer.outcome,
        summary=answer.said, details={"via": "portal", "serial": implant.pump_serial}),
        now=now, patient_id=patient_id)
    return _my_pump(request, session, actor, now, answer=answer)


@router.get("/me/alarms")
def alarm_tones(request: Request, actor: PageActor) -> Response:
    _own(actor)
    return render(request, "portal_alarms.html", {"tones": TONES}, actor=actor)


def _symptom_page(request: Request, actor: Actor, **extra: object) -> Response:
    return render(request, "portal_symptoms.html", {
        "symptoms": triage_form.SYMPTOMS, "tones": triage_form.TONES, "patient_view": True,
        "action": "/me/symptoms", "button": "Check", **extra}, actor=actor)


@router.get("/me/symptoms")
def symptom_checker(request: Request, actor: PageActor) -> Response:
    _own(actor)
    return _symptom_page(request, actor)


@router.post("/me/symptoms")
async def check_symptoms(request: Request, session: SessionDep, actor: PageActor,
                         now: NowDep) -> Response:
    form = await checked_form(request)
    _call, result = triage_form.take_call(session, actor, _own(actor), form, now=now)
    return _symptom_page(request, actor, result=result,
                         heading=triage_form.HEADINGS[result.disposition])
