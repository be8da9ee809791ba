"""Patients and implants: create, read (audited), search, update, soft delete."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.errors import DuplicateRecord, InvalidRecord
from itb.clinic.models import ORIGINS, Implant, Patient

# weights a real patient can have: a small child to a heavy adult (itb's bound, *unconfirmed*)
WEIGHT_KG = (Decimal("2"), Decimal("350"))


def checked_patient_fields(fields: dict[str, Any], *, today: date) -> dict[str, Any]:
    """The boundary check of a patient's fields (422 naming the field)."""
    out = dict(fields)
    if "mrn" in out:
        mrn = str(out["mrn"]).strip()
        if not (1 <= len(mrn) <= 32) or not mrn.replace("-", "").isalnum():
            raise InvalidRecord("mrn", out["mrn"], "1 to 32 letters, digits or '-'")
        out["mrn"] = mrn
    if "name" in out and not (1 <= len(str(out["name"]).strip()) <= 128):
        raise InvalidRecord("name", out["name"], "1 to 128 characters")
    if "origin" in out and out["origin"] not in ORIGINS:
        raise InvalidRecord("origin", out["origin"], "one of: " + ", ".join(ORIGINS))
    if "date_of_birth" in out:
        born = out["date_of_birth"]
        if not isinstance(born, date) or born > today or born.year < 1900:
            raise InvalidRecord("date_of_birth", born, f"a date from 1900-01-01 to {today}")
    if "weight_kg" in out:
        try:
            weight = Decimal(str(out["weight_kg"]))
        except InvalidOperation:
            weight = Decimal("NaN")
        if not weight.is_finite() or not WEIGHT_KG[0] <= weight <= WEIGHT_KG[1]:
            raise InvalidRecord("weight_kg", out["weight_kg"],
                                f"{WEIGHT_KG[0]} to {WEIGHT_KG[1]} kg")
        out["weight_kg"] = weight
    if "refill_interval_days" in out and not 7 <= int(out["refill_interval_days"]) <= 190:
        # refills every 1 to 6 months (domain.md); a week is the shortest itb allows
        raise InvalidRecord("refill_interval_days", out["refill_interval_days"], "7 to 190 days")
    return out


def create_patient(session: Session, actor: Actor, fields: dict[str, Any], *,
                   now: datetime) -> Patient:
    records.guard(session, actor, "write_record", None, now=now, entity="patients")
    checked = checked_patient_fields(fields, today=now.date())
    taken = session.scalars(select(Patient).where(Patient.mrn == checked["mrn"])).first()
    if taken is not None:
        raise DuplicateRecord(f"Record number {checked['mrn']!r} is already a patient's.")
    patient = Patient(**checked)
    records.create(session, actor, patient, now=now, patient_id=None)
    return patient


def read_patient(session: Session, actor: Actor, patient_id: int, *, now: datetime) -> Patient:
    """A patient's record, the read audited (a patient may read only their own)."""
    records.guard(session, actor, "read_record", patient_id, now=now, entity="patients",
                  entity_id=patient_id)
    patient = records.live(session, Patient, patient_id)
    audit.record(session, actor, "read", "patients", now=now, entity_id=patient_id,
                 patient_id=patient_id)
    return patient


def search_patients(session: Session, actor: Actor, text: str = "", *, now: datetime,
                    limit: int = 50) -> list[Patient]:
    """Live patients whose name or record number contains `text` (case-insensitive); the
    read is audited like a record's: what was looked for and whose records it showed."""
    records.guard(session, actor, "read_worklist", None, now=now, entity="patients")
    query = select(Patient).where(Patient.deleted_at.is_(None))
    if text.strip():
        like = f"%{text.strip().lower()}%"
        query = query.where(or_(Patient.mrn.ilike(like), Patient.name.ilike(like)))
    found = list(session.scalars(query.order_by(Patient.name).limit(limit)))
    audit.record(session, actor, "read", "patients", now=now,
                 detail=f"search {text.strip()!r}: {len(found)} shown" + (
                     " (ids " + ", ".join(str(p.id) for p in found) + ")" if found else ""))
    return found


def update_patient(session: Session, actor: Actor, patient_id: int, changes: dict[str, Any],
                   *, version: int, now: datetime) -> Patient:
    records.guard(session, actor, "write_record", patient_id, now=now, entity="patients",
                  entity_id=patient_id)
    patient = records.live(session, Patient, patient_id)
    checked = checked_patient_fields(changes, today=now.date())
    return records.update(session, actor, patient, checked, now=now,
                          expected_version=version, patient_id=patient_id)


def delete_patient(session: Session, actor: Actor, patient_id: int, *, version: int,
                   now: datetime) -> Patient:
    records.guard(session, actor, "delete_record", patient_id, now=now, entity="patients",
                  entity_id=patient_id)
    patient = records.live(session, Patient, patient_id)
    return records.soft_delete(session, actor, patient, now=now, expected_version=version,
                               patient_id=patient_id)


def add_implant(session: Session, actor: Actor, patient_id: int, fields: dict[str, Any], *,
                now: datetime) -> Implant:
    records.guard(session, actor, "write_record", patient_id, now=now, entity="implants")
    records.live(session, Patient, patient_id)
    serial = str(fields.get("pump_serial", "")).strip()
    if not 1 <= len(serial) <= 64:
        raise InvalidRecord("pump_serial", fields.get("pump_serial"), "1 to 64 characters")
    in_use = session.scalars(select(Implant).where(
        Implant.pump_serial == serial, Implant.explanted_on.is_(None),
        Implant.deleted_at.is_(None))).first()
    if in_use is not None:
        raise DuplicateRecord(f"Pump {serial} is already implanted (implant {in_use.id}).")
    implant = Implant(patient_id=patient_id, **{**fields, "pump_serial": serial})
    return records.create(session, actor, implant, now=now, patient_id=patient_id)


def current_implant(patient: Patient) -> Implant | None:
    """The pump in the patient now: the newest implant not explanted nor deleted."""
    live_ones = [i for i in patient.implants if i.explanted_on is None and i.deleted_at is None]
    return live_ones[-1] if live_ones else None
