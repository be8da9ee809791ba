"""Event log, interrogation, clock, persistence and atomicity of every act."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from itb.errors import ItbError
from itb.pump import (
    AlarmKind,
    FlexStep,
    FlexTherapy,
    HardLimits,
    PatientBolusSettings,
    Program,
    Pump,
    WriteFault,
)
from itb.pump.eventlog import MIN_CAPACITY, EventLog

from .helpers import START, at, continuous, implant


def test_event_log_is_a_bounded_ring_with_a_visible_overflow_count() -> None:
    log = EventLog()
    assert log.capacity >= 4096
    for i in range(MIN_CAPACITY + 10):
        log.append(i, "tick", n=i)
    assert len(log) == MIN_CAPACITY and log.overflowed == 10
    assert log.entries()[0].index == 10 and log.next_index == MIN_CAPACITY + 10
    with pytest.raises(ValueError):
        EventLog(100)


def test_log_since_pages_by_absolute_index() -> None:
    pump = implant()
    for i in range(30):
        pump.telemetry_session(f"programmer-{i}")
    first = pump.log_since(0, 10)
    assert [e.index for e in first] == list(range(10))
    page = pump.log_since(first[-1].index + 1, 10)
    assert page[0].index == 10 and len(page) == 10
    assert pump.log_since(pump.log.next_index, 10) == []
    assert {e.kind for e in pump.log_since(0, 100)} >= {"implanted", "program_changed",
                                                        "bolus_given", "telemetry_session"}


def test_log_records_every_kind_of_act() -> None:
    program = continuous(300, max_daily=400, max_bolus=30,
                         patient_bolus=PatientBolusSettings(Fraction(10), 3600, 3))
    pump = implant(program)
    pump.advance(at(hours=1))
    pump.give_bolus(Fraction(10), 600)
    pump.request_patient_bolus()
    pump.advance(at(days=30))
    pump.acknowledge_alarm()
    pump.refill(added_nl=20_000_000, concentration_mcg_per_ml=Fraction(500))
    pump.program(continuous(250, max_daily=400, max_bolus=30))
    pump.faults.corrupt_memory()
    pump.telemetry_session("wand-1", "clinician")
    kinds = {e.kind for e in pump.log.entries()}
    assert {"bolus_given", "bolus_refused", "alarm_raised", "alarm_acknowledged",
            "alarm_cleared", "refill", "program_changed", "memory_fault",
            "telemetry_session"} <= kinds


def test_status_is_the_firmware_view() -> None:
    pump = implant()
    pump.advance(at(days=29))
    pump.faults.occlude_catheter()
    pump.advance(at(days=31))
    status = pump.status()
    assert status.serial == "T-1" and status.model == "synchromed-ii-20"
    assert status.implant_date == START
    assert status.clock == at(days=31)
    assert status.reservoir_estimate_nl == pump.reservoir_estimate_nl
    assert status.reservoir_estimate_nl != pump.physical.reservoir_nl  # belief drifts from truth
    assert status.battery_state == "ok" and 0 < status.battery_remaining_fraction < 1
    assert ("low_reservoir", False, True) in status.alarms
    assert status.mode == "running"  # the occlusion is invisible to the firmware
    data = status.to_dict()
    json.dumps(data)
    assert data["log_length"] == len(pump.log)


def test_set_clock_moves_flex_step_boundaries_with_the_pump_clock() -> None:
    steps = (FlexStep(0, 12 * 3600, Fraction(100)), FlexStep(12 * 3600, 12 * 3600, Fraction(500)))
    program = Program(FlexTherapy(steps), HardLimits(Fraction(600), Fraction(30)))
    a = implant(program)
    b = implant(program)
    b.set_clock(at(hours=3))  # b's clock now reads 3 h ahead
    assert b.status().clock == at(hours=3)
    a.advance(at(hours=10))
    b.advance(at(hours=10))
    # b reached its 12:00 (high-dose) step three hours earlier.
    assert b.commanded_nl > a.commanded_nl
    assert "clock_set" in [e.kind for e in b.log.entries()]


def busy_pump() -> Pump:
    program = continuous(300, max_daily=420, max_bolus=30,
                         patient_bolus=PatientBolusSettings(Fraction(10), 3600, 3))
    pump = implant(program)
    pump.advance(at(days=2))
    pump.refill(added_nl=15_000_000, concentration_mcg_per_ml=Fraction(1000),
                pocket_fill_nl=1_000_000, true_concentration_mcg_per_ml=Fraction(2000))
    pump.advance(at(days=31))
    pump.give_bolus(Fraction(20), 3600)
    pump.faults.disconnect_catheter(Fraction(1, 3))
    pump.faults.start_motor_stall("mri")
    pump.acknowledge_alarm(AlarmKind.MOTOR_STALL)
    pump.faults.clear_motor_stall()
    pump.request_patient_bolus()
    pump.set_clock(at(days=31, seconds=-90))
    return pump


def test_state_round_trip_is_exact_and_json_able() -> None:
    pump = busy_pump()
    state = pump.to_state()
    text = json.dumps(state)
    copy = Pump.from_state(json.loads(text))
    assert copy.to_state() == state
    # And both continue identically.
    ra = pump.advance(at(days=40))
    rb = copy.advance(at(days=40))
    assert ra == rb
    assert pump.to_state() == copy.to_state()


def test_from_state_refuses_an_unknown_format() -> None:
    from itb.errors import InvalidInput
    state = implant().to_state()
    state["format"] = 99
    with pytest.raises(InvalidInput, match="format"):
        Pump.from_state(state)


BAD_ACTS: list[tuple[str, Callable[[Pump], object]]] = [
    ("advance backwards", lambda p: p.advance(at(days=1))),
    ("naive time", lambda p: p.advance(datetime(2026, 3, 1))),
    ("program over limits", lambda p: p.program(continuous(300, max_daily=300))),
    ("program bad dose", lambda p: p.program(continuous(-5))),
    ("bolus over max", lambda p: p.give_bolus(Fraction(31), 3600)),
    ("bolus too fast", lambda p: p.give_bolus(Fraction(30), 60)),
    ("bolus float", lambda p: p.give_bolus(1.5, 3600)),  # type: ignore[arg-type]
    ("bolus in progress", lambda p: p.give_bolus(Fraction(5), 600)),  # set up in the test
    ("refill overfill", lambda p: p.refill(added_nl=20_000_001,
                                           concentration_mcg_per_ml=Fraction(500))),
    ("refill negative", lambda p: p.refill(added_nl=-1, concentration_mcg_per_ml=Fraction(500))),
    ("refill bad concentration", lambda p: p.refill(added_nl=1,
                                                    concentration_mcg_per_ml=Fraction(0))),
    ("refill withdraw more than there", lambda p: p.refill(
        added_nl=1, withdrawn_nl=30_000_000, concentration_mcg_per_ml=Fraction(500))),
    ("refill pocket > added", lambda p: p.refill(added_nl=10, pocket_fill_nl=11,
                                                 concentration_mcg_per_ml=Fraction(500))),
    ("bridge without change", lambda p: p.refill(added_nl=10, bridge_bolus=True,
                                                 concentration_mcg_per_ml=Fraction(500))),
    ("refill makes program invalid", lambda p: p.refill(added_nl=10,
                                                        concentration_mcg_per_ml=Fraction(100_000))),
    ("alarm volume", lambda p: p.set_alarm_volume(9_000_000)),
    ("clock far off", lambda p: p.set_clock(at(days=900))),
    ("prime twice", lambda p: p.prime()),
    ("resume not stopped", lambda p: p.resume()),
    ("occlude bad", lambda p: p.faults.occlude_catheter(Fraction(2))),
    ("disconnect bad", lambda p: p.faults.disconnect_catheter(Fraction(0))),
    ("stall cause", lambda p: p.faults.start_motor_stall("gremlins")),
    ("unstall not stalled", lambda p: p.faults.clear_motor_stall()),
    ("corrupt bad slot", lambda p: p.faults.corrupt_memory(slot=7)),
    ("write fault bad", lambda p: p.program(continuous(), write_fault=WriteFault(0, "meteor"))),
    ("log_since bad", lambda p: p.log_since(-1)),
    ("telemetry bad", lambda p: p.telemetry_session("")),
    ("acknowledge bad", lambda p: p.acknowledge_alarm("loud")),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("name", "act"), BAD_ACTS, ids=[n for n, _ in BAD_ACTS])
def test_a_refused_act_changes_nothing(name: str, act: Callable[[Pump], object]) -> None:
    pump = implant(continuous(300, max_daily=400, max_bolus=30))
    pump.advance(at(days=2))
    if name == "bolus in progress":
        pump.give_bolus(Fraction(5), 3600)
        state = pump.to_state()
        with pytest.raises(ItbError):
            pump.give_bolus(Fraction(5), 600)
        assert pump.to_state() == state
        return
    state = pump.to_state()
    with pytest.raises(ItbError):
        act(pump)
    assert pump.to_state() == state


def test_implant_validates_its_inputs() -> None:
    from itb.errors import InvalidInput
    good = {"serial": "X", "at": START, "fill_nl": 20_000_000,
            "concentration_mcg_per_ml": Fraction(500), "program": continuous()}
    for change, field in [({"fill_nl": 20_000_001}, "fill_nl"), ({"serial": ""}, "serial"),
                          ({"at": datetime(2026, 1, 1)}, "at"),
                          ({"at": START + timedelta(microseconds=5)}, "at"),
                          ({"concentration_mcg_per_ml": Fraction(-1)}, "concentration"),
                          ({"low_reservoir_alarm_nl": 1}, "low_reservoir_alarm_nl")]:
        with pytest.raises(InvalidInput, match=field):
            Pump.implant("synchromed-ii-20", **{**good, **change})
    with pytest.raises(InvalidInput, match="model"):
        Pump.implant("nope", **good)
    assert Pump.implant("synchromed-10", **{**good, "fill_nl": 10_000_000}).model.name \
        == "synchromed-10"
    assert START.tzinfo is UTC
