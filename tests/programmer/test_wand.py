"""`wand.send_program`: an echo that differs from what was sent restores the previous program."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pytest

from itb.programmer.errors import EchoMismatch
from itb.programmer.schedule import continuous_program
from itb.programmer.wand import send_program
from itb.telemetry.protocol.commands import HardLimitsSpec, ProgramConfirmation, ProgramSpec

LIMITS = HardLimitsSpec(Fraction(600), Fraction(100))
OLD = continuous_program(Fraction(300), LIMITS, None)
NEW = continuous_program(Fraction(330), LIMITS, None)
AT = datetime(2026, 2, 1, tzinfo=UTC)


def confirmation(spec: ProgramSpec) -> ProgramConfirmation:
    return ProgramConfirmation(True, spec, Fraction(330), Fraction(660_000), Fraction(500),
                               None, None, AT)


class FaultyPump:
    """A stand-in client whose pump echoes a different dose than it was sent."""

    def __init__(self) -> None:
        self.sent: list[ProgramSpec] = []
        self.running = OLD

    def program(self, spec: ProgramSpec, *, confirm_only: bool = False,
                cancel_bridge_reason: str | None = None,
                command_id: str | None = None) -> ProgramConfirmation:
        self.sent.append(spec)
        self.running = self.runs(spec)
        return self.echo(self.running)

    def runs(self, spec: ProgramSpec) -> ProgramSpec:
        """What the pump runs when sent `spec`: here a tenfold dose, unless it is the old one."""
        return spec if spec == OLD else continuous_program(Fraction(3300), LIMITS, None)

    def echo(self, running: ProgramSpec) -> ProgramConfirmation:
        return confirmation(running)

    def interrogate(self) -> Any:
        class Report:
            program = self.running
        return Report()


def test_an_echo_that_differs_restores_the_previous_program() -> None:
    pump = FaultyPump()
    with pytest.raises(EchoMismatch) as refused:
        send_program(pump, lambda: pump, OLD, NEW, Fraction(500))  # type: ignore[arg-type]
    assert pump.sent == [NEW, OLD]
    assert pump.running == OLD
    assert "3300 mcg/day" in str(refused.value)
    assert "restored and verified" in str(refused.value)


def test_an_echo_that_matches_is_accepted() -> None:
    class GoodPump(FaultyPump):
        def runs(self, spec: ProgramSpec) -> ProgramSpec:
            return spec

    pump = GoodPump()
    echo, after = send_program(pump, lambda: pump, OLD, NEW, Fraction(500))  # type: ignore[arg-type]
    assert echo.program == NEW and after.program == NEW and pump.sent == [NEW]


def test_an_echo_at_another_concentration_is_a_mismatch() -> None:
    class OtherDrug(FaultyPump):
        def runs(self, spec: ProgramSpec) -> ProgramSpec:
            return spec

        def echo(self, running: ProgramSpec) -> ProgramConfirmation:
            return replace(confirmation(running), concentration_mcg_per_ml=Fraction(2000))

    pump = OtherDrug()
    with pytest.raises(EchoMismatch, match="2000 mcg/mL"):
        send_program(pump, lambda: pump, OLD, NEW, Fraction(500))  # type: ignore[arg-type]
    assert pump.sent == [NEW, OLD]
