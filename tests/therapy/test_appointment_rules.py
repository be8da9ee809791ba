"""The appointment rules shared by the clinic and the fleet (itb.therapy.appointments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from itb.therapy.appointments import (
    BookingPolicy,
    Projection,
    place_refill,
    refill_window,
    reminder_times,
    urgency,
)

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def test_reminders_go_out_at_each_offset_still_ahead_at_booking() -> None:
    visit = NOW + timedelta(days=3)
    due = reminder_times(visit, NOW, (24 * 60, 7 * 24 * 60, 24 * 60))
    assert due == [(24 * 60, visit - timedelta(days=1))]  # 7 days before is already past
    assert [o for o, _ in reminder_times(visit, NOW - timedelta(days=5),
                                         (24 * 60, 7 * 24 * 60))] == [7 * 24 * 60, 24 * 60]
    edge = NOW + timedelta(days=7)
    assert [o for o, _ in reminder_times(edge, NOW, (7 * 24 * 60,))] == [7 * 24 * 60]


def test_a_routine_refill_falls_inside_the_window_and_a_chase_before_the_alarm() -> None:
    projection = Projection(at=NOW, reservoir_ml=Decimal(20), strength_mcg_per_ml=Decimal(500),
                            daily_dose_mcg=Decimal(250), refill_by=NOW + timedelta(days=30),
                            low_alarm_at=NOW + timedelta(days=37),
                            empty_at=NOW + timedelta(days=40), eri=False, eri_at=None,
                            end_of_service_at=None)
    window = refill_window(projection, NOW, BookingPolicy())
    assert window.earliest == NOW + timedelta(days=20)  # half of 20 mL at 0.5 mL/day
    too_late = NOW + timedelta(days=90)
    assert place_refill(window, too_late, NOW) == window.safe_until
    assert place_refill(window, NOW, NOW) == window.earliest
    assert place_refill(window, too_late, NOW, with_reason=True) == window.last
    # once the alarm date has passed the chase books within the urgent 24 hours
    late = NOW + timedelta(days=38)
    urgent = refill_window(projection, late, BookingPolicy())
    assert place_refill(urgent, late + timedelta(days=7), late,
                        with_reason=True) == late + timedelta(hours=24)
    assert urgency(late, projection.low_alarm_at, projection.empty_at) == "critical"
