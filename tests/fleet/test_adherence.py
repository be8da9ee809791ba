"""Adherence from the appointment rules: refill visits booked, reminded and chased by the
same rules as the clinic (`itb.therapy.appointments`), the attendance model, study arms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itb.fleet.adherence import miss_chance, misses
from itb.fleet.errors import StudyError
from itb.fleet.patient_run import run_patient
from itb.fleet.schema import Attendance
from itb.fleet.study import Study, parse_study
from itb.therapy.appointments import Window, place_refill

from .helpers import study_text

APPOINTMENTS = """
[care.appointments]
booking = "{booking}"
days_before_safe = {before}
reminder_days = {reminders}
portal = {portal}
rebook_within_days = {rebook}

[care.appointments.attendance]
source = "unconfirmed (test)"
miss_share = {miss}
reminder_relative_risk = 0.5
portal_relative_risk = 0.5
"""


def appointments_study(*, seed: int = 11, patients: int = 3, years: str = "1",
                       booking: str = "latest_safe", before: int = 3,
                       reminders: str = "[7, 1]", portal: bool = False, rebook: int = 2,
                       miss: float = 0.3, alarm_ml: str | None = None) -> Study:
    text = study_text(seed=seed, patients=patients, years=years).replace(
        "[care]", "[care]\nadherence = \"appointments\"" + (
            f"\nlow_reservoir_alarm_ml = {alarm_ml}" if alarm_ml else ""))
    text += APPOINTMENTS.format(booking=booking, before=before, reminders=reminders,
                                portal=str(portal).lower(), rebook=rebook, miss=miss)
    return parse_study(text, "adherence.toml")


def _refill_events(study: Study, index: int) -> list[tuple[float, str, str, float]]:
    return [(day, kind, detail, value) for _p, day, category, kind, detail, value
            in run_patient(study, index).events if category == "refill"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), booking=st.sampled_from(["latest_safe", "interval"]),
       before=st.integers(0, 30), rebook=st.integers(0, 30),
       miss=st.sampled_from([0.0, 0.3, 0.9]), alarm=st.sampled_from(["1", "2", "4"]))
def test_a_booked_refill_visit_is_never_after_the_low_reservoir_alarm_date(
        seed: int, booking: str, before: int, rebook: int, miss: float, alarm: str) -> None:
    """Every visit the clinic books (first or after a no-show) falls at or before the
    low-reservoir alarm date it was checked against, or within the urgent window once that
    date had passed; so an attended booked refill is never later than the alarm date."""
    study = appointments_study(seed=seed, patients=2, booking=booking, before=before,
                               rebook=rebook, miss=miss, alarm_ml=alarm)
    for index in range(2):
        events = _refill_events(study, index)
        booked = [(day, value) for day, kind, _d, value in events if kind == "booked"]
        assert booked
        escalated = [day for day, kind, _d, _v in events if kind == "escalation"]
        for day, alarm_day in booked:
            # past the alarm date: within the urgent 24 hours of the escalation (from the
            # next whole minute, as the clinic books)
            urgent = [e for e in escalated if e >= alarm_day and day - e <= 1 + 1 / 1440]
            assert day <= alarm_day + 1e-6 or urgent, (day, alarm_day)


@pytest.mark.req("REQ-CLINIC-BOOKING-WINDOW")
@given(st.data())
def test_a_refill_placed_by_the_rules_is_never_after_the_last_date(data: st.DataObject) -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    moments = st.integers(-100 * 24, 200 * 24).map(lambda h: now + timedelta(hours=h))
    last = data.draw(moments.filter(lambda m: m >= now))
    safe = data.draw(st.one_of(st.none(), moments.filter(lambda m: m <= last)))
    earliest = data.draw(st.one_of(st.none(), moments))
    wanted = data.draw(moments)
    window = Window(earliest, safe, last, "test")
    for with_reason in (False, True):
        at = place_refill(window, wanted, now, with_reason=with_reason)
        assert now <= at <= last
        if not with_reason and safe is not None and safe >= now:
            assert at <= safe


@given(draw=st.floats(0, 1, exclude_max=True), share=st.floats(0, 1),
       risk=st.floats(0.01, 1), portal_risk=st.floats(0.01, 1),
       fewer=st.integers(0, 4), extra=st.integers(0, 4), portal=st.booleans())
def test_fewer_reminders_never_give_fewer_misses_for_the_same_draw(
        draw: float, share: float, risk: float, portal_risk: float, fewer: int, extra: int,
        portal: bool) -> None:
    attendance = Attendance(source="unconfirmed", miss_share=share,
                            reminder_relative_risk=risk, portal_relative_risk=portal_risk)
    more = fewer + extra
    assert miss_chance(attendance, fewer, False) >= miss_chance(attendance, more, portal)
    if misses(draw, attendance, more, portal):
        assert misses(draw, attendance, fewer, False)


def _first_cycle_misses(study: Study, index: int) -> int:
    """Visits missed after the first refill, before the next one."""
    events = _refill_events(study, index)
    refills = [day for day, kind, _d, _v in events if kind == "refilled"]
    stop = refills[1] if len(refills) > 1 else float("inf")
    return sum(1 for day, kind, _d, _v in events if kind == "missed" and day < stop)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_fewer_reminders_never_give_fewer_misses_in_a_refill_cycle_under_one_seed(
        seed: int) -> None:
    """Under the same seed the arms follow the same patient until one of them attends: the
    first refill cycle's misses never drop with fewer reminders. (Later cycles start at
    other times once the arms differ, so a whole run's total is not ordered this way.)"""
    arms = [appointments_study(seed=seed, reminders=r, portal=p, miss=0.8)
            for r, p in (("[]", False), ("[7]", False), ("[7, 1]", False), ("[7, 1]", True))]
    for index in range(3):
        counts = [_first_cycle_misses(arm, index) for arm in arms]
        assert counts == sorted(counts, reverse=True), counts


def test_a_study_is_deterministic_under_its_seed() -> None:
    study = appointments_study(miss=0.5)
    assert run_patient(study, 1).events == run_patient(study, 1).events
    other = appointments_study(miss=0.5, seed=12)
    assert run_patient(study, 1).events != run_patient(other, 1).events


def test_a_missed_visit_is_escalated_and_rebooked_like_the_clinic_does() -> None:
    study = appointments_study(miss=1.0, reminders="[]", rebook=30)
    events = _refill_events(study, 0)
    kinds = [kind for _day, kind, _d, _v in events]
    assert "missed" in kinds and "escalation" in kinds
    levels = [detail for _day, kind, detail, _v in events if kind == "escalation"]
    # a second miss in a row is critical (itb.therapy.appointments.urgency)
    first = kinds.index("escalation")
    assert levels[0] in ("moderate", "high", "critical")
    assert "critical" in levels[1:] or kinds[first + 1:].count("escalation") == 0
    row = run_patient(study, 0).row
    assert row["escalations"] == row["refills_missed"] > 0
    assert row["escalations_critical"] + row["escalations_high"] + \
        row["escalations_moderate"] == row["escalations"]
    assert row["reminders"] == 0


def test_reminders_are_counted_only_when_booked_far_enough_ahead() -> None:
    study = appointments_study(miss=0.0, reminders="[60, 7, 1]")
    row = run_patient(study, 0).row
    booked = row["refills"] - 1  # the refill at the start was not booked
    # a 60-day reminder needs a booking 60 days ahead: never for a 20 mL pump refilled
    # every few weeks; the 7- and 1-day ones always
    assert 2 * booked <= row["reminders"] <= 3 * booked


def test_attending_everyone_never_escalates() -> None:
    row = run_patient(appointments_study(miss=0.0), 0).row
    assert row["refills_missed"] == row["escalations"] == 0 and row["refills"] > 2


@pytest.mark.parametrize(("change", "key", "reason"), [
    (("missed_refill_share = 0.0", "missed_refill_share = 0.1"), "care.missed_refill_share",
     "must be 0 with adherence"),
    (("miss_share = 0.3", "miss_share = 1.3"), "care.appointments.attendance.miss_share",
     "less than or equal to 1"),
    (("reminder_days = [7, 1]", "reminder_days = [7, 7]"), "care.appointments.reminder_days",
     "each offset at most once"),
    (("source = \"unconfirmed (test)\"\n", ""), "care.appointments.attendance.source",
     "missing"),
])
def test_bad_appointment_keys_are_refused_at_their_line(change: tuple[str, str], key: str,
                                                       reason: str) -> None:
    text = appointments_study().text.replace(*change)
    with pytest.raises(StudyError) as caught:
        parse_study(text, "bad.toml")
    assert f": {key}: " in str(caught.value) and reason in str(caught.value)


def test_appointments_adherence_needs_its_table_and_the_table_its_mode() -> None:
    text = study_text().replace("[care]", "[care]\nadherence = \"appointments\"")
    with pytest.raises(StudyError, match=re.escape("care.adherence: needs a [care.appointments]")):
        parse_study(text, "bad.toml")
    text = appointments_study().text.replace("adherence = \"appointments\"\n", "")
    with pytest.raises(StudyError, match=re.escape('care.adherence: must be "appointments"')):
        parse_study(text, "bad.toml")


def test_arms_override_care_and_are_checked_at_their_line() -> None:
    base = appointments_study().text
    study = parse_study(base + "\n[arms.none]\nappointments = { reminder_days = [] }\n"
                        "[arms.portal]\nappointments = { portal = true }\n", "arms.toml")
    none, portal = study.with_arm("none"), study.with_arm("portal")
    assert none.spec.care.appointments is not None and portal.spec.care.appointments
    assert none.spec.care.appointments.reminder_days == []
    assert portal.spec.care.appointments.reminder_days == [7, 1]
    assert portal.spec.care.appointments.portal
    assert len({study.digest, none.digest, portal.digest}) == 3
    bad = base + "\n[arms.bad]\nappointments = { reminder_dayz = [1] }\n"
    with pytest.raises(StudyError) as caught:
        parse_study(bad, "arms.toml")
    line = bad.splitlines().index("appointments = { reminder_dayz = [1] }") + 1
    assert f"arms.toml:{line}: arms.bad.appointments.reminder_dayz: unknown key" in str(
        caught.value)
