"""Appointments through the JSON API: the booking window at its edges (the last safe minute
accepted, one minute after refused without a reason), double booking 409, bad fields 422
naming the field, attended / missed / cancelled, the day and week views, the reminder outbox
and the escalation of a missed refill until the patient is rebooked."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.clinic.apikit import client
from tests.clinic.appts_records import add_patient, add_staff
from tests.clinic.conftest import NOW

from itb.clinic.db import ClinicDB
from itb.clinic.models import Appointment, AuditEntry, Reminder

AT = NOW - timedelta(days=1)  # the pump's interrogation (appts_records.PumpDates)
REFILL_BY = AT + timedelta(days=30)
LOW_ALARM = AT + timedelta(days=33)
MINUTE = timedelta(minutes=1)


def _clinic(db: ClinicDB, clock: object = None) -> tuple[TestClient, int]:
    with db.session() as s:
        add_staff(s, NOW)
        patient = add_patient(s, NOW, at=AT)
    return client(db, "api-nurse", "nurse", clock=clock), patient


def _booking(start: datetime | str, *, clinician: str = "nurse-cole", kind: str = "refill",
             reason: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"kind": kind, "clinician": clinician, "place": "Clinic 2",
                               "starts_at": start if isinstance(start, str)
                               else start.isoformat()}
    if reason is not None:
        body["override_reason"] = reason
    return body


def _cancel(api: TestClient, booked: dict[str, object]) -> None:
    answer = api.patch(f"/api/appointments/{booked['id']}",
                       json={"version": booked["version"], "status": "cancelled"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"


@pytest.mark.req("REQ-CLINIC-BOOKING-WINDOW")
def test_the_api_books_a_refill_at_the_last_safe_minute_and_one_minute_later_only_with_a_reason(
        clinic_db: ClinicDB) -> None:
    api, patient = _clinic(clinic_db)
    url = f"/api/patients/{patient}/appointments"
    last_safe = api.post(url, json=_booking(REFILL_BY))
    assert last_safe.status_code == 201, last_safe.text
    assert last_safe.json()["starts_at"] == "2026-12-29T09:00:00Z"
    assert last_safe.json()["override_reason"] is None
    _cancel(api, last_safe.json())
    late = api.post(url, json=_booking(REFILL_BY + MINUTE, clinician="dr-ames"))
    assert late.status_code == 422
    assert late.json()["field"] == "override_reason"
    assert "after the safe date 2026-12-29 09:00 UTC" in late.json()["error"]
    with clinic_db.session() as s:  # the refusal changed nothing
        assert s.scalar(select(func.count()).select_from(Appointment).where(
            Appointment.status == "booked")) == 0
    with_reason = api.post(url, json=_booking(REFILL_BY + MINUTE, clinician="dr-ames",
                                              reason="patient away until then"))
    assert with_reason.status_code == 201, with_reason.text
    assert with_reason.json()["override_reason"] == "patient away until then"
    assert "override reason" in with_reason.json()["window"]


@pytest.mark.req("REQ-CLINIC-BOOKING-WINDOW")
def test_the_api_refuses_a_refill_after_the_low_reservoir_alarm_even_with_a_reason(
        clinic_db: ClinicDB) -> None:
    api, patient = _clinic(clinic_db)
    url = f"/api/patients/{patient}/appointments"
    at_alarm = api.post(url, json=_booking(LOW_ALARM, reason="only slot"))
    assert at_alarm.status_code == 201, at_alarm.text
    _cancel(api, at_alarm.json())
    after = api.post(url, json=_booking(LOW_ALARM + MINUTE, reason="only slot"))
    assert after.status_code == 422
    assert after.json()["field"] == "starts_at"
    assert "withdrawal" in after.json()["error"]


def test_double_booking_through_the_api_is_409_and_bad_fields_are_422_naming_them(
        clinic_db: ClinicDB) -> None:
    api, patient = _clinic(clinic_db)
    url = f"/api/patients/{patient}/appointments"
    start = AT + timedelta(days=25)
    first = api.post(url, json=_booking(start))
    assert first.status_code == 201
    taken = api.post(url, json=_booking(start + timedelta(minutes=10), clinician="dr-ames"))
    assert taken.status_code == 409
    assert f"appointment {first.json()['id']}" in taken.json()["error"]
    assert "day view" in taken.json()["next"]
    refusals = {
        "kind": _booking(start, kind="haircut"),
        "clinician": _booking(start + timedelta(hours=2), clinician="viewer-dee"),
        "starts_at": _booking("next tuesday"),
        "place": {**_booking(start), "place": "x" * 200},
    }
    for field, body in refusals.items():
        answer = api.post(url, json=body)
        assert (answer.status_code, answer.json()["field"]) == (422, field), answer.text
    with clinic_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Appointment)) == 1


def test_a_local_time_in_the_spring_gap_is_refused_through_the_api(
        clinic_db: ClinicDB) -> None:
    spring = datetime(2027, 3, 21, 9, 0, tzinfo=NOW.tzinfo)
    with clinic_db.session() as s:
        add_staff(s, spring)
        patient = add_patient(s, spring, zone="Europe/London", at=spring)
    api = client(clinic_db, "api-nurse", "nurse", clock=lambda: spring)
    gap = api.post(f"/api/patients/{patient}/appointments",
                   json=_booking("2027-03-28T01:30", kind="follow_up"))
    assert gap.status_code == 422 and gap.json()["field"] == "starts_at"
    assert "does not exist" in gap.json()["error"]
    local = api.post(f"/api/patients/{patient}/appointments",
                     json=_booking("2027-03-30T13:00", kind="follow_up"))
    assert local.json()["starts_at"] == "2027-03-30T12:00:00Z"  # 13:00 BST


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.req("REQ-CLINIC-NO-SHOW")
def test_a_missed_refill_is_escalated_through_the_api_until_it_is_rebooked(
        clinic_db: ClinicDB) -> None:
    clock = Clock(NOW)
    api, patient = _clinic(clinic_db, clock)
    url = f"/api/patients/{patient}/appointments"
    booked = api.post(url, json=_booking(AT + timedelta(days=25))).json()
    too_soon = api.patch(f"/api/appointments/{booked['id']}",
                         json={"version": booked["version"], "status": "missed"})
    assert too_soon.status_code == 422 and too_soon.json()["field"] == "status"
    stale = api.patch(f"/api/appointments/{booked['id']}",
                      json={"version": booked["version"] + 1, "status": "cancelled"})
    assert stale.status_code == 409
    clock.now = AT + timedelta(days=26)
    missed = api.patch(f"/api/appointments/{booked['id']}",
                       json={"version": booked["version"], "status": "missed"})
    assert missed.status_code == 200, missed.text
    again = api.patch(f"/api/appointments/{booked['id']}",
                      json={"version": missed.json()["version"], "status": "attended"})
    assert again.status_code == 422 and "already missed" in again.json()["error"]
    [chased] = api.get("/api/escalations").json()
    assert chased["appointment_id"] == booked["id"] and chased["patient_id"] == patient
    assert chased["urgency"] == "high"  # the low-reservoir alarm in 7 days (<= 7)
    assert "low-reservoir alarm in 7 days" in chased["left"]
    assert any("withdrawal" in line for line in chased["call_script"])
    rebooked = api.post(url, json=_booking(AT + timedelta(days=27)))
    assert rebooked.status_code == 201, rebooked.text
    assert api.get("/api/escalations").json() == []
    listed = api.get(url).json()
    assert [(a["id"], a["status"]) for a in listed] == [
        (rebooked.json()["id"], "booked"), (booked["id"], "missed")]


def test_the_schedule_lists_a_day_or_a_week_per_clinician_and_the_outbox_its_messages(
        clinic_db: ClinicDB) -> None:
    api, patient = _clinic(clinic_db)
    with clinic_db.session() as s:
        other = add_patient(s, NOW, mrn="MRN-5002", at=AT)
    monday = datetime(2026, 12, 21, 9, 0, tzinfo=NOW.tzinfo)
    first = api.post(f"/api/patients/{patient}/appointments", json=_booking(monday))
    second = api.post(f"/api/patients/{other}/appointments",
                      json=_booking(monday + timedelta(days=2), clinician="dr-ames"))
    assert first.status_code == second.status_code == 201
    day = api.get("/api/schedule", params={"day": "2026-12-21"}).json()
    assert (day["first_day"], day["last_day"]) == ("2026-12-21", "2026-12-21")
    assert [(c["clinician"], [a["mrn"] for a in c["appointments"]])
            for c in day["clinicians"]] == [("nurse-cole", ["MRN-5001"])]
    week = api.get("/api/schedule", params={"day": "2026-12-24", "view": "week"}).json()
    assert (week["first_day"], week["last_day"]) == ("2026-12-21", "2026-12-27")
    assert [c["clinician"] for c in week["clinicians"]] == ["dr-ames", "nurse-cole"]
    ames = api.get("/api/schedule", params={"day": "2026-12-21", "view": "week",
                                            "clinician": "dr-ames"}).json()
    assert [c["clinician"] for c in ames["clinicians"]] == ["dr-ames"]
    outbox = api.get("/api/reminders").json()
    with clinic_db.session() as s:
        queued = s.scalar(select(func.count()).select_from(Reminder))
        audited = s.scalars(select(AuditEntry.entity).where(
            AuditEntry.action == "read", AuditEntry.username == "api-nurse")).all()
    assert len(outbox) == queued == 12  # 2 visits x (e-mail, SMS, portal) x (7 days, 1 day)
    assert {m["channel"] for m in outbox} == {"email", "sms", "portal"}
    assert {m["status"] for m in outbox} == {"pending"}
    assert "reminders" in audited and "appointments" in audited


def test_a_viewer_reads_the_schedule_but_may_not_book(clinic_db: ClinicDB) -> None:
    _, patient = _clinic(clinic_db)
    viewer = client(clinic_db, "api-viewer", "viewer")
    assert viewer.get("/api/schedule").status_code == 200
    refused = viewer.post(f"/api/patients/{patient}/appointments",
                          json=_booking(AT + timedelta(days=25)))
    assert refused.status_code == 403
