"""Screening trials: the test boluses, the hourly observations after each, and the
decision (implant, no implant, or repeat the trial)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from itb.clinic import checks, clinical
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import ScreeningTrial
from itb.therapy.catalogue import SCREENING_DOSES_MCG, SCREENING_OBSERVATION_MAX_H
from itb.therapy.screening import ASHWORTH_GRADES, PENN_SPASM_FREQUENCY_MAX

DECISIONS = ("implant", "no_implant", "repeat")
# Test boluses: 50, 75 then 100 mcg (therapy catalogue, label); a small child may get
# 25 mcg; itb records any dose up to the largest (one trial has at most one bolus a day
# over a few days: at most 10 recorded, *unconfirmed*).
BOLUS_MCG = (Decimal(0), Decimal(int(max(SCREENING_DOSES_MCG))))
MAX_BOLUSES = 10
# Observed for 4 to 8 hours after each bolus (label, therapy catalogue); itb takes hours
# 0 to 24 so a late check is kept too (*unconfirmed*).
OBSERVATION_HOURS = (0, max(24, SCREENING_OBSERVATION_MAX_H))
FIELDS = ("started_on", "boluses", "decision", "notes")


def _observation(where: str, value: Any) -> dict[str, Any]:
    allowed = {"hour", "ashworth", "spasm_frequency", "notes"}
    if not isinstance(value, dict) or not {"hour", "ashworth"} <= set(value) <= allowed:
        raise InvalidRecord(where, value, 'an object with "hour" and "ashworth" (and '
                            '"spasm_frequency", "notes")')
    out: dict[str, Any] = {
        "hour": checks.whole(f"{where}.hour", value["hour"], *OBSERVATION_HOURS),
        "ashworth": checks.choice(f"{where}.ashworth", value["ashworth"],
                                  list(ASHWORTH_GRADES)),
    }
    if value.get("spasm_frequency") is not None:
        out["spasm_frequency"] = checks.whole(f"{where}.spasm_frequency",
                                              value["spasm_frequency"], 0,
                                              PENN_SPASM_FREQUENCY_MAX)
    if value.get("notes"):
        out["notes"] = checks.text(f"{where}.notes", value["notes"], most=500, lines=True)
    return out


def checked_boluses(value: Any, *, latest: datetime) -> list[dict[str, Any]]:
    """[{"dose_mcg": "50", "at": ISO time, "observations": [{"hour", "ashworth", ...}]}]"""
    if not isinstance(value, list) or len(value) > MAX_BOLUSES:
        raise InvalidRecord("boluses", value, f"a list of at most {MAX_BOLUSES} boluses")
    out = []
    for n, bolus in enumerate(value):
        where = f"boluses[{n}]"
        if not isinstance(bolus, dict) or not {"dose_mcg", "at"} <= set(bolus) <= {
                "dose_mcg", "at", "observations"}:
            raise InvalidRecord(where, bolus, 'an object with "dose_mcg", "at" and '
                                '"observations"')
        dose = checks.decimal(f"{where}.dose_mcg", bolus["dose_mcg"], *BOLUS_MCG,
                              low_open=True, unit="mcg")
        at = checks.moment(f"{where}.at", bolus["at"], latest=latest)
        seen = bolus.get("observations") or []
        if not isinstance(seen, list) or len(seen) > 25:
            raise InvalidRecord(f"{where}.observations", seen, "a list of at most 25")
        out.append({"dose_mcg": str(dose), "at": at.isoformat(),
                    "observations": [_observation(f"{where}.observations[{i}]", o)
                                     for i, o in enumerate(seen)]})
    return out


def checked_fields(fields: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidRecord(unknown[0], fields[unknown[0]], "not a field of a screening trial")
    today: date = now.date()
    rules: dict[str, Any] = {
        "started_on": lambda v: checks.day("started_on", v, latest=today),
        "boluses": lambda v: checked_boluses(v, latest=now + timedelta(minutes=5)),
        "decision": lambda v: checks.choice("decision", v, DECISIONS),
        "notes": lambda v: checks.text("notes", v, most=4000, lines=True),
    }
    return {key: rules[key](value) for key, value in fields.items()}


def add_trial(session: Session, actor: Actor, patient_id: int, fields: dict[str, Any], *,
              now: datetime) -> ScreeningTrial:
    clinical.may(session, actor, ScreeningTrial, patient_id, now=now)
    checked = checked_fields(fields, now=now)
    for needed in ("started_on", "decision"):
        if needed not in checked:
            raise InvalidRecord(needed, None, "a value (the field is required)")
    record = ScreeningTrial(patient_id=patient_id, **{"boluses": [], "notes": "", **checked})
    return clinical.add(session, actor, record, now=now)


def update_trial(session: Session, actor: Actor, trial_id: int, changes: dict[str, Any], *,
                 version: int, now: datetime) -> ScreeningTrial:
    found = clinical.loaded(session, actor, ScreeningTrial, trial_id, "write_record", now=now)
    checked = checked_fields(changes, now=now)
    return clinical.change(session, actor, found, checked, version=version, now=now)


_KIND = clinical.Kind(ScreeningTrial, ScreeningTrial.started_on)
list_trials = _KIND.listing
read_trial = _KIND.read
delete_trial = _KIND.delete
