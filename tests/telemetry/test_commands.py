"""Every command round-trips through the link to a real pump, and refusals are typed."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from itb.pump import AlarmKind
from itb.telemetry.errors import CommandRejected
from itb.telemetry.protocol.commands import (
    ContinuousSpec,
    FlexPeriod,
    FlexSpec,
    FlexStepSpec,
    HardLimitsSpec,
    PatientBolusSpec,
    PeriodicBolusSpec,
    ProgramSpec,
)
from itb.telemetry.protocol.keys import Role

from .pumpkit import IMPLANT, bench

NEW_DOSE = ProgramSpec(ContinuousSpec(Fraction(360)), HardLimitsSpec(Fraction(500), Fraction(100)),
                       PatientBolusSpec(Fraction(20), 3600, 3))
FLEX = ProgramSpec(
    FlexSpec((FlexStepSpec(0, 25_200, Fraction(250)), FlexStepSpec(25_200, 61_200, Fraction(350))),
             FlexPeriod.DAILY, 60, (PeriodicBolusSpec(43_200, Fraction(25), 600),)),
    HardLimitsSpec(Fraction(600), Fraction(50)))


def test_interrogate_reports_identity_battery_reservoir_program_alarms_and_log() -> None:
    b = bench()
    with b.client() as wand:
        report = wand.interrogate()
    assert (report.serial, report.model, report.implanted) == ("ITB-0001", "synchromed-ii-20",
                                                               IMPLANT)
    assert report.battery.status == "ok" and 0 < report.battery.remaining_fraction <= 1
    assert report.reservoir.estimate_nl == 20_000_000
    assert report.reservoir.concentration_mcg_per_ml == 500
    # devices.md worked example: 18 mL above the 2 mL alarm at 0.6 mL/day is 30 days.
    assert report.reservoir.low_reservoir_alarm_date == report.pump_time + timedelta(days=30)
    assert report.program is not None and report.program.therapy == ContinuousSpec(Fraction(300))
    assert report.infusion.max_24h_dose_mcg == 300
    assert report.alarms == ()
    assert report.log_next_index == b.pump.log.next_index


def test_full_interrogation_reads_every_log_entry_in_pages() -> None:
    b = bench()
    for minute in range(1, 301):
        b.pump.advance(IMPLANT + timedelta(minutes=minute))
        b.pump.acknowledge_alarm()
        b.pump.set_alarm_volume(2_000_000 + minute)
    with b.client() as wand:
        result = wand.full_interrogation()
    assert [e.index for e in result.log] == list(range(b.pump.log.next_index))
    assert result.log[-1].kind == b.pump.log.entries()[-1].kind


def test_program_confirm_only_echoes_without_changing_the_pump() -> None:
    b = bench()
    with b.client() as wand:
        before = b.pump_state()
        echo = wand.program(NEW_DOSE, confirm_only=True)
        assert b.pump_state() == before
        assert not echo.applied and echo.program == NEW_DOSE and echo.max_24h_dose_mcg == 360
        done = wand.program(NEW_DOSE)
        assert done.applied and wand.interrogate().program == NEW_DOSE
    assert done.mean_flow_nl_per_day == 720_000  # 360 mcg/day at 500 mcg/mL


def test_flex_program_round_trips_exactly() -> None:
    b = bench()
    with b.client() as wand:
        echo = wand.program(FLEX)
        assert echo.program == FLEX
        assert wand.interrogate().program == FLEX


def test_invalid_program_is_refused_whole_with_the_field_named() -> None:
    b = bench()
    too_much = ProgramSpec(ContinuousSpec(Fraction(4000)), HardLimitsSpec(Fraction(500),
                                                                          Fraction(100)))
    with b.client() as wand:
        before = b.pump_state()
        with pytest.raises(CommandRejected) as refused:
            wand.program(too_much)
    assert refused.value.code == "invalid_argument"
    assert refused.value.field == "max_daily_dose_mcg" and "at least" in refused.value.allowed
    assert b.pump_state() == before


def test_refill_with_bridge_bolus() -> None:
    b = bench()
    b.pump.advance(IMPLANT + timedelta(days=10))
    with b.client() as wand:
        done = wand.refill(withdrawn_nl=None, added_nl=18_000_000,
                           concentration_mcg_per_ml=Fraction(1000), bridge_bolus=True)
        report = wand.interrogate()
    assert done.reservoir_estimate_nl == 18_000_000 and done.concentration_mcg_per_ml == 1000
    # The old drug in tubing and catheter goes out at the old 0.6 mL/day (300 mcg/day at
    # 500 mcg/mL): exactly the dead volume, over dead volume / old flow, rounded up to 1 s.
    dead_nl = b.adapter.pump.model.tubing_volume_nl + b.adapter.pump.catheter_volume_nl
    assert dead_nl > 0
    assert done.bridge_bolus_nl == dead_nl
    assert done.bridge_until == IMPLANT + timedelta(days=10, seconds=-(-dead_nl * 86_400
                                                                       // 600_000))
    assert done.discrepancy_nl == done.withdrawn_nl - done.expected_residual_nl
    assert report.reservoir.concentration_mcg_per_ml == 1000


def test_a_refill_of_nothing_empties_the_reservoir_for_an_overdose() -> None:
    """Issue 16.17: the label empties the pump in an overdose; the wire allows 0 mL added so
    the pump's estimate becomes 0 (its empty alarm then sounds, as it should)."""
    b = bench()
    b.pump.advance(IMPLANT + timedelta(days=2))
    with b.client() as wand:
        wand.stop()
        done = wand.refill(withdrawn_nl=18_000_000, added_nl=0,
                           concentration_mcg_per_ml=Fraction(500))
        report = wand.interrogate()
    assert done.added_nl == 0 and done.reservoir_estimate_nl == 0
    assert report.reservoir.estimate_nl == 0
    assert "reservoir_empty" in {alarm.code for alarm in report.alarms}


def test_refill_overfill_is_refused() -> None:
    b = bench()
    with b.client() as wand, pytest.raises(CommandRejected) as refused:
        # Beyond the reservoir's capacity (a fact the pump knows), never the true residual.
        wand.refill(withdrawn_nl=0, added_nl=b.pump.model.reservoir_capacity_nl + 1,
                    concentration_mcg_per_ml=Fraction(500))
    assert refused.value.field == "added_nl"


def test_bolus_and_its_limit() -> None:
    b = bench()
    with b.client() as wand:
        done = wand.bolus(Fraction(50), 600)
        assert done.volume_nl == 100_000 and done.ends - done.starts == timedelta(seconds=600)
        b.pump.advance(IMPLANT + timedelta(hours=1))
        with pytest.raises(CommandRejected) as refused:
            wand.bolus(Fraction(150), 600)
    assert refused.value.field == "dose_mcg" and "100" in refused.value.allowed


def test_patient_bolus_then_lockout() -> None:
    b = bench()
    b.pump.advance(IMPLANT + timedelta(hours=1))
    with b.client(Role.PATIENT) as handheld:
        first = handheld.request_patient_bolus()
        second = handheld.request_patient_bolus()
        status = handheld.read_status()
    assert first.granted and first.dose_mcg == 20
    assert not second.granted and "in progress" in second.reason
    assert status.patient_boluses_left_24h == 2
    assert status.patient_bolus_available_at == IMPLANT + timedelta(hours=2)


def test_stop_and_resume() -> None:
    b = bench()
    with b.client() as wand:
        stopped = wand.stop()
        assert not stopped.infusing and "stopped" in stopped.state
        resumed = wand.resume()
        assert resumed.infusing and resumed.state == "running"
        with pytest.raises(CommandRejected) as refused:
            wand.resume()
    assert refused.value.code == "refused" and refused.value.value == "resume"


def test_acknowledge_alarm() -> None:
    b = bench()
    b.pump.advance(IMPLANT + timedelta(days=31))  # past the low-reservoir alarm
    with b.client() as wand:
        before = wand.interrogate().alarms
        assert any(a.code == "low_reservoir" and a.sounding for a in before)
        done = wand.acknowledge_alarm("low_reservoir")
        with pytest.raises(CommandRejected) as refused:
            wand.acknowledge_alarm("no_such_alarm")
    assert done.silenced == 1
    assert all(not a.sounding for a in done.alarms if a.code == "low_reservoir")
    assert refused.value.field == "code"
    assert b.pump.alarms[AlarmKind.LOW_RESERVOIR].acknowledged


def test_set_clock_and_its_range() -> None:
    b = bench()
    with b.client() as wand:
        done = wand.set_clock(IMPLANT + timedelta(minutes=5))
        assert done.previous == IMPLANT and done.pump_time == IMPLANT + timedelta(minutes=5)
        with pytest.raises(CommandRejected) as refused:
            wand.set_clock(IMPLANT + timedelta(days=400))
    assert refused.value.field == "clock_reads"


def test_set_alarm_volume_and_its_range() -> None:
    b = bench()
    with b.client() as wand:
        done = wand.set_alarm_volume(3_000_000)
        assert done.low_reservoir_alarm_nl == 3_000_000
        with pytest.raises(CommandRejected) as refused:
            wand.set_alarm_volume(50_000_000)
    assert refused.value.field == "low_reservoir_alarm_nl"


def test_read_log_since_an_index() -> None:
    b = bench()
    with b.client() as wand:
        page = wand.read_log(1, 2)
    assert [e.index for e in page.entries] == [1, 2] and page.next_index == 3


def test_security_log_records_sessions() -> None:
    b = bench()
    with b.client() as wand:
        entries = wand.read_security_log().entries
    assert entries[0].kind == "session_opened"
    assert dict((d.key, d.value) for d in entries[0].details)["role"] == "clinician"


def test_a_session_is_logged_by_the_pump_and_costs_battery() -> None:
    b = bench()
    before = b.pump.physical.battery_nc
    with b.client() as wand:
        wand.read_status()
    assert b.pump.log.entries()[-1].kind == "telemetry_session"
    assert b.pump.physical.battery_nc == before - b.pump.model.telemetry_session_charge_nc


@pytest.mark.parametrize("act", ["stop", "resume", "interrogate", "bolus", "set_clock",
                                 "set_alarm_volume", "program", "refill", "read_log",
                                 "acknowledge_alarm"])
def test_patient_handheld_cannot_give_clinician_commands(act: str) -> None:
    b = bench()
    args = {"bolus": (Fraction(10), 600), "set_clock": (IMPLANT,),
            "set_alarm_volume": (2_500_000,), "program": (NEW_DOSE,), "read_log": (0,)}
    kwargs = {"refill": {"withdrawn_nl": None, "added_nl": 1,
                         "concentration_mcg_per_ml": Fraction(500)}}
    with b.client(Role.PATIENT) as handheld:
        before = b.pump_state()
        with pytest.raises(CommandRejected) as refused:
            getattr(handheld, act)(*args.get(act, ()), **kwargs.get(act, {}))
        assert refused.value.code == "not_permitted"
        assert b.pump_state() == before
    assert b.adapter.security_log.entries()[1].kind == "role_violation"
