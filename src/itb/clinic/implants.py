"""Implants: a pump in a patient from implant to explant; a replacement explants the old
pump and implants the new one (which names the one it replaces) in one transaction."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from itb.clinic import checks, clinical, patients, records
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Implant
from itb.pump.catalogue import MODELS

# A catheter of 110 cm holds 0.286 mL (therapy catalogue [PROMETRA]: 0.0026 mL/cm); itb
# accepts up to 200 cm and 1 mL (*unconfirmed* bounds, room for other catheters).
CATHETER_CM = (Decimal("1"), Decimal("200"))
CATHETER_ML = (Decimal("0"), Decimal("1"))
EDITABLE = ("pump_model", "implanted_on", "catheter_length_cm", "catheter_volume_ml",
            "key_file", "pump_host", "pump_port")


def checked_implant_fields(fields: dict[str, Any], *, today: date) -> dict[str, Any]:
    """The boundary check of an implant's fields (422 naming the field)."""
    out: dict[str, Any] = {}
    known = {"pump_serial", *EDITABLE}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise InvalidRecord(unknown[0], fields[unknown[0]], "not a field of an implant")
    if "pump_serial" in fields:
        out["pump_serial"] = checks.text("pump_serial", fields["pump_serial"], least=1, most=64)
    if "pump_model" in fields:
        out["pump_model"] = checks.choice("pump_model", fields["pump_model"], sorted(MODELS))
    if "implanted_on" in fields:
        out["implanted_on"] = checks.day("implanted_on", fields["implanted_on"], latest=today)
    if "catheter_length_cm" in fields:
        out["catheter_length_cm"] = checks.optional_decimal(
            "catheter_length_cm", fields["catheter_length_cm"], *CATHETER_CM, unit="cm")
    if "catheter_volume_ml" in fields:
        out["catheter_volume_ml"] = checks.optional_decimal(
            "catheter_volume_ml", fields["catheter_volume_ml"], *CATHETER_ML, low_open=True,
            unit="mL")
    if "key_file" in fields:
        out["key_file"] = checks.optional_text("key_file", fields["key_file"], most=512)
    if "pump_host" in fields:
        out["pump_host"] = checks.optional_text("pump_host", fields["pump_host"], most=128)
    if "pump_port" in fields:
        out["pump_port"] = checks.optional_whole("pump_port", fields["pump_port"], 1, 65535)
    return out


def add_implant(session: Session, actor: Actor, patient_id: int, fields: dict[str, Any], *,
                now: datetime, replaces_id: int | None = None) -> Implant:
    """A new implant; the serial must not be in another live, not explanted implant."""
    records.guard(session, actor, "write_record", patient_id, now=now, entity="implants")
    checked = checked_implant_fields(fields, today=now.date())
    for needed in ("pump_serial", "pump_model", "implanted_on"):
        if needed not in checked:
            raise InvalidRecord(needed, None, "a value (the field is required)")
    if replaces_id is not None:
        checked["replaces_id"] = replaces_id
    return patients.add_implant(session, actor, patient_id, checked, now=now)


def update_implant(session: Session, actor: Actor, implant_id: int, changes: dict[str, Any],
                   *, version: int, now: datetime) -> Implant:
    implant = clinical.loaded(session, actor, Implant, implant_id, "write_record", now=now)
    if "pump_serial" in changes:
        raise InvalidRecord("pump_serial", changes["pump_serial"],
                            "unchanged: a different pump is a replacement")
    checked = checked_implant_fields(changes, today=now.date())
    if implant.explanted_on is not None and checked.get(
            "implanted_on", implant.implanted_on) > implant.explanted_on:
        raise InvalidRecord("implanted_on", checked["implanted_on"],
                            f"a date on or before the explant ({implant.explanted_on})")
    return clinical.change(session, actor, implant, checked, version=version, now=now)


def explant(session: Session, actor: Actor, implant_id: int, *, version: int, on: Any,
            reason: Any, now: datetime) -> Implant:
    """Record that the pump came out (on a date from its implant to today)."""
    implant = clinical.loaded(session, actor, Implant, implant_id, "write_record", now=now)
    if implant.explanted_on is not None:
        raise InvalidRecord("implant", implant_id,
                            f"a pump still implanted (explanted on {implant.explanted_on})")
    day = checks.day("explanted_on", on, earliest=implant.implanted_on, latest=now.date())
    why = checks.text("explant_reason", reason, least=1, most=256)
    return clinical.change(session, actor, implant,
                           {"explanted_on": day, "explant_reason": why},
                           version=version, now=now)


def replace(session: Session, actor: Actor, implant_id: int, new: dict[str, Any], *,
            version: int, on: Any, reason: Any, now: datetime) -> Implant:
    """Explant the pump and implant `new` the same day: the new implant names the old."""
    old = explant(session, actor, implant_id, version=version, on=on, reason=reason, now=now)
    fields = {"implanted_on": old.explanted_on, **new}
    return add_implant(session, actor, old.patient_id, fields, now=now, replaces_id=old.id)


_KIND = clinical.Kind(Implant, Implant.implanted_on)
list_implants = _KIND.listing
read_implant = _KIND.read
delete_implant = _KIND.delete
