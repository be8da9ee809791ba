"""Every route × every role: allowed (2xx, and the act audited: a write with its before
and after, a read of a patient's record as a read) or refused with 403 (and the refusal
audited). A patient may act on their own record only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from tests.clinic.apikit import book, client, seed

from itb.clinic.api import (
    routes_appointments,
    routes_audit,
    routes_fhir,
    routes_implants,
    routes_patients,
    routes_prescriptions,
    routes_readings,
    routes_recordings,
    routes_screening,
    routes_symptom_calls,
    routes_visits,
    routes_worklist,
)
from itb.clinic.db import ClinicDB
from itb.clinic.models import AuditEntry

EVERYONE = frozenset({"admin", "clinician", "nurse", "viewer", "patient"})
CARE_TEAM = frozenset({"admin", "clinician", "nurse", "viewer"})
WRITERS = frozenset({"admin", "clinician", "nurse"})
DELETERS = frozenset({"admin", "clinician"})
PRESCRIBERS = frozenset({"clinician"})
CALLERS = frozenset({"clinician", "nurse", "patient"})
ADMINS = frozenset({"admin"})

Ids = dict[str, Any]
NEW_PATIENT = {"mrn": "NEW-1", "name": "New Patient", "date_of_birth": "1980-01-01",
               "weight_kg": "60.5", "origin": "cerebral"}
def pump(ids: Ids) -> dict[str, str]:
    return {"pump_serial": f"NEW-{ids['patient']}", "pump_model": "synchromed-ii-40"}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # with {patient}, {implant}, ... from the seeded ids
    roles: frozenset[str]
    entity: str  # the audit entry's entity
    action: str  # create | update | read
    body: Callable[[Ids], dict[str, Any]] | None = None
    query: str = ""
    patient_scoped: bool = True  # acts on one patient's record

    def url(self, ids: Ids) -> str:
        return self.path.format(**ids) + self.query


CASES = [
    Case("GET", "/api/patients", CARE_TEAM, "patients", "", patient_scoped=False),
    Case("POST", "/api/patients", WRITERS, "patients", "create", lambda _: NEW_PATIENT,
         patient_scoped=False),
    Case("GET", "/api/patients/{patient}", EVERYONE, "patients", "read"),
    Case("PATCH", "/api/patients/{patient}", WRITERS, "patients", "update",
         lambda _: {"version": 1, "name": "Renamed"}),
    Case("DELETE", "/api/patients/{patient}", DELETERS, "patients", "update",
         query="?version=1"),
    Case("GET", "/api/patients/{patient}/implants", EVERYONE, "implants", "read"),
    Case("POST", "/api/patients/{patient}/implants", WRITERS, "implants", "create",
         lambda ids: {**pump(ids), "implanted_on": "2025-01-01"}),
    Case("GET", "/api/implants/{implant}", EVERYONE, "implants", "read"),
    Case("PATCH", "/api/implants/{implant}", WRITERS, "implants", "update",
         lambda _: {"version": 1, "catheter_length_cm": "110"}),
    Case("POST", "/api/implants/{implant}/explant", WRITERS, "implants", "update",
         lambda _: {"version": 1, "explanted_on": "2026-11-01", "explant_reason": "ERI"}),
    Case("POST", "/api/implants/{implant}/replace", WRITERS, "implants", "create",
         lambda ids: {"version": 1, "explanted_on": "2026-11-01", "explant_reason": "ERI",
                      "new_pump": pump(ids)}),
    Case("DELETE", "/api/implants/{implant}", DELETERS, "implants", "update",
         query="?version=1"),
    Case("GET", "/api/patients/{patient}/prescriptions", EVERYONE, "prescriptions", "read"),
    Case("POST", "/api/patients/{patient}/prescriptions", PRESCRIBERS, "prescriptions",
         "create", lambda _: {"drug": "Lioresal Intrathecal", "strength_mcg_per_ml": "2000",
                              "daily_dose_mcg": "450.5", "started_on": "2026-11-30",
                              "max_daily_dose_mcg": "600"}),
    Case("GET", "/api/prescriptions/{prescription}", EVERYONE, "prescriptions", "read"),
    Case("PATCH", "/api/prescriptions/{prescription}", PRESCRIBERS, "prescriptions",
         "update", lambda _: {"version": 1, "daily_dose_mcg": "320"}),
    Case("DELETE", "/api/prescriptions/{prescription}", DELETERS, "prescriptions", "update",
         query="?version=1"),
    Case("GET", "/api/patients/{patient}/screening", EVERYONE, "screening_trials", "read"),
    Case("POST", "/api/patients/{patient}/screening", WRITERS, "screening_trials", "create",
         lambda _: {"started_on": "2026-11-28", "decision": "repeat", "boluses": [
             {"dose_mcg": "50", "at": "2026-11-28T09:00:00Z",
              "observations": [{"hour": 4, "ashworth": "1+", "spasm_frequency": 1}]}]}),
    Case("GET", "/api/screening/{trial}", EVERYONE, "screening_trials", "read"),
    Case("PATCH", "/api/screening/{trial}", WRITERS, "screening_trials", "update",
         lambda _: {"version": 1, "notes": "good response\nno side effects"}),
    Case("DELETE", "/api/screening/{trial}", DELETERS, "screening_trials", "update",
         query="?version=1"),
    Case("GET", "/api/patients/{patient}/visits", EVERYONE, "visits", "read"),
    Case("POST", "/api/patients/{patient}/visits", WRITERS, "visits", "create",
         lambda ids: {"kind": "titration", "implant_id": ids["implant"], "ashworth": "2"}),
    Case("GET", "/api/visits/{visit}", EVERYONE, "visits", "read"),
    Case("PATCH", "/api/visits/{visit}", WRITERS, "visits", "update",
         lambda _: {"version": 1, "notes": "seen"}),
    Case("DELETE", "/api/visits/{visit}", DELETERS, "visits", "update", query="?version=1"),
    Case("GET", "/api/patients/{patient}/refills", EVERYONE, "refills", "read"),
    Case("GET", "/api/refills/{refill}", EVERYONE, "refills", "read"),
    Case("GET", "/api/patients/{patient}/program-changes", EVERYONE, "program_changes",
         "read"),
    Case("GET", "/api/program-changes/{change}", EVERYONE, "program_changes", "read"),
    Case("GET", "/api/patients/{patient}/symptom-calls", EVERYONE, "symptom_calls", "read"),
    Case("POST", "/api/patients/{patient}/symptom-calls", CALLERS, "symptom_calls", "create",
         lambda _: {"symptoms": ["headache"], "facts": {"alarm_tone": "single-tone"}}),
    Case("GET", "/api/symptom-calls/{call}", EVERYONE, "symptom_calls", "read"),
    Case("DELETE", "/api/symptom-calls/{call}", DELETERS, "symptom_calls", "update",
         query="?version=1"),
    Case("GET", "/api/audit", ADMINS, "audit", "read", query="?limit=5",
         patient_scoped=False),
    Case("GET", "/api/patients/{patient}/appointments", EVERYONE, "appointments", "read"),
    Case("POST", "/api/patients/{patient}/appointments", WRITERS, "appointments", "create",
         lambda ids: {"kind": "refill", "starts_at": "2026-12-02T10:00:00+00:00",
                      "clinician": ids["clinician"], "place": "Clinic 2"}),
    Case("GET", "/api/appointments/{appointment}", EVERYONE, "appointments", "read"),
    Case("PATCH", "/api/appointments/{appointment}", WRITERS, "appointments", "update",
         lambda _: {"version": 1, "status": "cancelled"}),
    Case("GET", "/api/schedule", CARE_TEAM, "appointments", "read", query="?view=week",
         patient_scoped=False),
    Case("GET", "/api/reminders", CARE_TEAM, "reminders", "read", patient_scoped=False),
    Case("GET", "/api/escalations", CARE_TEAM, "escalations", "read", patient_scoped=False),
    # the worklist's, FHIR's and the programmer's routes (their slices audit them their way)
    Case("GET", "/api/worklists", CARE_TEAM, "worklist", "", patient_scoped=False),
    Case("GET", "/api/worklists/{kind}", CARE_TEAM, "worklist", "", patient_scoped=False),
    Case("GET", "/api/patients/{patient}/fhir", DELETERS, "patients", "read"),
    Case("POST", "/api/recordings", frozenset({"clinician", "nurse"}), "recordings", "",
         lambda ids: {"at": "2026-11-30T09:00:00+00:00", "kind": "bolus",
                      "serial": ids["serial"], "pump_time": None, "outcome": "done",
                      "summary": "bolus 20 mcg", "details": {},
                      "session": f"20261130T090000Z-m{ids['patient']}", "seq": 1},
         patient_scoped=False),
]
# (role, whether a patient user is linked to the seeded patient)
ROLES = [("admin", True), ("clinician", True), ("nurse", True), ("viewer", True),
         ("patient", True), ("patient", False)]
# every router of the API but /api/login and /api/logout (anyone may; test_api_auth.py)
ROUTERS = (routes_appointments, routes_audit, routes_implants, routes_patients,
           routes_prescriptions, routes_readings, routes_screening, routes_symptom_calls,
           routes_visits, routes_worklist, routes_fhir, routes_recordings)


def test_the_matrix_names_every_route_of_the_clinic_records() -> None:
    routes = {(method, route.path) for module in ROUTERS for route in module.router.routes
              if isinstance(route, APIRoute) for method in route.methods}
    named = {(c.method, c.path.replace("{patient}", "{patient_id}")) for c in CASES}
    renamed = {(m, p.replace("{implant}", "{implant_id}").replace(
        "{prescription}", "{prescription_id}").replace("{trial}", "{trial_id}").replace(
        "{visit}", "{visit_id}").replace("{refill}", "{refill_id}").replace(
        "{change}", "{change_id}").replace("{call}", "{call_id}").replace(
        "{appointment}", "{appointment_id}")) for m, p in named}
    assert routes == renamed


def _expected(case: Case, role: str, own: bool) -> bool:
    if role not in case.roles:
        return False
    return own or role != "patient" or not case.patient_scoped


@pytest.mark.req("REQ-CLINIC-ACCESS")
@pytest.mark.parametrize(("role", "own"), ROLES, ids=["admin", "clinician", "nurse", "viewer",
                                                     "patient-own", "patient-other"])
def test_every_route_for_every_role_is_allowed_and_audited_or_refused_and_audited(
        clinic_db: ClinicDB, role: str, own: bool) -> None:
    failures = []
    other = seed(clinic_db, "OTHER", "P-OTHER")
    patient_mrn = None
    for n, case in enumerate(CASES):
        ids: Ids = {**seed(clinic_db, f"M{n}", f"P{n}"), "serial": f"P{n}",
                    "kind": "refill_due"}
        ids.update(book(clinic_db, ids["patient"], f"dr-m{n}"))
        if n == 0 and role == "patient":
            patient_mrn = "M0" if own else "OTHER"
        if n == 0:
            user = client(clinic_db, f"u-{role}", role, patient_mrn=patient_mrn)
        if role == "patient" and own:
            _relink(clinic_db, f"u-{role}", ids["patient"])
        assert other["patient"] != ids["patient"]
        with clinic_db.session() as s:
            last = s.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) or 0
        body = case.body(ids) if case.body else None
        answer = user.request(case.method, case.url(ids), json=body)
        allowed = _expected(case, role, own)
        ok = (200 <= answer.status_code < 300) if allowed else answer.status_code == 403
        if not ok:
            failures.append(f"{case.method} {case.path} as {role}: {answer.status_code} "
                            f"{answer.text[:200]}")
            continue
        failures.extend(_audit_problems(clinic_db, case, allowed, last, ids, role))
    assert failures == []


def _relink(db: ClinicDB, username: str, patient_id: int) -> None:
    """Move the patient login to this case's fresh patient (their own record)."""
    from itb.clinic.models import User

    with db.session() as s:
        found = s.scalars(select(User).where(User.username == username)).one()
        found.patient_id = patient_id


def _audit_problems(db: ClinicDB, case: Case, allowed: bool, last: int, ids: Ids,
                    role: str) -> list[str]:
    with db.session() as s:
        new = list(s.scalars(select(AuditEntry).where(AuditEntry.id > last)))
    where = f"{case.method} {case.path} as {role}"
    if not allowed:
        denied = [e for e in new if e.action == "denied"]
        return [] if denied else [f"{where}: refused but no denied audit entry"]
    if not case.action:
        return []
    found = [e for e in new if e.action == case.action and e.entity == case.entity]
    if not found:
        return [f"{where}: no {case.action} audit entry for {case.entity}"]
    entry = found[-1]
    if case.patient_scoped and entry.patient_id != ids["patient"]:
        return [f"{where}: audit entry names patient {entry.patient_id}"]
    if case.action == "create" and not entry.after:
        return [f"{where}: create audited without the record after"]
    if case.action == "update" and (not entry.before or not entry.after
                                    or entry.before == entry.after):
        return [f"{where}: update audited without before and after"]
    return []
