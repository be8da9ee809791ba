"""Alarms: what raises them, their patterns, acknowledgement and re-arming, and their cost."""

from __future__ import annotations

from fractions import Fraction

import pytest

from itb.pump import ActRefused, AlarmKind
from itb.pump.alarms import AlarmState

from .helpers import at, continuous, implant


def kinds_raised(pump) -> list[str]:
    return [dict(e.details)["kind"] for e in pump.log.entries() if e.kind == "alarm_raised"]


def test_alarm_patterns_follow_devices_md() -> None:
    assert AlarmKind.LOW_RESERVOIR.pattern == "one-second single tone"
    assert AlarmKind.ELECTIVE_REPLACEMENT.pattern == "one-second single tone"
    for kind in (AlarmKind.RESERVOIR_EMPTY, AlarmKind.END_OF_SERVICE, AlarmKind.MOTOR_STALL,
                 AlarmKind.MEMORY_ERROR, AlarmKind.LOW_BATTERY_RESET):
        assert kind.critical and kind.pattern == "three-second two-tone"


def test_low_reservoir_alarm_uses_the_clinician_set_volume() -> None:
    pump = implant()
    pump.set_alarm_volume(4_000_000)
    pump.advance(at(days=27))
    assert AlarmKind.LOW_RESERVOIR in pump.alarms
    assert pump.reservoir_estimate_nl <= 4_000_000
    entry = next(e for e in pump.log.entries() if e.kind == "alarm_raised")
    assert dict(entry.details)["pattern"] == "one-second single tone"
    assert dict(entry.details)["repeat_s"] == str(pump.model.alarm_repeat_s)


def test_alarm_volume_outside_the_model_range_is_refused() -> None:
    from itb.errors import InvalidInput
    pump = implant()
    with pytest.raises(InvalidInput, match="low_reservoir_alarm_nl"):
        pump.set_alarm_volume(100_000)


def test_reservoir_empty_is_critical_and_drops_to_minimum_rate_by_the_firmware_estimate() -> None:
    pump = implant(fill_nl=3_000_000)
    pump.advance(at(days=6))
    assert AlarmKind.RESERVOIR_EMPTY in pump.alarms
    assert pump.mode == "minimum_rate (reservoir empty)"
    assert kinds_raised(pump) == ["low_reservoir", "reservoir_empty"]
    with pytest.raises(ActRefused, match="reservoir is empty"):
        pump.give_bolus(Fraction(10), 600)
    pump.refill(added_nl=20_000_000, concentration_mcg_per_ml=Fraction(500))
    assert pump.alarms == {} and pump.mode == "running"


def test_acknowledged_alarm_is_silent_then_rearms_while_its_cause_persists() -> None:
    pump = implant()
    pump.advance(at(days=30))
    alarm = pump.alarms[AlarmKind.LOW_RESERVOIR]
    assert alarm.sounding_from_s is not None
    assert pump.acknowledge_alarm() == 1
    assert alarm.sounding_from_s is None and alarm.acknowledged
    pump.advance(at(days=30, hours=23))
    assert alarm.sounding_from_s is None
    pump.advance(at(days=31, hours=1))
    assert alarm.sounding_from_s is not None  # re-armed after 24 h (non-critical)
    log = [e.kind for e in pump.log.entries()]
    assert "alarm_acknowledged" in log and "alarm_rearmed" in log


def test_alarm_tones_cost_battery_and_silencing_saves_it() -> None:
    loud = implant()
    quiet = implant()
    for pump in (loud, quiet):
        pump.faults.start_motor_stall("mechanical")
    quiet.acknowledge_alarm(AlarmKind.MOTOR_STALL)
    loud.advance(at(hours=10))
    quiet.advance(at(hours=10))
    assert loud.physical.battery_nc < quiet.physical.battery_nc


def test_tone_count_is_closed_form() -> None:
    alarm = AlarmState(AlarmKind.MOTOR_STALL, 100, 100)
    assert alarm.tones_between(0, 100, 3600) == 0
    assert alarm.tones_between(0, 101, 3600) == 1
    assert alarm.tones_between(100, 100 + 3600 * 5, 3600) == 5
    assert alarm.tones_between(101, 100 + 3600 * 5 + 1, 3600) == 5


def test_motor_stall_stops_delivery_raises_a_critical_alarm_and_recovers() -> None:
    pump = implant()
    pump.advance(at(days=1))
    pump.faults.start_motor_stall("mri")
    assert pump.mode == "motor_stall"
    strokes = pump.strokes
    csf = pump.physical.csf_mcg
    pump.advance(at(days=1, hours=2))
    assert pump.strokes == strokes and pump.physical.csf_mcg == csf
    assert AlarmKind.MOTOR_STALL in pump.alarms
    with pytest.raises(ActRefused, match="stalled"):
        pump.give_bolus(Fraction(10), 600)
    pump.faults.clear_motor_stall()
    assert AlarmKind.MOTOR_STALL not in pump.alarms and pump.mode == "running"
    pump.advance(at(days=2))
    assert pump.strokes > strokes
    kinds = [e.kind for e in pump.log.entries()]
    assert {"motor_stall", "motor_stall_cleared", "alarm_cleared"} <= set(kinds)


def test_motor_stall_interrupts_a_bolus() -> None:
    pump = implant()
    pump.advance(at(hours=1))  # after the priming bolus
    pump.give_bolus(Fraction(40), 3600)
    pump.faults.start_motor_stall("mechanical")
    assert pump.overlay is None
    assert "clinician_bolus_interrupted" in [e.kind for e in pump.log.entries()]


def test_low_battery_reset_drops_to_minimum_rate_until_reprogrammed() -> None:
    pump = implant()
    pump.faults.inject_low_battery_reset()
    assert AlarmKind.LOW_BATTERY_RESET in pump.alarms
    assert pump.mode == "minimum_rate (low_battery_reset)"
    before = pump.commanded_nl
    pump.advance(at(days=10))
    assert abs(pump.commanded_nl - before - 480_000) <= 250
    pump.program(continuous())
    assert pump.alarms.get(AlarmKind.LOW_BATTERY_RESET) is None and pump.mode == "running"


def test_eri_and_eos_are_logged_as_battery_milestones() -> None:
    pump = implant()
    # Force the battery close to the ERI threshold to test the transition cheaply.
    pump.physical.battery_nc = pump.model.idle_current_na * 95 * 86_400
    pump.advance(at(days=20))
    assert AlarmKind.ELECTIVE_REPLACEMENT in pump.alarms
    assert pump.status().battery_state == "elective_replacement"
    pump.refill(added_nl=20_000_000, concentration_mcg_per_ml=Fraction(500))
    pump.advance(at(days=50))
    pump.refill(added_nl=20_000_000, concentration_mcg_per_ml=Fraction(500))
    pump.advance(at(days=80))
    pump.refill(added_nl=20_000_000, concentration_mcg_per_ml=Fraction(500))
    pump.advance(at(days=110))
    assert pump.end_of_service and AlarmKind.END_OF_SERVICE in pump.alarms
    assert pump.status().battery_state == "end_of_service"
    milestones = [dict(e.details)["milestone"] for e in pump.log.entries()
                  if e.kind == "battery_milestone"]
    assert milestones == ["elective_replacement_indicator", "end_of_service"]
    with pytest.raises(ActRefused, match="end of service"):
        pump.refill(added_nl=1_000_000, concentration_mcg_per_ml=Fraction(500))


def test_every_raised_alarm_logs_its_own_pattern_and_repeat_interval() -> None:
    pump = implant(fill_nl=3_000_000)
    pump.faults.start_motor_stall("mri")
    pump.faults.clear_motor_stall()
    pump.faults.corrupt_memory()
    pump.program(continuous())
    pump.advance(at(days=6))
    pump.faults.inject_low_battery_reset()
    raised = {dict(e.details)["kind"]: dict(e.details) for e in pump.log.entries()
              if e.kind == "alarm_raised"}
    assert set(raised) >= {"motor_stall", "memory_error", "low_reservoir", "reservoir_empty",
                           "low_battery_reset"}
    for kind, details in raised.items():
        assert details["pattern"] == AlarmKind(kind).pattern
        assert details["critical"] == str(AlarmKind(kind).critical)
        assert details["repeat_s"] == str(pump.model.alarm_repeat_s)


def test_a_silenced_critical_alarm_rearms_after_its_interval_inside_one_long_advance() -> None:
    # catalogue: critical_rearm_s = 1 h (unconfirmed), alarm_repeat_s = 1 h (unconfirmed).
    pump = implant()
    pump.advance(at(hours=1))
    pump.faults.start_motor_stall("mri")
    acknowledged_s = pump.now_s
    assert pump.acknowledge_alarm(AlarmKind.MOTOR_STALL) == 1
    charge = pump.physical.battery_nc
    pump.advance(at(hours=11))  # one call: the re-arm must still fall at its own time
    rearmed = [e for e in pump.log.entries() if e.kind == "alarm_rearmed"]
    assert [e.time_s - acknowledged_s for e in rearmed] == [pump.model.critical_rearm_s]
    alarm = pump.alarms[AlarmKind.MOTOR_STALL]
    assert alarm.sounding_from_s == acknowledged_s + pump.model.critical_rearm_s
    # 10 h stalled: idle drain for 10 h plus the tones from the re-arm on (9 of them).
    tones = alarm.tones_between(acknowledged_s, pump.now_s, pump.model.alarm_repeat_s)
    assert tones == 9
    assert charge - pump.physical.battery_nc == (pump.model.idle_current_na * 10 * 3600
                                                 + tones * pump.model.critical_tone_charge_nc)


def test_end_of_service_comes_90_days_after_eri_at_a_steady_rate_as_devices_md_states() -> None:
    # devices.md: "After the ERI alarm the pump runs on and stops after 90 days". 300 mcg/day
    # at 2000 mcg/mL from a 40 mL reservoir: no reservoir alarm in the way, only ERI sounding.
    pump = implant(continuous(300), model="synchromed-ii-40", conc=2000, fill_nl=40_000_000)
    pump.advance(at(days=1))
    pump.physical.battery_nc = pump.model.idle_current_na * 100 * 86_400  # near ERI
    pump.advance(at(days=200))
    times = {dict(e.details)["milestone"]: e.time_s for e in pump.log.entries()
             if e.kind == "battery_milestone"}
    gap_s = times["end_of_service"] - times["elective_replacement_indicator"]
    assert abs(gap_s - pump.model.eri_warning_s) <= 3600  # was 87.1 days before the fix
