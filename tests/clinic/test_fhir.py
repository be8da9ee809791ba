"""The FHIR export: a valid R4B Bundle with each resource kind and its references, soft
deletes honoured, the read audited and refused to roles without `export`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.clinic.conftest import NOW, actor
from tests.clinic.work_records import add_patient, interrogate, refill

from itb.clinic.db import ClinicDB
from itb.clinic.errors import NotPermitted, RecordNotFound
from itb.clinic.fhir import export_patient, export_patient_by_mrn
from itb.clinic.models import (
    AuditEntry,
    Implant,
    Patient,
    ProgramChange,
    ScreeningTrial,
    Visit,
)

KINDS = {"Patient", "Device", "DeviceUseStatement", "MedicationRequest",
         "MedicationAdministration", "Procedure", "Observation", "Provenance"}


def _history(s: Session) -> Patient:
    """A patient whose first pump was replaced, with a recorded refill visit on the new one,
    an Ashworth score, a dose increase, and one of each record soft-deleted."""
    patient, old = add_patient(s, "FHIR-1", implanted_on=date(2020, 3, 2), serial="SN-OLD")
    old.explanted_on = date(2026, 6, 1)
    new = Implant(patient_id=patient.id, pump_serial="SN-NEW", pump_model="8637-40",
                  implanted_on=date(2026, 6, 1), replaces_id=old.id, created_at=NOW)
    s.add(new)
    s.flush()
    visit = Visit(patient_id=patient.id, implant_id=new.id, kind="refill",
                  at=NOW - timedelta(days=2), session_id="sess-7f3a", ashworth=Decimal("1.5"),
                  created_at=NOW)
    s.add(visit)
    s.flush()
    interrogate(s, patient, old, NOW - timedelta(days=200), reservoir_ml=Decimal("4.5"))
    interrogate(s, patient, new, NOW - timedelta(days=2), visit_id=visit.id,
                reservoir_ml=Decimal("2.125"))
    interrogate(s, patient, new, NOW - timedelta(days=1), reservoir_ml=Decimal("9.75"),
                deleted_at=NOW)
    refill(s, patient, NOW - timedelta(days=2), visit_id=visit.id, lot="LOT-42")
    refill(s, patient, NOW - timedelta(days=1), lot="LOT-GONE", deleted_at=NOW)
    s.add(ProgramChange(patient_id=patient.id, visit_id=visit.id, at=NOW - timedelta(days=2),
                        outcome="done", daily_dose_before_mcg=Decimal("300"),
                        daily_dose_after_mcg=Decimal("330"), created_at=NOW))
    s.add(ScreeningTrial(patient_id=patient.id, started_on=date(2020, 1, 6), decision="implant",
                         created_at=NOW, boluses=[{
                             "dose_mcg": "50", "at": "2020-01-06T09:00:00+00:00",
                             "observations": [{"hour": 4, "ashworth": "1+"}]}]))
    s.add(Implant(patient_id=patient.id, pump_serial="SN-DELETED", pump_model="8637-20",
                  implanted_on=date(2026, 7, 1), deleted_at=NOW, created_at=NOW))
    return patient


def _export(db: ClinicDB, role: str = "clinician") -> dict[str, Any]:
    with db.session() as s:
        text = export_patient_by_mrn(s, actor(role), "FHIR-1", now=NOW)
    Bundle.model_validate_json(text)
    return json.loads(text)


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_bundle_validates_and_holds_each_resource_kind_with_resolving_references(
        clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        _history(s)
    bundle = _export(clinic_db)
    assert bundle["type"] == "collection"
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == KINDS
    urls = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    references = _references(bundle)
    assert len(references) > 20
    for reference in references:
        assert reference in urls, f"{reference} does not resolve in the bundle"
    devices = {d["serialNumber"]: d for d in _resources(bundle, "Device")}
    assert set(devices) == {"SN-OLD", "SN-NEW"}
    assert devices["SN-NEW"]["modelNumber"] == "8637-40"
    assert {"name": "itb simulated pump", "type": "user-friendly-name"} in (
        devices["SN-NEW"]["deviceName"])
    use = _resources(bundle, "DeviceUseStatement")
    assert {u["bodySite"]["coding"][0]["code"] for u in use} == {"72607000"}
    request = _resources(bundle, "MedicationRequest")[0]
    assert "baclofen intrathecal" in request["medicationCodeableConcept"]["text"]
    assert "2000 mcg/mL" in request["medicationCodeableConcept"]["text"]
    assert request["dosageInstruction"][0]["doseAndRate"][0]["rateQuantity"]["value"] == 300


def _references(node: Any) -> list[str]:
    """Every `reference` value anywhere in a JSON tree."""
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for item in node for r in _references(item)]
    return []


def test_program_periods_are_administrations_at_mcg_per_day_on_the_pump_of_the_day(
        clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        _history(s)
    bundle = _export(clinic_db)
    urls = {e["resource"]["id"]: e["fullUrl"] for e in bundle["entry"]}
    given = _resources(bundle, "MedicationAdministration")
    assert [(g["dosage"]["rateQuantity"]["value"], g["dosage"]["rateQuantity"]["code"],
             g["status"]) for g in given] == [(300, "ug/d", "completed"),
                                               (330, "ug/d", "in-progress")]
    assert given[0]["effectivePeriod"]["start"].startswith("2020-03-02")
    assert given[0]["effectivePeriod"]["end"] == given[1]["effectivePeriod"]["start"]
    new_pump = next(d["id"] for d in _resources(bundle, "Device")
                    if d["serialNumber"] == "SN-NEW")
    old_pump = next(d["id"] for d in _resources(bundle, "Device")
                    if d["serialNumber"] == "SN-OLD")
    assert given[0]["device"] == [{"reference": urls[old_pump]}]  # started on the first pump
    assert given[1]["device"] == [{"reference": urls[new_pump]}]


def test_procedures_observations_and_the_sessions_provenance(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        _history(s)
    bundle = _export(clinic_db)
    codes = sorted(p["code"]["coding"][0]["code"] for p in _resources(bundle, "Procedure"))
    assert codes == ["pump-implant", "pump-refill", "pump-replacement"]
    replacement = next(p for p in _resources(bundle, "Procedure")
                       if p["code"]["coding"][0]["code"] == "pump-replacement")
    assert [f["action"]["coding"][0]["code"] for f in replacement["focalDevice"]] == [
        "implanted", "removed"]
    observed = sorted((o["code"]["coding"][0]["code"], o["effectiveDateTime"][:13],
                       o.get("valueQuantity", {}).get("value", o.get("valueString")))
                      for o in _resources(bundle, "Observation"))
    assert observed == [("modified-ashworth", "2020-01-06T13", "1+"),
                        ("modified-ashworth", "2026-11-28T09", 1.5),
                        ("reservoir-volume", "2026-05-14T09", 4.5),
                        ("reservoir-volume", "2026-11-28T09", 2.125)]
    provenance = _resources(bundle, "Provenance")
    assert len(provenance) == 1 and "sess-7f3a" in provenance[0]["agent"][0]["who"]["display"]
    targets = {t["reference"] for t in provenance[0]["target"]}
    by_url = {e["fullUrl"]: e["resource"]["id"] for e in bundle["entry"]}
    assert {by_url[t] for t in targets} == {"procedure-refill-1", "observation-reservoir-2",
                                            "observation-ashworth-1"}


def test_soft_deleted_records_are_not_exported(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        patient = _history(s)
    text = json.dumps(_export(clinic_db))
    for gone in ("SN-DELETED", "LOT-GONE", "9.75"):
        assert gone not in text
    with clinic_db.session() as s:
        s.get(Patient, patient.id).deleted_at = NOW  # type: ignore[union-attr]
    with clinic_db.session() as s, pytest.raises(RecordNotFound):
        export_patient_by_mrn(s, actor("clinician"), "FHIR-1", now=NOW)
    with clinic_db.session() as s, pytest.raises(RecordNotFound):
        export_patient(s, actor("clinician"), patient.id, now=NOW)


def test_the_export_is_an_audited_read_and_refused_to_a_nurse(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        patient = _history(s)
    _export(clinic_db, "admin")
    with clinic_db.session() as s, pytest.raises(NotPermitted):
        export_patient(s, actor("nurse"), patient.id, now=NOW)
    with clinic_db.session() as s:
        audit = [(a.action, a.username, a.detail) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.patient_id == patient.id))]
    assert ("read", "test-admin", "fhir export") in audit
    assert any(action == "denied" and who == "test-nurse" for action, who, _ in audit)
