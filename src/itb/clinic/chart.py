"""A patient's chart: every live record the patient page and the FHIR export show, read at
once (one query per kind of record, each served by its `patient_id` index) and audited as
one read of the patient's record.

Soft-deleted records are left out, and so is whatever hangs off a soft-deleted implant
(its interrogations). `recent` bounds the per-kind lists (newest first) for a page; the
export asks for everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.models import (
    Implant,
    Interrogation,
    Patient,
    Prescription,
    ProgramChange,
    RefillRecord,
    ScreeningTrial,
    SessionAct,
    SymptomCall,
    Visit,
)


@dataclass
class Chart:
    """One patient's live records; lists are newest first."""

    patient: Patient
    implants: list[Implant] = field(default_factory=list)
    prescriptions: list[Prescription] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    interrogations: list[Interrogation] = field(default_factory=list)
    refills: list[RefillRecord] = field(default_factory=list)
    program_changes: list[ProgramChange] = field(default_factory=list)
    session_acts: list[SessionAct] = field(default_factory=list)
    symptom_calls: list[SymptomCall] = field(default_factory=list)
    screening_trials: list[ScreeningTrial] = field(default_factory=list)


def _newest(session: Session, model: Any, order: Any, patient_id: int,
            recent: int | None) -> list[Any]:
    query = (select(model).where(model.patient_id == patient_id, model.deleted_at.is_(None))
             .order_by(order.desc(), model.id.desc()))
    if recent is not None:
        query = query.limit(recent)
    return list(session.scalars(query))


def load_chart(session: Session, actor: Actor, patient_id: int, *, now: datetime,
               recent: int | None = 20, purpose: str = "chart") -> Chart:
    """The patient's chart (404 if missing or deleted); the read is audited."""
    records.guard(session, actor, "read_record", patient_id, now=now, entity="patients",
                  entity_id=patient_id)
    patient = records.live(session, Patient, patient_id)
    implants = _newest(session, Implant, Implant.implanted_on, patient_id, None)
    live_implants = {implant.id for implant in implants}
    interrogations = [row for row in _newest(session, Interrogation, Interrogation.at,
                                             patient_id, recent)
                      if row.implant_id is None or row.implant_id in live_implants]
    chart = Chart(
        patient=patient, implants=implants,
        prescriptions=_newest(session, Prescription, Prescription.started_on, patient_id,
                              None),
        visits=_newest(session, Visit, Visit.at, patient_id, recent),
        interrogations=interrogations,
        refills=_newest(session, RefillRecord, RefillRecord.at, patient_id, recent),
        program_changes=_newest(session, ProgramChange, ProgramChange.at, patient_id, recent),
        session_acts=_newest(session, SessionAct, SessionAct.at, patient_id, recent),
        symptom_calls=_newest(session, SymptomCall, SymptomCall.at, patient_id, recent),
        screening_trials=_newest(session, ScreeningTrial, ScreeningTrial.started_on,
                                 patient_id, recent))
    audit.record(session, actor, "read", "patients", now=now, entity_id=patient_id,
                 patient_id=patient_id, detail=purpose)
    return chart
