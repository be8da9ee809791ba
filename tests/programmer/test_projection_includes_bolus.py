"""Issue 9.3: the projected low-reservoir alarm and empty dates include a running bolus.

The property drives a real `Pump` through its telemetry adapter (the answers a wand
reads), builds the programmer's `PumpView`, then runs the pump model on until it raises
its alarms: the projection must never be later than the pump.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from itb.programmer.view import PumpView, build_view
from itb.pump import ContinuousTherapy, HardLimits, Program, Pump
from itb.pump.alarms import AlarmKind
from itb.pump.pump import to_datetime
from itb.telemetry.protocol.commands import Interrogate as InterrogateCommand
from itb.telemetry.protocol.commands import InterrogationReport, LogPage, ReadLog
from itb.telemetry.protocol.keys import Role
from itb.telemetry.pumpside.adapter import PumpAdapter

IMPLANTED = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CONCENTRATIONS = (500, 1000, 2000)  # marketed refill strengths (itb.therapy.catalogue)


def view_of(pump: Pump) -> PumpView:
    adapter = PumpAdapter(pump)
    report = adapter.handle(InterrogateCommand(), Role.CLINICIAN, 0)
    assert isinstance(report, InterrogationReport)
    entries = []
    index = report.log_first_index
    while True:
        page = adapter.handle(ReadLog(index), Role.CLINICIAN, 0)
        assert isinstance(page, LogPage)
        entries.extend(page.entries)
        if page.complete or not page.entries:
            break
        index = page.next_index
    return build_view(report, tuple(entries))


def raised_at(pump: Pump, kind: AlarmKind) -> datetime | None:
    alarm = pump.alarms.get(kind)
    return None if alarm is None else to_datetime(alarm.raised_s + pump.clock_error_s)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conc=st.sampled_from(CONCENTRATIONS), dose=st.integers(100, 900),
       fill_ml=st.integers(3, 20), wait_s=st.integers(0, 3 * 86_400),
       act=st.sampled_from(["none", "bolus", "bridge"]), bolus_mcg=st.integers(1, 100),
       bolus_min=st.integers(15, 600), new_conc=st.sampled_from(CONCENTRATIONS),
       after_s=st.integers(0, 36_000))
def test_projected_alarm_and_empty_times_are_never_later_than_the_pump_raises_them(
        conc: int, dose: int, fill_ml: int, wait_s: int, act: str, bolus_mcg: int,
        bolus_min: int, new_conc: int, after_s: int) -> None:
    program = Program(ContinuousTherapy(Fraction(dose)),
                      HardLimits(Fraction(3 * dose + 400), Fraction(100)))
    pump = Pump.implant("synchromed-ii-20", serial="P-1", at=IMPLANTED,
                        fill_nl=fill_ml * 1_000_000, concentration_mcg_per_ml=Fraction(conc),
                        program=program, seed=dose)
    pump.prime()  # the priming bolus runs at implant
    if act != "none":
        pump.advance(IMPLANTED + timedelta(seconds=wait_s))
        assume(AlarmKind.LOW_RESERVOIR not in pump.alarms)
        if act == "bolus":
            assume(pump.overlay is None)
            pump.give_bolus(Fraction(bolus_mcg), bolus_min * 60)
        else:
            assume(new_conc != conc and Fraction(dose, new_conc) >= Fraction(48, 1000))
            pump.refill(added_nl=20_000_000, concentration_mcg_per_ml=Fraction(new_conc),
                        bridge_bolus=True)
        pump.advance(to_datetime(pump.now_s + min(after_s, pump.overlay.end_s - pump.now_s - 1)
                                 if pump.overlay is not None else pump.now_s))
    view = view_of(pump)
    projection = view.projection
    assume(not projection.alarm_already_due and projection.plan is not None)
    plan = projection.plan
    pump.advance(plan.empty_at.replace(microsecond=0) + timedelta(days=2))
    alarm, empty = raised_at(pump, AlarmKind.LOW_RESERVOIR), raised_at(pump,
                                                                       AlarmKind.RESERVOIR_EMPTY)
    assert alarm is not None and empty is not None
    assert plan.alarm_at <= alarm
    assert plan.empty_at <= empty
    # Early, but not by more than a little: the bolus is counted, not ignored twice.
    assert alarm - plan.alarm_at < timedelta(hours=2)
