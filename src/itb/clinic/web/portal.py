"""The patient portal (role patient, linked to one record): my pump, what the alarm tones
mean, and the symptom checker. Every page reads only the patient's own record through the
same guarded, audited services as the care team's pages; a patient asking for another
record gets 403 there (and the attempt is audited)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from itb.clinic import reminders
from itb.clinic.access import Actor
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.chart import load_chart
from itb.clinic.errors import NotPermitted
from itb.clinic.patients import current_implant
from itb.clinic.web import triage_form
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


@router.get("/me")
def my_pump(request: Request, session: SessionDep, actor: PageActor, now: NowDep) -> Response:
    chart = load_chart(session, actor, _own(actor), now=now, recent=5, purpose="portal")
    return render(request, "portal.html", {
        "patient": chart.patient, "implant": current_implant(chart.patient),
        "last": chart.interrogations[0] if chart.interrogations else None,
        "calls": chart.symptom_calls[:5],
        "messages": reminders.portal_messages(session, chart.patient.id)}, actor=actor)


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
