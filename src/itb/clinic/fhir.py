"""One patient's record as a FHIR R4B Bundle (type `collection`), validated by
`fhir.resources.R4B` before it leaves: the Bundle is built, parsed as a `Bundle`, written as
JSON, and that JSON parsed back as a `Bundle` again.

What goes in (only live records: the chart leaves soft-deleted ones out):

- Patient (record number as identifier); Device per implant (serial, model, "itb simulated
  pump"); DeviceUseStatement per implant with the intrathecal body site;
- MedicationRequest per prescription (intrathecal baclofen, strength, daily dose);
  MedicationAdministration per program period (the daily dose between two program changes,
  as a rate in mcg/day, referring to the pump's Device);
- Procedure for each implant (or replacement, when it replaces another) and each refill;
- Observation for the reservoir volume at each interrogation and each Ashworth score (a
  visit's, and each one observed after a screening bolus);
- Provenance for each recorded programmer session (its visits' records as targets).

Codes: SNOMED CT 72607000 "Intrathecal route" (DICOM PS3.16 CID 11, Route of
Administration; in FHIR's SNOMED CT Route Codes) for the route and the body site; UCUM for
units. The drug carries no RxNorm code (none confirmed here): its text names it.
References are `urn:uuid:` full URLs, derived from the record ids, so an export of the same
records is the same file.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.orm import Session

from itb.clinic import records
from itb.clinic.access import Actor
from itb.clinic.chart import Chart, load_chart
from itb.clinic.models import Implant, Prescription

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
LOCAL = "urn:itb:fhir:code"  # itb's own codes, where no standard code is confirmed here
MRN_SYSTEM = "urn:itb:mrn"
INTRATHECAL = {"coding": [{"system": SNOMED, "code": "72607000",
                           "display": "Intrathecal route"}], "text": "intrathecal"}
DEVICE_NAME = "itb simulated pump"
_NOT_ID = re.compile(r"[^A-Za-z0-9.-]")
_NAMESPACE = uuid.UUID("6f0d3c2a-1b2c-5d4e-9f80-7a6b5c4d3e2f")


def _qty(value: Decimal, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _local(code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": LOCAL, "code": code, "display": text}], "text": text}


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass
class _Builder:
    """Collects resources with their `urn:uuid:` full URLs."""

    mrn: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    def url(self, kind: str, record_id: object) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{self.mrn}/{kind}/{record_id}')}"

    def ref(self, kind: str, record_id: object) -> dict[str, str]:
        return {"reference": self.url(kind, record_id)}

    def add(self, kind: str, record_id: object, resource: dict[str, Any]) -> dict[str, str]:
        local_id = _NOT_ID.sub("-", f"{kind.lower()}-{record_id}")[:64]  # FHIR id syntax
        resource = {"resourceType": kind, "id": local_id, **resource}
        self.entries.append({"fullUrl": self.url(kind, record_id), "resource": resource})
        return self.ref(kind, record_id)


def _implant_at(chart: Chart, moment: datetime) -> Implant | None:
    """The pump in the patient on that day (else the newest one)."""
    day = moment.date()
    for implant in chart.implants:  # newest first
        if implant.implanted_on <= day and (implant.explanted_on is None
                                            or implant.explanted_on > day):
            return implant
    return chart.implants[0] if chart.implants else None


def _prescription_at(chart: Chart, moment: datetime) -> Prescription | None:
    for prescription in chart.prescriptions:  # newest first
        if prescription.started_on <= moment.date():
            return prescription
    return chart.prescriptions[-1] if chart.prescriptions else None


def _patient(b: _Builder, chart: Chart) -> dict[str, str]:
    p = chart.patient
    return b.add("Patient", p.id, {
        "identifier": [{"system": MRN_SYSTEM, "value": p.mrn}], "active": True,
        "name": [{"text": p.name}], "birthDate": p.date_of_birth.isoformat()})


def _devices(b: _Builder, chart: Chart, patient: dict[str, str]) -> None:
    for i in chart.implants:
        device = b.add("Device", i.id, {
            "identifier": [{"system": "urn:itb:pump-serial", "value": i.pump_serial}],
            "status": "active" if i.explanted_on is None else "inactive",
            "serialNumber": i.pump_serial, "modelNumber": i.pump_model,
            "manufacturer": DEVICE_NAME,
            "deviceName": [{"name": DEVICE_NAME, "type": "user-friendly-name"},
                           {"name": i.pump_model, "type": "model-name"}],
            "type": _local("intrathecal-pump", "implanted intrathecal infusion pump"),
            "patient": patient})
        period: dict[str, str] = {"start": i.implanted_on.isoformat()}
        if i.explanted_on is not None:
            period["end"] = i.explanted_on.isoformat()
        b.add("DeviceUseStatement", i.id, {
            "status": "active" if i.explanted_on is None else "completed",
            "subject": patient, "device": device, "timingPeriod": period,
            "recordedOn": _instant(i.created_at), "bodySite": INTRATHECAL})
        replaces = i.replaces_id is not None
        procedure: dict[str, Any] = {
            "status": "completed", "subject": patient,
            "code": _local("pump-replacement" if replaces else "pump-implant",
                           "replacement of the intrathecal pump" if replaces
                           else "implantation of an intrathecal pump"),
            "performedDateTime": i.implanted_on.isoformat(), "bodySite": [INTRATHECAL],
            "focalDevice": [{"action": _local("implanted", "implanted"),
                             "manipulated": device}]}
        if replaces and any(old.id == i.replaces_id for old in chart.implants):
            procedure["focalDevice"].append({"action": _local("removed", "removed"),
                                             "manipulated": b.ref("Device", i.replaces_id)})
        b.add("Procedure", f"implant-{i.id}", procedure)


def _medication_text(drug: str | None, strength: Decimal | None) -> str:
    name = drug or "baclofen"
    return f"{name} intrathecal injection" + ("" if strength is None
                                              else f" {strength} mcg/mL")


def _requests(b: _Builder, chart: Chart, patient: dict[str, str]) -> None:
    for rx in chart.prescriptions:
        dose = rx.daily_dose_mcg
        b.add("MedicationRequest", rx.id, {
            "status": "active" if rx.ended_on is None else "completed", "intent": "order",
            "medicationCodeableConcept": {"text": _medication_text(rx.drug,
                                                                   rx.strength_mcg_per_ml)},
            "subject": patient, "authoredOn": rx.started_on.isoformat(),
            "dosageInstruction": [{
                "text": f"{dose} mcg/day by continuous intrathecal infusion",
                "route": INTRATHECAL,
                "doseAndRate": [{"rateQuantity": _qty(dose, "mcg/day", "ug/d")}]}]})


def program_periods(chart: Chart) -> list[tuple[datetime, datetime | None, Decimal]]:
    """(start, end or None while running, mcg/day): the daily dose between program changes,
    from the first implant; a refused or stopped change does not start a period."""
    if not chart.implants:
        return []
    changes = sorted((c for c in chart.program_changes if c.outcome == "done"
                      and c.daily_dose_after_mcg is not None), key=lambda c: (c.at, c.id))
    first_rx = chart.prescriptions[-1] if chart.prescriptions else None
    initial = changes[0].daily_dose_before_mcg if changes else None
    if initial is None and first_rx is not None:
        initial = first_rx.daily_dose_mcg
    points: list[tuple[datetime, Decimal | None]] = [
        (_start_of(chart.implants[-1].implanted_on), initial)]
    points += [(c.at, c.daily_dose_after_mcg) for c in changes]
    current = chart.implants[0]
    stop = None if current.explanted_on is None else _start_of(current.explanted_on)
    periods = []
    for index, (start, dose) in enumerate(points):
        end = points[index + 1][0] if index + 1 < len(points) else stop
        if dose is not None and (end is None or end > start):
            periods.append((start, end, dose))
    return periods


def _administrations(b: _Builder, chart: Chart, patient: dict[str, str]) -> None:
    for index, (start, end, dose) in enumerate(program_periods(chart)):
        implant = _implant_at(chart, start)
        rx = _prescription_at(chart, start)
        period = {"start": _instant(start)} | ({} if end is None else {"end": _instant(end)})
        resource: dict[str, Any] = {
            "status": "in-progress" if end is None else "completed",
            "medicationCodeableConcept": {"text": _medication_text(
                None if rx is None else rx.drug, None if rx is None else rx.strength_mcg_per_ml)},
            "subject": patient, "effectivePeriod": period,
            "dosage": {"text": f"{dose} mcg/day, continuous", "route": INTRATHECAL,
                       "rateQuantity": _qty(dose, "mcg/day", "ug/d")}}
        if implant is not None:
            resource["device"] = [b.ref("Device", implant.id)]
        if rx is not None:
            resource["request"] = b.ref("MedicationRequest", rx.id)
        b.add("MedicationAdministration", index + 1, resource)


def _refill_note(r: Any) -> str:
    parts = [f"outcome {r.outcome}"]
    for label, value in (("withdrawn", r.withdrawn_ml), ("expected", r.expected_ml),
                         ("discrepancy", r.discrepancy_ml), ("added", r.added_ml)):
        if value is not None:
            parts.append(f"{label} {value} mL")
    if r.strength_mcg_per_ml is not None:
        parts.append(f"strength {r.strength_mcg_per_ml} mcg/mL")
    if r.lot:
        parts.append(f"lot {r.lot}")
    return ", ".join(parts)


def _refills(b: _Builder, chart: Chart, patient: dict[str, str],
             by_visit: dict[int, list[dict[str, str]]]) -> None:
    for r in chart.refills:
        implant = _implant_at(chart, r.at)
        resource: dict[str, Any] = {
            "status": "completed" if r.outcome == "done" else "not-done",
            "code": _local("pump-refill", "refill of the intrathecal pump's reservoir"),
            "subject": patient, "performedDateTime": _instant(r.at),
            "note": [{"text": _refill_note(r)}]}
        if implant is not None:
            resource["focalDevice"] = [{"action": _local("refilled", "refilled"),
                                        "manipulated": b.ref("Device", implant.id)}]
        ref = b.add("Procedure", f"refill-{r.id}", resource)
        if r.visit_id is not None:
            by_visit.setdefault(r.visit_id, []).append(ref)


def _observations(b: _Builder, chart: Chart, patient: dict[str, str],
                  by_visit: dict[int, list[dict[str, str]]]) -> None:
    for g in chart.interrogations:
        if g.reservoir_ml is None:
            continue
        resource: dict[str, Any] = {
            "status": "final", "subject": patient, "effectiveDateTime": _instant(g.at),
            "code": _local("reservoir-volume", "pump reservoir volume (the pump's estimate)"),
            "valueQuantity": _qty(g.reservoir_ml, "mL", "mL")}
        if g.implant_id is not None:
            resource["device"] = b.ref("Device", g.implant_id)
        ref = b.add("Observation", f"reservoir-{g.id}", resource)
        if g.visit_id is not None:
            by_visit.setdefault(g.visit_id, []).append(ref)
    for v in chart.visits:
        if v.ashworth is None:
            continue
        ref = b.add("Observation", f"ashworth-{v.id}", {
            "status": "final", "subject": patient, "effectiveDateTime": _instant(v.at),
            "code": _local("modified-ashworth", "modified Ashworth scale score"),
            "valueQuantity": _qty(v.ashworth, "{score}", "{score}")})
        by_visit.setdefault(v.id, []).append(ref)


def _screening_scores(b: _Builder, chart: Chart, patient: dict[str, str]) -> None:
    """Each Ashworth grade observed after a screening bolus ('1+' kept as the grade's text),
    at the bolus time plus the observation's hour."""
    for trial in chart.screening_trials:
        for n, bolus in enumerate(trial.boluses or []):
            try:
                given = datetime.fromisoformat(str(bolus["at"]))
            except (KeyError, TypeError, ValueError):
                continue  # a bolus without its time has no observation time either
            for observation in bolus.get("observations") or []:
                if not isinstance(observation, dict) or "ashworth" not in observation:
                    continue
                hour = int(observation.get("hour", 0))
                b.add("Observation", f"screening-{trial.id}-{n}-{hour}", {
                    "status": "final", "subject": patient,
                    "effectiveDateTime": _instant(given + timedelta(hours=hour)),
                    "code": _local("modified-ashworth", "modified Ashworth scale score"),
                    "valueString": str(observation["ashworth"]),
                    "note": [{"text": f"screening trial, {hour} h after a "
                                      f"{bolus.get('dose_mcg')} mcg test bolus"}]})


def _provenances(b: _Builder, chart: Chart, patient: dict[str, str],
                 by_visit: dict[int, list[dict[str, str]]]) -> None:
    sessions: dict[str, list[Any]] = {}
    for v in chart.visits:
        if v.session_id:
            sessions.setdefault(v.session_id, []).append(v)
    for session_id, visits in sorted(sessions.items()):
        targets = [ref for v in visits for ref in by_visit.get(v.id, [])] or [patient]
        b.add("Provenance", f"session-{session_id}", {
            "target": targets, "recorded": _instant(min(v.at for v in visits)),
            "activity": _local("programmer-session", "recorded programmer session"),
            "agent": [{"type": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "code": "author", "display": "Author"}]},
                "who": {"display": f"itb programmer, session {session_id}"}}]})


def bundle_of(chart: Chart, *, now: datetime) -> Bundle:
    """The chart as a validated R4B Bundle (raises pydantic's ValidationError if not)."""
    b = _Builder(chart.patient.mrn)
    patient = _patient(b, chart)
    _devices(b, chart, patient)
    _requests(b, chart, patient)
    _administrations(b, chart, patient)
    by_visit: dict[int, list[dict[str, str]]] = {}
    _refills(b, chart, patient, by_visit)
    _observations(b, chart, patient, by_visit)
    _screening_scores(b, chart, patient)
    _provenances(b, chart, patient, by_visit)
    return Bundle.model_validate({
        "resourceType": "Bundle", "id": f"itb-export-{chart.patient.id}",
        "type": "collection", "timestamp": _instant(now), "entry": b.entries})


def export_patient(session: Session, actor: Actor, patient_id: int, *, now: datetime) -> str:
    """The patient's Bundle as JSON text, checked by parsing it back; an audited read."""
    records.guard(session, actor, "export", patient_id, now=now, entity="patients",
                  entity_id=patient_id)
    chart = load_chart(session, actor, patient_id, now=now, recent=None, purpose="fhir export")
    text = bundle_of(chart, now=now).model_dump_json(indent=2, exclude_none=True)
    Bundle.model_validate_json(text)  # what was written is what a reader will parse
    return text


def export_patient_by_mrn(session: Session, actor: Actor, mrn: str, *, now: datetime) -> str:
    return export_patient(session, actor, records.patient_by_mrn(session, mrn).id, now=now)
