"""Implant, prime and a simple continuous run: the core API works end to end."""

from __future__ import annotations

from fractions import Fraction

import pytest

from itb.pump import AlarmKind, Pump

from .helpers import START, at, implant


def test_continuous_run_delivers_close_to_programmed_dose() -> None:
    pump = implant()
    report = pump.advance(at(days=20))
    # 300 mcg/day for 20 days less the priming time; truth within the stated accuracy.
    assert abs(pump.commanded_mcg - 20 * 300) < 60
    assert abs(report.csf_mcg - pump.commanded_mcg) <= pump.commanded_mcg * Fraction(145, 1000)
    assert all(s.start_s < s.end_s for s in report.csf_segments)


@pytest.mark.req("REQ-PUMP-RESERVOIR-ALARMS")
def test_low_reservoir_alarm_sounds_at_the_alarm_volume() -> None:
    pump = implant()
    pump.advance(at(days=31))
    assert AlarmKind.LOW_RESERVOIR in pump.alarms
    raised = [e for e in pump.log.entries() if e.kind == "alarm_raised"]
    # (20 - 2 - 0.332 priming) mL at 0.6 mL/day ≈ 29.45 days (devices.md worked example: 30 days).
    days = (raised[0].time_s - int(START.timestamp())) / 86_400
    assert 29.4 < days < 29.5


def test_pump_roundtrip_through_state_is_exact() -> None:
    pump = implant()
    pump.advance(at(days=3))
    copy = Pump.from_state(pump.to_state())
    assert copy.to_state() == pump.to_state()
