"""One writer per kind of journal entry: the entry's details as a clinic record.

The details are what the programmer journaled (itb.programmer.workflows: `visit.record`):
an interrogation holds the pump's view (itb.programmer.view.view_to_json), a refill its
record (itb.programmer.refill.RefillRecord.to_json with the drug's lot, expiry, checks), a
program change its review (before, after, titration findings, override reason). Each
writer returns the table's name and the record it created (through records.create).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from itb.clinic import recording_values as values
from itb.clinic import records
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Base, Interrogation, ProgramChange, RefillRecord, SessionAct, Visit
from itb.clinic.recording_values import EntryIn

# the pump's battery states at or past the elective replacement indicator (itb.pump.pump)
ERI_STATES = ("elective_replacement", "end_of_service")


def _create(session: Session, actor: Actor, visit: Visit, record: Base, *,
            now: datetime) -> tuple[str, Base]:
    records.create(session, actor, record, now=now, patient_id=visit.patient_id)
    return records.entity_name(record), record


def _with_words(details: dict[str, Any], words: str) -> dict[str, Any]:
    """The details, with the programmer's full outcome words if the column shortened them."""
    if values.outcome(words) == words:
        return details
    return {**details, "outcome_words": words}


def _alarms(field: str, alarms: Any) -> list[dict[str, Any]]:
    if alarms is None:
        return []
    if not isinstance(alarms, list) or not all(isinstance(a, dict) for a in alarms):
        raise InvalidRecord(field, alarms, "a list of the pump's alarms")
    return [{"name": values.required_text(f"{field}.kind", a.get("kind"), 64),
             "critical": a.get("critical") is True, "since": a.get("since"),
             "sounding": a.get("sounding"), "acknowledged": a.get("acknowledged")}
            for a in alarms]


def write_interrogation(session: Session, actor: Actor, entry: EntryIn, visit: Visit, *,
                        now: datetime, key: str = "interrogation") -> tuple[str, Base]:
    """The pump as read: reservoir estimate, strength, dose, alarms, battery and its dates,
    and the dates the pump projected (refill by, low-reservoir alarm, empty)."""
    field = f"details.{key}"
    data = values.mapping(field, entry.details.get(key))
    q = {key: values.quantity(f"{field}.{key}", data.get(key)) for key in
         ("reservoir_estimate_ml", "concentration_mcg_per_ml", "daily_dose_mcg")}
    t = {key: values.instant(f"{field}.{key}", data.get(key)) for key in
         ("pump_time", "refill_by", "low_reservoir_alarm_at", "empty_at", "battery_eri_at",
          "battery_eos_at")}
    battery = values.text(f"{field}.battery_status", data.get("battery_status"), 64)
    record = Interrogation(
        patient_id=visit.patient_id, implant_id=visit.implant_id, visit_id=visit.id,
        at=entry.at, pump_time=t["pump_time"] or entry.pump_time,
        reservoir_ml=q["reservoir_estimate_ml"], strength_mcg_per_ml=q["concentration_mcg_per_ml"],
        daily_dose_mcg=q["daily_dose_mcg"], alarms=_alarms(f"{field}.alarms", data.get("alarms")),
        battery=battery, eri=battery in ERI_STATES, refill_by=t["refill_by"],
        low_alarm_at=t["low_reservoir_alarm_at"], empty_at=t["empty_at"],
        eri_at=t["battery_eri_at"], end_of_service_at=t["battery_eos_at"])
    return _create(session, actor, visit, record, now=now)


def write_refill(session: Session, actor: Actor, entry: EntryIn, visit: Visit, *,
                 now: datetime) -> tuple[str, Base]:
    """The refill record: volumes, discrepancy, drug, lot, expiry, bridge, checks."""
    field = "details.refill"
    data = values.mapping(field, entry.details.get("refill"))
    q = {key: values.quantity(f"{field}.{key}", data.get(key)) for key in
         ("withdrawn_ml", "expected_residual_ml", "discrepancy_ml", "added_ml",
          "concentration_mcg_per_ml", "wasted_ml")}
    bridge = values.mapping(f"{field}.bridge_bolus", data.get("bridge_bolus"))
    record = RefillRecord(
        patient_id=visit.patient_id, visit_id=visit.id, at=entry.at,
        outcome=values.outcome(entry.outcome), withdrawn_ml=q["withdrawn_ml"],
        expected_ml=q["expected_residual_ml"], discrepancy_ml=q["discrepancy_ml"],
        added_ml=q["added_ml"], strength_mcg_per_ml=q["concentration_mcg_per_ml"],
        drug=values.text(f"{field}.drug", data.get("drug"), 64),
        lot=values.text(f"{field}.lot", data.get("lot"), 64),
        expiry=values.day(f"{field}.expiry", data.get("expiry")),
        bridge_bolus_mcg=values.quantity(f"{field}.bridge_bolus.old_drug_mcg",
                                         bridge.get("old_drug_mcg")),
        wasted_ml=q["wasted_ml"],
        second_checker=values.text(f"{field}.second_check_of_strength_and_program_by",
                                   data.get("second_check_of_strength_and_program_by"), 64),
        pocket_check=values.text(f"{field}.pocket_and_skin_check",
                                 data.get("pocket_and_skin_check"), 128),
        details=_with_words(data, entry.outcome))
    written = _create(session, actor, visit, record, now=now)
    if entry.details.get("pump_after") is not None:
        # the pump as read after the refill: the newest projection the worklists go by
        write_interrogation(session, actor, entry, visit, now=now, key="pump_after")
    return written


def write_program(session: Session, actor: Actor, entry: EntryIn, visit: Visit, *,
                  now: datetime) -> tuple[str, Base]:
    """A program change (sent, refused, cancelled): before and after, the daily doses, the
    override reason and the titration rule's findings (in details)."""
    data = entry.details
    reason = data.get("override_reason")
    record = ProgramChange(
        patient_id=visit.patient_id, visit_id=visit.id, at=entry.at,
        outcome=values.outcome(entry.outcome),
        daily_dose_before_mcg=values.quantity("details.previous_daily_dose_mcg",
                                              data.get("previous_daily_dose_mcg")),
        daily_dose_after_mcg=values.quantity("details.daily_dose_mcg",
                                             data.get("daily_dose_mcg")),
        before=values.mapping("details.previous", data.get("previous")),
        after=values.mapping("details.new", data.get("new")),
        override_reason=None if reason is None
        else values.required_text("details.override_reason", reason, 4000),
        details=_with_words(data, entry.outcome))
    return _create(session, actor, visit, record, now=now)


def write_act(session: Session, actor: Actor, entry: EntryIn, visit: Visit, *,
              now: datetime) -> tuple[str, Base]:
    """Any other act (bolus, stop, resume, alarm acknowledgement, emergency, settings)."""
    details = _with_words(entry.details, entry.outcome)
    record = SessionAct(patient_id=visit.patient_id, visit_id=visit.id, at=entry.at,
                        kind=entry.kind, outcome=values.outcome(entry.outcome),
                        summary=entry.summary, details=details)
    return _create(session, actor, visit, record, now=now)


WRITERS: dict[str, Callable[..., tuple[str, Base]]] = {
    "interrogation": write_interrogation, "refill": write_refill, "program": write_program}
