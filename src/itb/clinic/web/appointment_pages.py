"""The appointment pages: the booking form on a patient, the day and week views per
clinician (with attended / missed / cancelled), and the reminder outbox. The services
(itb.clinic.appointments, reminders) decide; these pages only ask and show. A refused
booking shows the form again with the sentence, keeping what was typed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import appointments, patients, reminders
from itb.clinic.access import Actor
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.errors import ClinicError, InvalidRecord
from itb.clinic.models import Patient, User
from itb.clinic.web.pages import PageActor, checked_form, render

router = APIRouter(include_in_schema=False)
KIND_NAMES = {"refill": "Refill", "titration": "Titration visit",
              "replacement": "Replacement surgery", "catheter_check": "Catheter check",
              "follow_up": "Follow-up after a symptom call"}


def _staff(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.role.in_(("clinician", "nurse"))).order_by(User.username)))


def _form_page(request: Request, session: Session, actor: Actor, patient: Patient, now: Any,
               *, values: dict[str, str] | None = None, error: ClinicError | None = None,
               booked: Any = None) -> Response:
    projection = appointments.last_projection(session, patient.id)
    return render(request, "appointment_form.html", {
        "patient": patient, "kinds": KIND_NAMES, "staff": _staff(session),
        "values": values or {}, "projection": projection, "booked": booked,
        "error": None if error is None else str(error),
        "next": None if error is None else error.next_step,
        "field": error.field if isinstance(error, InvalidRecord) else None,
        "upcoming": appointments.for_patient(session, actor, patient.id, now=now)},
        status=200 if error is None else error.status, actor=actor)


@router.get("/patients/{patient_id}/book")
def booking_form(patient_id: int, request: Request, session: SessionDep, actor: PageActor,
                 now: NowDep) -> Response:
    patient = patients.read_patient(session, actor, patient_id, now=now)
    return _form_page(request, session, actor, patient, now)


@router.post("/patients/{patient_id}/book")
async def book(patient_id: int, request: Request, session: SessionDep, actor: PageActor,
               now: NowDep) -> Response:
    form = await checked_form(request)
    values = {k: str(form.get(k) or "") for k in ("kind", "starts_at", "clinician", "place",
                                                  "override_reason")}
    patient = patients.read_patient(session, actor, patient_id, now=now)
    try:
        with session.begin_nested():  # a refusal leaves nothing of the booking behind
            booked = appointments.book(session, actor, patient_id, appointments.Booking(
                kind=values["kind"], starts_at=values["starts_at"],
                clinician=values["clinician"], place=values["place"],
                override_reason=values["override_reason"] or None), now=now)
    except (InvalidRecord, appointments.SlotTaken) as refusal:
        return _form_page(request, session, actor, patient, now, values=values,
                          error=refusal)
    return _form_page(request, session, actor, patient, now, booked=booked)


@router.get("/schedule")
def schedule(request: Request, session: SessionDep, actor: PageActor, now: NowDep,
             day: Annotated[date | None, Query()] = None,
             view: Annotated[str, Query(pattern="^(day|week)$")] = "day",
             clinician: Annotated[str, Query(max_length=64)] = "") -> Response:
    first = day or now.date()
    if view == "week":
        first = first - timedelta(days=first.weekday())  # from Monday
    days = 7 if view == "week" else 1
    slots = appointments.schedule(session, actor, first, days, now=now,
                                  clinician=clinician or None)
    by_clinician: dict[str, list[appointments.Slot]] = {}
    for slot in slots:
        by_clinician.setdefault(slot.clinician, []).append(slot)
    step = timedelta(days=days)
    return render(request, "schedule.html", {
        "view": view, "first": first, "last": first + step - timedelta(days=1),
        "previous": first - step, "following": first + step, "clinician": clinician,
        "staff": _staff(session), "by_clinician": by_clinician, "kinds": KIND_NAMES},
        actor=actor)


@router.post("/appointments/{appointment_id}/status")
async def set_status(appointment_id: int, request: Request, session: SessionDep,
                     actor: PageActor, now: NowDep) -> Response:
    form = await checked_form(request)
    version = str(form.get("version") or "")
    if not version.isdigit():
        raise InvalidRecord("version", version, "the version number the page showed")
    appointment = appointments.set_status(session, actor, appointment_id,
                                          str(form.get("status") or ""),
                                          version=int(version), now=now)
    back = str(form.get("back") or "")
    target = back if back.startswith("/schedule") else f"/patients/{appointment.patient_id}"
    return RedirectResponse(target, status_code=303)


@router.get("/outbox")
def outbox(request: Request, session: SessionDep, actor: PageActor, now: NowDep) -> Response:
    messages = reminders.read_outbox(session, actor, now=now)
    shown = sorted({m.patient_id for m in messages})
    names = dict(session.execute(select(Patient.id, Patient.mrn).where(
        Patient.id.in_(shown))).all()) if shown else {}
    return render(request, "outbox.html", {"messages": messages, "mrns": names}, actor=actor)
