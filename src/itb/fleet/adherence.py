"""Adherence from the appointment rules (`[care] adherence = "appointments"`): refill visits
booked, reminded and chased as the clinic does (`itb.therapy.appointments`, the rules
`itb.clinic` uses), and the patient keeps or misses each visit with a chance that depends on
the reminders they got (the study's `[care.appointments.attendance]`, *unconfirmed*
parameters, not facts).

What the clinic knows is what the pump said when it was interrogated at the last refill:
its estimate, dose, strength and alarm volume, projected as the programmer projects them
(`itb.programmer.view.project_reservoir` over `itb.therapy.plan_refill`). The
physical truth is never read: whether the reservoir runs dry before a rebooked visit, and
the withdrawal that follows, is the pump's and the patient's own (patient_run.py).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from itb.fleet.runstate import DAY_S, HOUR_S, REFILL, RunState
from itb.fleet.schema import AppointmentsTable, Attendance
from itb.fleet.study import STUDY_START_S
from itb.programmer.view import project_reservoir
from itb.pump.records import to_datetime
from itb.therapy.appointments import (
    BookingPolicy,
    Projection,
    days_until,
    place_refill,
    refill_window,
    reminder_times,
    urgency,
)
from itb.therapy.units import NL_PER_ML

POLICY = BookingPolicy()  # the clinic's default waste limit and urgent window
# The clinic's no-show sweep marks a visit missed this long after it ended, and raises the
# escalation then (`itb clinic no-shows --grace-minutes 60`, its default; visit 30 minutes).
NO_SHOW_AFTER_S = 30 * 60 + HOUR_S
# Draws per refill cycle, one per booked visit: the same visit of the same cycle gets the
# same draw in every arm (common random numbers). After this many misses in a row the chase
# is taken to reach the patient (*unconfirmed*, itb's; rare unless nearly every visit is
# missed).
DRAWS_PER_CYCLE = 8


def miss_chance(attendance: Attendance, reminders_got: int, portal: bool) -> float:
    """The chance of missing a visit after `reminders_got` reminders (and the portal's)."""
    chance = attendance.miss_share * attendance.reminder_relative_risk ** reminders_got
    if portal and reminders_got:
        chance *= attendance.portal_relative_risk
    return chance


def misses(draw: float, attendance: Attendance, reminders_got: int, portal: bool) -> bool:
    """The patient misses the visit: the visit's draw falls below the chance of missing."""
    return draw < miss_chance(attendance, reminders_got, portal)


def interrogate(state: RunState) -> Projection:
    """What the pump says now, projected as the programmer does at an interrogation
    (`itb.programmer.view.project_reservoir`: its own estimate, one stroke lower, a running
    priming or bridge bolus first; never the truth), as the clinic records it."""
    pump = state.pump
    now = to_datetime(state.now_s)
    strength = state.concentration_mcg_per_ml
    seen = project_reservoir(
        reservoir_nl=max(0, pump.reservoir_estimate_nl), concentration_mcg_per_ml=strength,
        program=Fraction(state.dose_mcg), alarm_nl=pump.low_reservoir_alarm_nl, now=now,
        filled_at=None, capacity_nl=pump.model.reservoir_capacity_nl,
        running_bolus_nl=pump.bolus_remaining_nl(),
        bolus_until=None if pump.overlay is None else to_datetime(pump.overlay.end_s),
        stroke_nl=pump.model.nominal_stroke_nl)
    plan = seen.plan
    return Projection(
        at=now, reservoir_ml=_decimal(Fraction(max(0, pump.reservoir_estimate_nl), NL_PER_ML)),
        strength_mcg_per_ml=_decimal(strength), daily_dose_mcg=Decimal(state.dose_mcg),
        refill_by=now if plan is None else plan.refill_by,  # the alarm is due: refill now
        low_alarm_at=seen.low_reservoir_alarm_at,
        empty_at=None if plan is None else plan.empty_at,
        eri=False, eri_at=None, end_of_service_at=None)  # the refill rules read no battery


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def plan(state: RunState) -> None:
    """After a refill: interrogate, book the next refill where the rules put it."""
    care = state.study.spec.care
    appointments = _table(state)
    state.projection = interrogate(state)
    state.misses_in_a_row = 0
    state.attendance_draws = tuple(float(u) for u in
                                   state.streams.attendance.random(DRAWS_PER_CYCLE))
    now = to_datetime(state.now_s)
    window = refill_window(state.projection, now, POLICY)
    if appointments.booking == "interval":
        wanted = now + timedelta(days=care.refill_interval_days)
    elif window.safe_until is not None:
        wanted = window.safe_until - timedelta(days=appointments.days_before_safe)
    else:
        wanted = now + timedelta(days=care.refill_interval_days)
    _book(state, int(place_refill(window, wanted, now).timestamp()))


def _table(state: RunState) -> AppointmentsTable:
    table = state.study.spec.care.appointments
    assert table is not None  # study.py: adherence = "appointments" needs the table
    return table


def _book(state: RunState, at_s: int, booked_s: int | None = None) -> None:
    projection = state.projection
    assert projection is not None
    state.book_refill(at_s, by_clinic=True, booked_s=booked_s)
    if projection.low_alarm_at is not None and at_s < state.study.end_s:
        # the booking and the low-reservoir alarm date it was checked against (study days)
        alarm_day = (projection.low_alarm_at.timestamp() - STUDY_START_S) / DAY_S
        state.note(REFILL, "booked", f"miss {state.misses_in_a_row}", round(alarm_day, 6),
                   at_s=at_s)


def attends(state: RunState) -> bool:
    """At a booked visit: the patient comes (True), or misses it and the clinic chases."""
    care = state.study.spec.care
    if care.adherence != "appointments" or not state.clinic_booked:
        return True  # the shares' model (care.py), or a patient who came after an alarm
    appointments = _table(state)
    offsets = tuple(day * 24 * 60 for day in appointments.reminder_days)
    got = len(reminder_times(to_datetime(state.now_s), to_datetime(state.booked_s), offsets))
    state.counts["reminders"] += got
    draws = state.attendance_draws
    if state.misses_in_a_row >= len(draws) or not misses(
            draws[state.misses_in_a_row], appointments.attendance, got, appointments.portal):
        return True
    _chase(state, appointments, got)
    return False


def _chase(state: RunState, appointments: AppointmentsTable, got: int) -> None:
    """A no-show: marked missed after the grace, escalated with the urgency of the pump's
    projection, and rebooked within `rebook_within_days`, never after the low-reservoir
    alarm date (once past it, within the urgent hours)."""
    projection = state.projection
    assert projection is not None
    state.misses_in_a_row += 1
    state.counts["refills_missed"] += 1
    state.note(REFILL, "missed", f"{got} reminders", float(got))
    swept = to_datetime(state.now_s + NO_SHOW_AFTER_S)
    level = urgency(swept, projection.low_alarm_at, projection.empty_at,
                    state.misses_in_a_row)
    state.counts["escalations"] += 1
    state.counts[f"escalations_{level}"] += 1
    to_alarm = days_until(projection.low_alarm_at, swept)
    state.note(REFILL, "escalation", level, float(to_alarm) if to_alarm is not None
               else float("nan"), at_s=int(swept.timestamp()))
    window = refill_window(projection, swept, POLICY)
    wanted = swept + timedelta(days=appointments.rebook_within_days)
    at = place_refill(window, wanted, swept, with_reason=True)
    _book(state, int(at.timestamp()), booked_s=int(swept.timestamp()))
