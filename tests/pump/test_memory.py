"""Non-volatile memory: two CRC slots, atomic program commit, corruption and the safe state."""

from __future__ import annotations

from fractions import Fraction

import pytest

from itb.pump import AlarmKind, ProgramNotCommitted, WriteFault
from itb.pump.memory import NonVolatileMemory
from itb.pump.programs import FlexStep, FlexTherapy, HardLimits, Program, validate_program

from .helpers import at, continuous, implant

OLD = continuous(300, max_daily=400)
NEW = Program(FlexTherapy(tuple(FlexStep(h * 3600, 3600, Fraction(200 + 5 * h))
                                for h in range(24)), utc_offset_minutes=60),
              HardLimits(Fraction(500), Fraction(40)))


def write_step_count(pump) -> int:
    payload = pump._settings_payload(NEW, pump.concentration_mcg_per_ml,
                                     pump.low_reservoir_alarm_nl)
    return len(NonVolatileMemory.write_steps(0, payload))


def assert_fully_in_force(pump, program: Program) -> None:
    """The program in RAM, its compiled schedule and the memory's active slot all agree."""
    assert pump.active_program == program
    assert pump.schedule == validate_program(program, pump.model, pump.concentration_mcg_per_ml)
    record = pump.nvm.active()
    assert record is not None and record.payload == pump._current_payload()
    assert pump.memory_self_test()
    assert AlarmKind.MEMORY_ERROR not in pump.alarms


def test_a_program_write_has_many_steps() -> None:
    pump = implant(OLD)
    assert write_step_count(pump) > 10  # erase, header, pages, CRC


# prior_writes: the target (inactive) slot is blank (0), or holds a stale valid record of
# an older program (1: OLD, 2: NEW then OLD), the case where a half-written slot must not
# resurrect the stale record.
@pytest.mark.parametrize("prior_writes", [0, 1, 2])
@pytest.mark.parametrize("kind", ["power_loss", "bit_flip"])
def test_fault_at_every_write_step_leaves_old_or_new_program_fully_in_force(
        kind: str, prior_writes: int) -> None:
    steps = write_step_count(implant(OLD))
    outcomes = set()
    for step in range(steps):
        for bit in ((0,) if kind == "power_loss" else (0, 13, 511)):
            pump = implant(OLD)
            for earlier in (OLD, NEW, OLD)[3 - prior_writes:] if prior_writes else ():
                pump.program(earlier)
            assert_fully_in_force(pump, OLD)
            stale = pump.nvm.read(1 - pump.nvm.active().slot)
            assert (stale is None) == (prior_writes == 0)
            pump.advance(at(days=1))
            try:
                pump.program(NEW, write_fault=WriteFault(step, kind, bit))
            except ProgramNotCommitted:
                assert_fully_in_force(pump, OLD)
                outcomes.add("old")
            else:
                assert_fully_in_force(pump, NEW)
                outcomes.add("new")
            # And the pump keeps running the program in force, then accepts a clean write.
            pump.advance(at(days=2))
            pump.program(NEW)
            assert_fully_in_force(pump, NEW)
    # Power lost half-way through any step (the CRC last) never commits; a flipped bit
    # is caught by the CRC, except in the erase step, which writes no bytes to flip.
    assert outcomes == ({"old"} if kind == "power_loss" else {"old", "new"})


def test_without_faults_the_new_program_is_in_the_other_slot_with_a_higher_sequence() -> None:
    pump = implant(OLD)
    first = pump.nvm.active()
    pump.program(NEW)
    second = pump.nvm.active()
    assert first is not None and second is not None
    assert second.slot != first.slot and second.sequence == first.sequence + 1
    assert "program_changed" in [e.kind for e in pump.log.entries()]


def test_power_loss_logs_a_reset_and_cancels_a_running_bolus() -> None:
    pump = implant(OLD)
    pump.advance(at(hours=1))
    pump.give_bolus(Fraction(20), 3600)
    with pytest.raises(ProgramNotCommitted):
        pump.program(NEW, write_fault=WriteFault(3, "power_loss"))
    assert pump.overlay is None
    assert "power_on_reset" in [e.kind for e in pump.log.entries()]


def test_corrupted_active_slot_raises_memory_error_and_falls_to_minimum_rate() -> None:
    pump = implant(OLD)
    pump.advance(at(days=1))
    pump.faults.corrupt_memory(bit=77)
    assert AlarmKind.MEMORY_ERROR in pump.alarms and AlarmKind.MEMORY_ERROR.critical
    assert pump.mode == "minimum_rate (memory_error)"
    before = pump.commanded_nl
    pump.advance(at(days=11))
    assert abs(pump.commanded_nl - before - 480_000) <= 250  # 0.048 mL/day for 10 days
    assert "memory_fault" in [e.kind for e in pump.log.entries()]
    pump.program(OLD)  # the clinician reprograms: a fresh valid slot clears the fault
    assert pump.mode == "running"
    assert_fully_in_force(pump, OLD)


def test_corrupted_inactive_slot_is_not_in_force_and_raises_nothing() -> None:
    pump = implant(OLD)
    pump.program(NEW)
    active = pump.nvm.active()
    assert active is not None
    pump.faults.corrupt_memory(slot=1 - active.slot, bit=5)
    assert pump.alarms == {}
    assert_fully_in_force(pump, NEW)


def test_both_slots_corrupt_at_boot_is_a_memory_error() -> None:
    pump = implant(OLD)
    pump.program(NEW)
    pump.nvm.flip_bit(0, 9)
    pump.nvm.flip_bit(1, 9)
    with pytest.raises(ProgramNotCommitted):
        pump.program(OLD, write_fault=WriteFault(0, "power_loss"))
    assert AlarmKind.MEMORY_ERROR in pump.alarms
    assert pump.safe_state == "memory_error"


def test_invalid_write_fault_is_refused_without_touching_memory() -> None:
    from itb.errors import InvalidInput
    pump = implant(OLD)
    state = pump.to_state()
    with pytest.raises(InvalidInput, match="write_fault"):
        pump.program(NEW, write_fault=WriteFault(10_000, "power_loss"))
    assert pump.to_state() == state


def test_slot_crc_detects_every_single_bit_flip() -> None:
    nvm = NonVolatileMemory()
    nvm.write(b'{"program": 1}')
    size = len(nvm.slots[0]) * 8
    for bit in range(size):
        copy = NonVolatileMemory.from_state(nvm.to_state())
        copy.flip_bit(0, bit)
        assert copy.read(0) is None
