"""Booking: the refill and replacement windows at their edges (the last safe minute, one
minute after), local times across daylight-saving changes, double booking refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.clinic.appts_records import PumpDates, add_patient, add_staff
from tests.clinic.conftest import NOW, actor

from itb.clinic import appointments
from itb.clinic.appointments import Booking, SlotTaken
from itb.clinic.booking_window import Window, check_start, local_start
from itb.clinic.db import ClinicDB
from itb.clinic.errors import InvalidRecord, NotPermitted
from itb.clinic.models import Appointment, AuditEntry

NURSE = actor("nurse")
AT = NOW - timedelta(days=1)  # the interrogation
MINUTE = timedelta(minutes=1)


def _setup(db: ClinicDB, **kw: object) -> int:
    with db.session() as s:
        add_staff(s, NOW)
        return add_patient(s, NOW, at=AT, **kw)  # type: ignore[arg-type]


def _book(db: ClinicDB, patient: int, at: object, *, kind: str = "refill",
          clinician: str = "nurse-cole", reason: str | None = None,
          now: datetime = NOW) -> Appointment:
    with db.session() as s:
        return appointments.book(s, NURSE, patient, Booking(
            kind=kind, starts_at=at, clinician=clinician, place="Clinic 2",
            override_reason=reason), now=now)


def _cancel(db: ClinicDB, appointment: Appointment) -> None:
    """Free the patient's slot for the next edge."""
    with db.session() as s:
        appointments.set_status(s, NURSE, appointment.id, "cancelled",
                                version=appointment.version, now=NOW)


@pytest.mark.req("REQ-CLINIC-BOOKING-WINDOW")
def test_a_refill_at_the_last_safe_minute_is_booked_and_one_minute_later_needs_a_reason(
        clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    refill_by = AT + timedelta(days=30)
    booked = _book(clinic_db, patient, refill_by.isoformat())
    assert booked.starts_at == refill_by and booked.override_reason is None
    _cancel(clinic_db, booked)
    with pytest.raises(InvalidRecord) as refused:
        _book(clinic_db, patient, (refill_by + MINUTE).isoformat(), clinician="dr-ames")
    assert refused.value.field == "override_reason"
    late = _book(clinic_db, patient, (refill_by + MINUTE).isoformat(), clinician="dr-ames",
                 reason="patient away until then")
    assert "override reason" in late.window


@pytest.mark.req("REQ-CLINIC-BOOKING-WINDOW")
def test_a_refill_after_the_low_reservoir_alarm_date_is_refused_even_with_a_reason(
        clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    alarm = AT + timedelta(days=33)
    at_alarm = _book(clinic_db, patient, alarm.isoformat(), reason="only slot")
    assert at_alarm.starts_at == alarm
    _cancel(clinic_db, at_alarm)
    with pytest.raises(InvalidRecord) as refused:
        _book(clinic_db, patient, (alarm + MINUTE).isoformat(), clinician="dr-ames",
              reason="only slot")
    assert refused.value.field == "starts_at"
    assert "withdrawal" in str(refused.value)


def test_a_refill_booked_when_the_alarm_date_has_passed_is_urgent(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db, dates=PumpDates(refill_by_days=0, low_alarm_days=1))
    now = AT + timedelta(days=2)
    with pytest.raises(InvalidRecord) as refused:
        _book(clinic_db, patient, now + timedelta(hours=24, minutes=1), reason="asap",
              now=now)
    assert refused.value.field == "starts_at"
    assert _book(clinic_db, patient, now + timedelta(hours=24), reason="asap", now=now)


def test_a_refill_so_early_that_drug_is_wasted_needs_a_reason(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    earliest = AT + timedelta(days=20)  # 3 of 6 mL used at 0.15 mL/day
    first = _book(clinic_db, patient, earliest)
    assert first.starts_at == earliest
    _cancel(clinic_db, first)
    with pytest.raises(InvalidRecord) as refused:
        _book(clinic_db, patient, earliest - MINUTE, clinician="dr-ames")
    assert refused.value.field == "override_reason"
    assert "before the earliest" in str(refused.value)


def test_a_replacement_is_booked_six_months_before_the_end_of_service(
        clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db, dates=PumpDates(eos_days=300))
    eos = AT + timedelta(days=300)
    assert eos == datetime(2027, 9, 25, 9, 0, tzinfo=UTC)
    safe = datetime(2027, 3, 25, 9, 0, tzinfo=UTC)  # 6 months before (devices.md)
    at_safe = _book(clinic_db, patient, safe, kind="replacement", clinician="dr-ames")
    assert at_safe.starts_at == safe
    _cancel(clinic_db, at_safe)
    with pytest.raises(InvalidRecord) as refused:
        _book(clinic_db, patient, safe + MINUTE, kind="replacement", clinician="dr-bell")
    assert refused.value.field == "override_reason"
    with pytest.raises(InvalidRecord) as never:
        _book(clinic_db, patient, eos + MINUTE, kind="replacement", clinician="dr-bell",
              reason="surgeon away")
    assert never.value.field == "starts_at"


def test_a_nurse_cannot_be_booked_for_a_replacement(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db, dates=PumpDates(eos_days=150))
    with pytest.raises(InvalidRecord) as refused:
        _book(clinic_db, patient, NOW + timedelta(days=2), kind="replacement")
    assert refused.value.field == "clinician"


def test_double_booking_a_clinician_is_refused_with_409(clinic_db: ClinicDB) -> None:
    first = _setup(clinic_db)
    with clinic_db.session() as s:
        second = add_patient(s, NOW, mrn="MRN-5002", at=AT)
    start = AT + timedelta(days=25)
    _book(clinic_db, first, start)
    with pytest.raises(SlotTaken) as taken:
        _book(clinic_db, second, start + timedelta(minutes=29))
    assert taken.value.status == 409
    assert _book(clinic_db, second, start + timedelta(minutes=30))  # back to back is fine
    with pytest.raises(SlotTaken):  # nor the patient in two places at once
        _book(clinic_db, first, start + timedelta(minutes=10), clinician="dr-ames")


def test_a_viewer_may_not_book_and_the_denial_is_audited(clinic_db: ClinicDB) -> None:
    patient = _setup(clinic_db)
    with pytest.raises(NotPermitted), clinic_db.session() as s:
        appointments.book(s, actor("viewer"), patient, Booking(
            "refill", (AT + timedelta(days=25)).isoformat(), "nurse-cole"), now=NOW)
    with clinic_db.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
    assert [d.entity for d in denied] == ["appointments"]


# Daylight saving: Europe/London goes forward at 01:00 UTC on 28 March 2027, New York goes
# back at 06:00 UTC on 7 November 2027 (IANA tz database).
SPRING = datetime(2027, 3, 21, 9, 0, tzinfo=UTC)


def test_a_local_time_after_the_clocks_go_forward_is_checked_at_its_utc_instant(
        clinic_db: ClinicDB) -> None:
    at = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)  # refill-by 30 March 12:00 UTC (13:00 BST)
    with clinic_db.session() as s:
        add_staff(s, SPRING)
        patient = add_patient(s, SPRING, at=at, zone="Europe/London",
                              dates=PumpDates(refill_by_days=10, low_alarm_days=12,
                                              empty_days=13, reservoir_ml="2"))
    booked = _book(clinic_db, patient, "2027-03-30T13:00", now=SPRING)
    assert booked.starts_at == datetime(2027, 3, 30, 12, 0, tzinfo=UTC)
    with clinic_db.session() as s:
        appointments.set_status(s, NURSE, booked.id, "cancelled", version=booked.version,
                                now=SPRING)
    with pytest.raises(InvalidRecord) as late:
        _book(clinic_db, patient, "2027-03-30T13:01", clinician="dr-ames", now=SPRING)
    assert late.value.field == "override_reason"
    with pytest.raises(InvalidRecord) as gap:
        _book(clinic_db, patient, "2027-03-28T01:30", clinician="dr-ames", now=SPRING)
    assert gap.value.field == "starts_at" and "does not exist" in str(gap.value)


def test_a_local_time_that_happens_twice_needs_its_offset() -> None:
    with pytest.raises(InvalidRecord) as twice:
        local_start("2027-11-07T01:30", "America/New_York")
    assert "happens twice" in str(twice.value)
    assert local_start("2027-11-07T01:30-05:00", "America/New_York") == datetime(
        2027, 11, 7, 6, 30, tzinfo=UTC)
    assert local_start("2027-11-07T01:30-04:00", "America/New_York") == datetime(
        2027, 11, 7, 5, 30, tzinfo=UTC)


WINDOW = Window(earliest=NOW + timedelta(days=1), safe_until=NOW + timedelta(days=10),
                last=NOW + timedelta(days=12), basis="test")


@pytest.mark.req("REQ-CLINIC-BOOKING-WINDOW")
@given(minutes=st.integers(0, 20 * 24 * 60), reason=st.one_of(st.none(), st.text(
    min_size=1, max_size=20)))
def test_no_reason_books_a_refill_after_the_last_date(minutes: int, reason: str | None) -> None:
    start = NOW + timedelta(minutes=minutes)
    try:
        check_start(WINDOW, "refill", start, NOW, reason)
    except InvalidRecord as refused:
        assert start > WINDOW.last or (not reason and (
            start > WINDOW.safe_until or start < WINDOW.earliest)), refused  # type: ignore[operator]
    else:
        assert start <= WINDOW.last  # type: ignore[operator]
        assert reason or WINDOW.earliest <= start <= WINDOW.safe_until  # type: ignore[operator]
