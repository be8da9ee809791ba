"""/api/patients/{id}/appointments, /api/appointments/{id}, /api/schedule, /api/reminders and
/api/escalations: booking (checked against the pump's last interrogation), attended /
missed / cancelled, a clinician's day or week, the reminder outbox and the missed refills
being chased. The services decide (itb.clinic.appointments, reminders, escalations; the
rules are in docs/clinic-appointments.md); these routes only read the request and answer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from itb.clinic import appointments, escalations, reminders
from itb.clinic.api.common import ERRORS, Day, Line, Strict, Version
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep
from itb.clinic.api.record_routes import RecordRoutes

router = APIRouter(tags=["appointments"], responses=ERRORS)
Kind = Literal[appointments.KINDS]  # type: ignore[valid-type]
Username = Line(64, 1)
Place = Line(appointments.PLACE_CHARS)
Reason = Line(appointments.REASON_CHARS, 1)


class BookingIn(Strict):
    kind: Kind
    starts_at: Annotated[str, Field(min_length=1, max_length=64, description=(
        "ISO-8601 with a UTC offset, or a local time in the patient's time zone (a local "
        "time in a daylight-saving gap or repeat is refused: give the offset)"))]
    clinician: Username = Field(description="The username of the clinician (or nurse, for "
                                "a refill or a follow-up) booked.")
    place: Place = ""
    override_reason: Reason | None = Field(None, description=(
        "Needed to book a refill after the refill-by date or so early that drug is "
        "wasted (or a replacement past its lead time); no reason books past the "
        "low-reservoir alarm date or the end of service."))


class StatusChange(Strict):
    version: Version
    status: Literal["attended", "missed", "cancelled"] = Field(description=(
        "attended or missed once the visit has started; cancelled at any time. A missed "
        "refill raises an escalation; an attended visit closes the patient's."))


class AppointmentOut(BaseModel):
    id: int
    version: int
    patient_id: int
    kind: str
    starts_at: datetime
    minutes: int
    place: str
    clinician_id: int
    status: str
    status_at: datetime | None
    override_reason: str | None
    window: str = Field(description="The booking window as checked, in words.")


def _book_fields(body: BaseModel) -> appointments.Booking:
    return appointments.Booking(**body.model_dump())


routes = RecordRoutes(router, "appointment", "/api/appointments", "appointments",
                      AppointmentOut)
routes.listing("list_appointments", appointments.for_patient)
routes.add("book_appointment", BookingIn, appointments.book, fields=_book_fields, doc=(
    "Book a visit: 422 naming the field outside the booking window (or without a needed "
    "override reason), 409 if the clinician or the patient is already booked then."))
routes.read(appointments.read_appointment)
routes.update(StatusChange, appointments.set_status, fields=lambda body: body.status)


class SlotOut(BaseModel):
    appointment: AppointmentOut
    mrn: str
    patient_name: str
    local_start: str = Field(description="The start in the patient's time zone.")


class ClinicianSchedule(BaseModel):
    clinician: str
    appointments: list[SlotOut]


class ScheduleOut(BaseModel):
    view: str
    first_day: date
    last_day: date
    clinicians: list[ClinicianSchedule]


@router.get("/api/schedule")
def schedule(session: SessionDep, actor: ActorDep, now: NowDep,
             day: Annotated[Day | None, Query()] = None,
             view: Annotated[Literal["day", "week"], Query()] = "day",
             clinician: Annotated[Username | None, Query()] = None) -> ScheduleOut:
    """A day (UTC) or a week (from its Monday) of the clinic's visits, per clinician."""
    first = day or now.date()
    if view == "week":
        first -= timedelta(days=first.weekday())
    days = 7 if view == "week" else 1
    by_clinician: dict[str, list[SlotOut]] = {}
    for slot in appointments.schedule(session, actor, first, days, now=now,
                                      clinician=clinician):
        by_clinician.setdefault(slot.clinician, []).append(SlotOut(
            appointment=AppointmentOut.model_validate(slot.appointment, from_attributes=True),
            mrn=slot.patient.mrn, patient_name=slot.patient.name,
            local_start=slot.local_start))
    return ScheduleOut(view=view, first_day=first, last_day=first + timedelta(days=days - 1),
                       clinicians=[ClinicianSchedule(clinician=name, appointments=slots)
                                   for name, slots in by_clinician.items()])


class ReminderOut(BaseModel):
    id: int
    appointment_id: int
    patient_id: int
    channel: str
    offset_minutes: int
    due_at: datetime
    to: str
    subject: str
    body: str
    status: str = Field(description="pending, sent or cancelled")
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("/api/reminders")
def list_reminders(session: SessionDep, actor: ActorDep, now: NowDep,
                   limit: Annotated[int, Query(ge=1, le=500)] = 500) -> list[ReminderOut]:
    """The reminder outbox, newest due first (`itb clinic reminders send` sends them)."""
    return [ReminderOut.model_validate(m, from_attributes=True)
            for m in reminders.read_outbox(session, actor, now=now, limit=limit)]


class EscalationOut(BaseModel):
    id: int
    version: int
    patient_id: int
    mrn: str
    patient_name: str
    phone: str | None
    appointment_id: int
    missed_at: datetime
    raised_at: datetime
    urgency: str = Field(description="critical, high or moderate, as of now")
    misses_in_a_row: int
    low_alarm_at: datetime | None
    empty_at: datetime | None
    left: str = Field(description="Days left to the low-reservoir alarm and to empty.")
    reason: str
    call_script: list[str]


def _escalation(found: escalations.OpenEscalation) -> EscalationOut:
    e, patient = found.escalation, found.patient
    return EscalationOut(
        id=e.id, version=e.version, patient_id=patient.id, mrn=patient.mrn,
        patient_name=patient.name, phone=patient.phone, appointment_id=e.appointment_id,
        missed_at=found.missed_at, raised_at=e.raised_at, urgency=found.urgency,
        misses_in_a_row=e.misses_in_a_row, low_alarm_at=e.low_alarm_at, empty_at=e.empty_at,
        left=found.left, reason=e.reason, call_script=list(escalations.CALL_SCRIPT))


@router.get("/api/escalations")
def list_escalations(session: SessionDep, actor: ActorDep,
                     now: NowDep) -> list[EscalationOut]:
    """The missed refills being chased, most urgent first. One closes when a refill is
    booked again for the patient (`POST /api/patients/{id}/appointments`), when the patient
    attends a visit (`PATCH /api/appointments/{id}` `attended`), or when a refill or an
    interrogation is recorded after the missed visit."""
    return [_escalation(o) for o in escalations.open_escalations(session, actor, now=now)]

