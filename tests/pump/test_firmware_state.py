"""The firmware's mode tables (itb.pump.state) against the flags they read."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

from itb.pump.alarms import AlarmKind, AlarmState
from itb.pump.records import Overlay
from itb.pump.state import (
    ACT_REFUSALS,
    MINIMUM_RATE_CONDITIONS,
    MODE_TABLE,
    RUNNING_REFUSALS,
    FirmwareState,
)

BOLUS = Overlay("clinician", 0, ((600, 1_000_000),), 6944, Fraction(500))


def _every_state() -> list[FirmwareState]:
    states = []
    for stopped, stalled, eos, safe, empty, overlay, primed in product(
            (False, True), (False, True), (False, True), (None, "memory_error"),
            (False, True), (None, BOLUS), (False, True)):
        alarms = {AlarmKind.RESERVOIR_EMPTY: AlarmState(AlarmKind.RESERVOIR_EMPTY, 0, 0)} \
            if empty else {}
        states.append(FirmwareState(stopped=stopped, stalled=stalled, end_of_service=eos,
                                    safe_state=safe, needs_priming=not primed,
                                    overlay=overlay, alarms=alarms))
    return states


def test_minimum_rate_is_exactly_the_tables_conditions() -> None:
    for state in _every_state():
        assert state.at_minimum_rate() == any(
            state._holds(condition) for condition in MINIMUM_RATE_CONDITIONS)


def test_the_mode_is_the_first_row_that_holds() -> None:
    for state in _every_state():
        rows = [mode for condition, mode in MODE_TABLE if state._holds(condition)]
        expected = rows[0].format(overlay=state.overlay, safe_state=state.safe_state) \
            if rows else "running"
        assert state.mode == expected


def test_an_act_needing_the_therapy_running_is_refused_in_every_other_mode() -> None:
    for state in _every_state():
        running = state.mode == "running"
        for act in ("give_bolus", "patient bolus"):
            assert (state.refusal(act) is None) == running
        assert ACT_REFUSALS["give_bolus"] == RUNNING_REFUSALS


def test_an_act_not_in_the_table_is_allowed_in_every_mode() -> None:
    for state in _every_state():
        assert state.refusal("acknowledge_alarm") is None
