"""Prescriptions: the drug and strength, the daily dose and its program (simple or flex
steps), the hard limits and the patient bolus the pump may give."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from itb.clinic import checks, clinical
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Prescription
from itb.pump.catalogue import MODELS
from itb.therapy.catalogue import BRANDS, DEFAULT_STABILITY_LIMIT_DAYS

# Strengths: the marketed ones run 50 to 2,000 mcg/mL (therapy catalogue [LIO-LABEL],
# [GAB-LABEL]); a compounded dilution may be weaker, so any strength up to 2,000.
STRENGTH = (Decimal(0), Decimal(2000))
# Daily doses: the label's reported range tops at 2,003 mcg/day (devices.md, maintenance
# ranges); a limit may sit above the dose, so limits run to 3,000 (*unconfirmed*).
DAILY_DOSE = (Decimal(0), Decimal(2003))
LIMIT = (Decimal(0), Decimal(3000))
PATIENT_BOLUS = (Decimal(0), Decimal(200))  # *unconfirmed*: itb's bound on one bolus
MAX_STEPS = max(m.max_flex_steps_per_day for m in MODELS.values())  # pump catalogue
STABILITY = int(DEFAULT_STABILITY_LIMIT_DAYS)  # [NEUROMOD-2023]: refill within 180 days
DRUGS = (*BRANDS, "baclofen (compounded)")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
FIELDS = ("drug", "strength_mcg_per_ml", "daily_dose_mcg", "program", "max_daily_dose_mcg",
          "patient_bolus_mcg", "patient_bolus_lockout_min", "patient_bolus_max_per_day",
          "stability_days", "started_on", "ended_on")


def checked_program(value: Any) -> dict[str, Any]:
    """{"mode": "simple"} or {"mode": "flex", "steps": [{"start": "HH:MM",
    "daily_rate_mcg": "…"}, …]}: steps from 00:00, in order, at most the pump's count."""
    if not isinstance(value, dict) or value.get("mode") not in ("simple", "flex") \
            or set(value) - {"mode", "steps"}:
        raise InvalidRecord("program", value, '{"mode": "simple"} or {"mode": "flex", '
                            '"steps": [...]}')
    if value["mode"] == "simple":
        if value.get("steps"):
            raise InvalidRecord("program.steps", value["steps"], "none for a simple program")
        return {"mode": "simple"}
    steps = value.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise InvalidRecord("program.steps", steps, f"a list of 1 to {MAX_STEPS} steps")
    out, previous = [], ""
    for n, step in enumerate(steps):
        where = f"program.steps[{n}]"
        if not isinstance(step, dict) or set(step) != {"start", "daily_rate_mcg"}:
            raise InvalidRecord(where, step, 'an object with "start" and "daily_rate_mcg"')
        start = step["start"]
        first = n == 0
        if not isinstance(start, str) or not _CLOCK.match(start) \
                or (first and start != "00:00") or (not first and start <= previous):
            raise InvalidRecord(f"{where}.start", start,
                                "HH:MM, 00:00 for the first step, later than the step before")
        rate = checks.decimal(f"{where}.daily_rate_mcg", step["daily_rate_mcg"], *DAILY_DOSE,
                              unit="mcg/day")
        out.append({"start": start, "daily_rate_mcg": str(rate)})
        previous = start
    return {"mode": "flex", "steps": out}


def checked_fields(fields: dict[str, Any], *, today: date) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidRecord(unknown[0], fields[unknown[0]], "not a field of a prescription")
    dec = checks.decimal
    odec = checks.optional_decimal
    rules: dict[str, Any] = {
        "drug": lambda v: checks.choice("drug", v, DRUGS),
        "strength_mcg_per_ml": lambda v: dec("strength_mcg_per_ml", v, *STRENGTH,
                                             low_open=True, unit="mcg/mL"),
        "daily_dose_mcg": lambda v: dec("daily_dose_mcg", v, *DAILY_DOSE, unit="mcg/day"),
        "program": checked_program,
        "max_daily_dose_mcg": lambda v: odec("max_daily_dose_mcg", v, *LIMIT, low_open=True,
                                             unit="mcg/day"),
        "patient_bolus_mcg": lambda v: odec("patient_bolus_mcg", v, *PATIENT_BOLUS,
                                            low_open=True, unit="mcg"),
        "patient_bolus_lockout_min": lambda v: checks.optional_whole(
            "patient_bolus_lockout_min", v, 0, 1440, unit="minutes"),
        "patient_bolus_max_per_day": lambda v: checks.optional_whole(
            "patient_bolus_max_per_day", v, 1, 24),
        "stability_days": lambda v: checks.optional_whole("stability_days", v, 1, STABILITY,
                                                          unit="days"),
        "started_on": lambda v: checks.day("started_on", v,
                                           latest=today + timedelta(days=366)),
        "ended_on": lambda v: checks.optional_day("ended_on", v),
    }
    return {key: rules[key](value) for key, value in fields.items()}


def _consistent(record: dict[str, Any]) -> None:
    """Checks across fields, on the record as it would be saved."""
    limit, dose = record.get("max_daily_dose_mcg"), record.get("daily_dose_mcg")
    if limit is not None and dose is not None and limit < dose:
        raise InvalidRecord("max_daily_dose_mcg", limit,
                            f"at least the daily dose ({dose} mcg/day)")
    ended, started = record.get("ended_on"), record.get("started_on")
    if ended is not None and started is not None and ended < started:
        raise InvalidRecord("ended_on", ended, f"a date on or after started_on ({started})")


def add_prescription(session: Session, actor: Actor, patient_id: int, fields: dict[str, Any],
                     *, now: datetime) -> Prescription:
    """A prescription: a prescriber's act (role clinician), audited."""
    clinical.may(session, actor, Prescription, patient_id, now=now, permission="program_pump")
    checked = checked_fields(fields, today=now.date())
    for needed in ("drug", "strength_mcg_per_ml", "daily_dose_mcg", "started_on"):
        if needed not in checked:
            raise InvalidRecord(needed, None, "a value (the field is required)")
    checked.setdefault("program", {"mode": "simple"})
    _consistent(checked)
    record = Prescription(patient_id=patient_id, prescriber_id=actor.user_id, **checked)
    return clinical.add(session, actor, record, now=now, permission="program_pump")


def update_prescription(session: Session, actor: Actor, prescription_id: int,
                        changes: dict[str, Any], *, version: int,
                        now: datetime) -> Prescription:
    found = clinical.loaded(session, actor, Prescription, prescription_id, "program_pump",
                            now=now)
    checked = checked_fields(changes, today=now.date())
    _consistent({key: getattr(found, key) for key in FIELDS} | checked)
    return clinical.change(session, actor, found, checked, version=version, now=now)


_KIND = clinical.Kind(Prescription, Prescription.started_on)
list_prescriptions = _KIND.listing
read_prescription = _KIND.read
delete_prescription = _KIND.delete
