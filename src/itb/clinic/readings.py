"""Refills and program changes, read only: the programmer's recordings write them
(itb.clinic.recording); here the care team and the patient read them, audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from itb.clinic import clinical
from itb.clinic.access import Actor
from itb.clinic.models import ProgramChange, RefillRecord


def list_refills(session: Session, actor: Actor, patient_id: int, *,
                 now: datetime) -> list[RefillRecord]:
    return clinical.list_for_patient(session, actor, RefillRecord, patient_id, now=now,
                                     order=RefillRecord.at)


def read_refill(session: Session, actor: Actor, refill_id: int, *,
                now: datetime) -> RefillRecord:
    return clinical.read_one(session, actor, RefillRecord, refill_id, now=now)


def list_program_changes(session: Session, actor: Actor, patient_id: int, *,
                         now: datetime) -> list[ProgramChange]:
    return clinical.list_for_patient(session, actor, ProgramChange, patient_id, now=now,
                                     order=ProgramChange.at)


def read_program_change(session: Session, actor: Actor, change_id: int, *,
                        now: datetime) -> ProgramChange:
    return clinical.read_one(session, actor, ProgramChange, change_id, now=now)
