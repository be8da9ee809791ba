"""A patient's page: the record as the care team reads it (one audited chart read,
itb.clinic.chart), the 24-hour dose profile of the current prescription, the timeline plot
(`plot`), and for admins the audit of this record.

Nothing here is a clinical rule: the profile is the prescription's program run through
itb.therapy.flex (the same arithmetic the programmer uses), shown rounded for display only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import records
from itb.clinic.access import Actor, allowed
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.chart import Chart, load_chart
from itb.clinic.models import AuditEntry, Prescription
from itb.clinic.patients import current_implant
from itb.clinic.web import plot
from itb.clinic.web.pages import PageActor, render
from itb.errors import InvalidInput
from itb.therapy.flex import FlexSchedule, constant_schedule, make_schedule, volume_delivered_nl
from itb.therapy.units import NL_PER_ML, display

router = APIRouter(include_in_schema=False)
AUDIT_SHOWN = 100  # newest audit entries on the page


@dataclass(frozen=True)
class HourDose:
    hour: int
    mcg: str  # rounded for display


def _schedule(prescription: Prescription) -> FlexSchedule | None:
    program = prescription.program or {}
    try:
        if program.get("mode") == "flex" and program.get("steps"):
            return make_schedule([(s["start"], s["daily_rate_mcg"]) for s in program["steps"]],
                                 "UTC", "prescription")
        return constant_schedule(prescription.daily_dose_mcg)
    except (InvalidInput, KeyError, TypeError):
        return None  # a program the therapy rules cannot model: no profile shown


def dose_profile(prescription: Prescription | None) -> list[HourDose]:
    """mcg in each hour of the program's day (exact sums, rounded to 0.01 for display)."""
    if prescription is None:
        return []
    schedule = _schedule(prescription)
    if schedule is None:
        return []
    strength = Fraction(prescription.strength_mcg_per_ml or 1) or Fraction(1)
    day = datetime(2000, 1, 3, tzinfo=UTC)  # any day: the program repeats daily
    rows = []
    for hour in range(24):
        start = day + timedelta(hours=hour)
        volume = volume_delivered_nl(schedule, strength, start, start + timedelta(hours=1))
        rows.append(HourDose(hour, display(volume * strength / NL_PER_ML, 2)))
    return rows


def _current(prescriptions: list[Prescription], today: Any) -> Prescription | None:
    live = [p for p in prescriptions if p.started_on <= today
            and (p.ended_on is None or p.ended_on >= today)]
    return live[0] if live else None  # newest first (chart order)


def audit_rows(session: Session, actor: Actor, patient_id: int, *,
               now: datetime) -> list[AuditEntry] | None:
    """The newest audit entries of this record, for a role that may read the audit."""
    if not allowed(actor, "read_audit"):
        return None
    records.guard(session, actor, "read_audit", None, now=now, entity="audit")
    return list(session.scalars(select(AuditEntry).where(AuditEntry.patient_id == patient_id)
                                .order_by(AuditEntry.id.desc()).limit(AUDIT_SHOWN)))


def page_context(session: Session, actor: Actor, chart: Chart, now: datetime
                 ) -> dict[str, Any]:
    patient = chart.patient
    prescription = _current(chart.prescriptions, now.date())
    return {
        "patient": patient, "chart": chart, "implant": current_implant(patient),
        "last": chart.interrogations[0] if chart.interrogations else None,
        "prescription": prescription, "profile": dose_profile(prescription),
        "plot_version": plot.fingerprint(session, patient.id),
        "audit": audit_rows(session, actor, patient.id, now=now),
        "may_export": allowed(actor, "export"),
        "may_write": allowed(actor, "write_record", patient.id),
        "may_call": allowed(actor, "symptom_call", patient.id),
        "may_visit": allowed(actor, "record_session", patient.id),  # the visit (visit_routes)
    }


@router.get("/patients/{patient_id}")
def patient_page(patient_id: int, request: Request, session: SessionDep, actor: PageActor,
                 now: NowDep) -> Response:
    chart = load_chart(session, actor, patient_id, now=now, purpose="web page")
    return render(request, "patient.html", page_context(session, actor, chart, now),
                  actor=actor)


@router.get("/patients/{patient_id}/timeline.png")
def timeline(patient_id: int, session: SessionDep, actor: PageActor, now: NowDep) -> Response:
    png = plot.timeline_png(session, actor, patient_id, now=now)
    return Response(png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})
