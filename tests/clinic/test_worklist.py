"""The worklists at their edges: each kind a day inside and a day outside its limit, and
what is left out (soft deletes, explanted pumps, older interrogations)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.clinic.conftest import NOW, actor
from tests.clinic.work_records import add_patient, interrogate, refill

from itb.clinic.db import ClinicDB
from itb.clinic.errors import InvalidRecord, NotPermitted
from itb.clinic.models import AuditEntry, Implant
from itb.clinic.worklist import WorkEntry, add_months, entries_for, worklist

TODAY = NOW.date()
SEEN = NOW - timedelta(days=3)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)


def listed(db: ClinicDB, kind: str | None = None, **options: int) -> list[WorkEntry]:
    with db.session() as s:
        return worklist(s, actor("nurse"), now=NOW, kind=kind, **options)


def kinds_of(entries: list[WorkEntry], mrn: str) -> list[str]:
    return [e.kind for e in entries if e.mrn == mrn]


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_a_refill_by_date_on_the_horizons_last_day_is_due_and_a_day_later_is_not(
        clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        for mrn, days in (("IN", 14), ("OUT", 15)):
            patient, implant = add_patient(s, mrn)
            interrogate(s, patient, implant, SEEN, refill_by=at(TODAY + timedelta(days)))
    entries = listed(clinic_db)
    due = [e for e in entries if e.mrn == "IN"]
    assert [e.kind for e in due] == ["refill_due"]
    assert due[0].due == TODAY + timedelta(14)
    assert "refill-by date 2026-12-14 from the interrogation of 2026-11-27" in due[0].reason
    assert kinds_of(entries, "OUT") == []
    assert kinds_of(listed(clinic_db, horizon_days=15), "OUT") == ["refill_due"]


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_a_low_reservoir_alarm_date_yesterday_is_overdue_and_today_is_due(
        clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        for mrn, days in (("YESTERDAY", -1), ("TODAY", 0)):
            patient, implant = add_patient(s, mrn)
            interrogate(s, patient, implant, SEEN, low_alarm_at=at(TODAY + timedelta(days)),
                        refill_by=at(TODAY + timedelta(days=5)))
    entries = listed(clinic_db)
    overdue = next(e for e in entries if e.mrn == "YESTERDAY")
    assert overdue.kind == "refill_overdue" and overdue.due == date(2026, 11, 29)
    assert overdue.reason == ("Refill overdue since 2026-11-29: low-reservoir alarm date "
                              "2026-11-29 from the interrogation of 2026-11-27.")
    assert kinds_of(entries, "TODAY") == ["refill_due"]
    assert [e.mrn for e in listed(clinic_db, "refill_overdue")] == ["YESTERDAY"]


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_the_stability_limit_counts_from_the_last_live_refill(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        patient, implant = add_patient(s, "STAB", implanted_on=date(2026, 1, 5),
                                       stability_days=100)
        interrogate(s, patient, implant, SEEN)
        # the limit falls on the horizon's last day: 2026-12-14 - 100 days
        refill(s, patient, at(date(2026, 9, 5)))
        refill(s, patient, at(date(2026, 8, 1)))
        refill(s, patient, at(date(2026, 11, 20)), deleted_at=NOW)  # soft-deleted
        refill(s, patient, at(date(2026, 11, 21)), outcome="refused")  # nothing added
        other, other_implant = add_patient(s, "NEXT", implanted_on=date(2026, 1, 5),
                                           stability_days=100)
        interrogate(s, other, other_implant, SEEN)
        refill(s, other, at(date(2026, 9, 6)))
    entries = listed(clinic_db)
    due = next(e for e in entries if e.mrn == "STAB")
    assert due.kind == "refill_due" and due.due == date(2026, 12, 14)
    assert "in-pump stability limit of 100 days from the last refill on 2026-09-05" in due.reason
    assert kinds_of(entries, "NEXT") == []


def test_without_a_stated_stability_the_catalogue_default_counts_from_the_implant(
        clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        patient, implant = add_patient(s, "DEF", implanted_on=date(2026, 6, 10),
                                       stability_days=None)
        interrogate(s, patient, implant, SEEN)
    entry = listed(clinic_db)[0]
    assert entry.kind == "refill_due" and entry.due == date(2026, 12, 7)  # + 180 days
    assert "180 days (itb's default, *unconfirmed*) from the implant on 2026-06-10" in (
        entry.reason)


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_replacement_is_due_at_eri_or_less_than_six_months_before_end_of_service(
        clinic_db: ClinicDB) -> None:
    six_months = add_months(TODAY, 6)
    assert six_months == date(2027, 5, 30)
    with clinic_db.session() as s:
        p, i = add_patient(s, "ERI")
        interrogate(s, p, i, SEEN, eri=True, eri_at=at(date(2026, 11, 20)),
                    end_of_service_at=at(date(2027, 2, 18)))
        p, i = add_patient(s, "EOS-IN")
        interrogate(s, p, i, SEEN, end_of_service_at=at(six_months - timedelta(1)))
        p, i = add_patient(s, "EOS-OUT")
        interrogate(s, p, i, SEEN, end_of_service_at=at(six_months))
    entries = listed(clinic_db, "replacement_due")
    assert [e.mrn for e in entries] == ["ERI", "EOS-IN"]
    assert entries[0].due == date(2027, 2, 18)
    assert "elective replacement indicator (ERI) was on" in entries[0].reason
    assert "less than 6 months away" in entries[1].reason


def test_eri_without_a_projected_end_of_service_is_due_90_days_after_eri() -> None:
    row = SimpleNamespace(patient_id=1, mrn="M", name="N", implant_id=2, pump_serial="S",
                          implanted_on=date(2026, 1, 1), refill_interval_days=90,
                          at=SEEN, refill_by=None, low_alarm_at=None, eri=True,
                          eri_at=at(date(2026, 11, 1)), end_of_service_at=None, alarms=[],
                          last_refill=at(date(2026, 11, 1)), stability=180)
    assert [(e.kind, e.due) for e in entries_for(row, TODAY, 14)] == [
        ("replacement_due", date(2027, 1, 30))]


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_only_critical_alarms_of_the_last_interrogation_are_listed(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        p, i = add_patient(s, "ALARM")
        interrogate(s, p, i, NOW - timedelta(days=40),
                    alarms=[{"name": "motor_stall", "critical": True}])
        interrogate(s, p, i, SEEN, alarms=[{"name": "empty_reservoir", "critical": True},
                                           {"kind": "low_reservoir", "critical": False}])
    entries = listed(clinic_db, "critical_alarm")
    assert [(e.mrn, e.due) for e in entries] == [("ALARM", SEEN.date())]
    assert entries[0].reason == ("Critical alarm empty_reservoir was active at the "
                                 "interrogation of 2026-11-27.")


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_not_seen_for_longer_than_the_refill_interval(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        for mrn, days in (("SEEN-90", 90), ("SEEN-91", 91)):
            p, i = add_patient(s, mrn, implanted_on=date(2025, 1, 1), interval=90)
            refill(s, p, NOW - timedelta(days=10))
            interrogate(s, p, i, NOW - timedelta(days=days))
        p, i = add_patient(s, "NEVER", implanted_on=date(2026, 8, 1), interval=60)
        refill(s, p, NOW - timedelta(days=10))
    entries = listed(clinic_db, "not_seen")
    assert [e.mrn for e in entries] == ["NEVER", "SEEN-91"]  # soonest due first
    assert entries[1].due == TODAY - timedelta(1)
    assert "Not interrogated for 91 days since the interrogation of 2026-08-31" in (
        entries[1].reason)
    assert "since the implant on 2026-08-01, longer than the refill interval of 60 days" in (
        entries[0].reason)


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_soft_deleted_and_explanted_records_are_left_out(clinic_db: ClinicDB) -> None:
    soon = at(TODAY + timedelta(days=2))
    with clinic_db.session() as s:
        p, i = add_patient(s, "GONE")
        interrogate(s, p, i, SEEN, refill_by=soon)
        p.deleted_at = NOW
        p, i = add_patient(s, "PUMP-GONE")
        interrogate(s, p, i, SEEN, refill_by=soon)
        i.deleted_at = NOW
        p, i = add_patient(s, "OUT")
        interrogate(s, p, i, SEEN, refill_by=soon)
        i.explanted_on = TODAY
        p, i = add_patient(s, "LAST-DELETED")
        interrogate(s, p, i, NOW - timedelta(days=5))
        interrogate(s, p, i, SEEN, refill_by=soon, deleted_at=NOW)
        p, i = add_patient(s, "NEWER-FINE")
        interrogate(s, p, i, NOW - timedelta(days=5), refill_by=soon)
        interrogate(s, p, i, SEEN)
    assert listed(clinic_db) == []


def test_the_worklist_is_audited_and_refused_to_a_patient(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        p, i = add_patient(s, "A")
        interrogate(s, p, i, SEEN, refill_by=at(TODAY))
    assert len(listed(clinic_db)) == 1
    with clinic_db.session() as s, pytest.raises(NotPermitted):
        worklist(s, actor("patient", patient_id=p.id), now=NOW)
    with clinic_db.session() as s, pytest.raises(InvalidRecord, match="kind"):
        worklist(s, actor("nurse"), now=NOW, kind="coffee")
    with clinic_db.session() as s:
        actions = [(a.action, a.entity) for a in s.scalars(select(AuditEntry))]
    assert ("read", "worklist") in actions and ("denied", "worklist") in actions


_DAY = st.integers(min_value=-60, max_value=60)


@pytest.mark.req("REQ-CLINIC-WORKLIST")
@given(refill_by=_DAY, low_alarm=_DAY, stability_end=_DAY, horizon=st.integers(0, 30))
def test_a_refill_is_listed_exactly_when_its_earliest_date_is_within_the_horizon(
        refill_by: int, low_alarm: int, stability_end: int, horizon: int) -> None:
    refilled = TODAY + timedelta(days=stability_end - 100)
    row = SimpleNamespace(patient_id=1, mrn="M", name="N", implant_id=2, pump_serial="S",
                          implanted_on=date(2020, 1, 1), refill_interval_days=190,
                          at=SEEN, refill_by=at(TODAY + timedelta(refill_by)),
                          low_alarm_at=at(TODAY + timedelta(low_alarm)), eri=False,
                          eri_at=None, end_of_service_at=None, alarms=[],
                          last_refill=at(refilled), stability=100)
    earliest = TODAY + timedelta(min(refill_by, low_alarm, stability_end))
    refills = [e for e in entries_for(row, TODAY, horizon) if e.kind.startswith("refill")]
    if earliest > TODAY + timedelta(horizon):
        assert refills == []
    else:
        assert [(e.kind, e.due) for e in refills] == [
            ("refill_overdue" if earliest < TODAY else "refill_due", earliest)]


@pytest.mark.req("REQ-CLINIC-WORKLIST")
def test_only_the_newest_pump_in_place_counts_when_a_record_lists_two(
        clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        p, old = add_patient(s, "TWO", implanted_on=date(2026, 1, 2))
        interrogate(s, p, old, SEEN, refill_by=at(TODAY))  # would be due, but superseded
        new = Implant(patient_id=p.id, pump_serial="SN-TWO-B", pump_model="8637-40",
                      implanted_on=date(2026, 11, 1), created_at=NOW)
        s.add(new)
        s.flush()
        interrogate(s, p, new, SEEN)
    assert listed(clinic_db) == []
    with clinic_db.session() as s:
        interrogate(s, p, new, NOW - timedelta(hours=1), alarms=[
            {"name": "empty_reservoir", "critical": True}])
    assert [(e.kind, e.pump_serial) for e in listed(clinic_db)] == [
        ("critical_alarm", "SN-TWO-B")]
