"""Shared builders for pump tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from itb.pump import ContinuousTherapy, HardLimits, Program, Pump

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def continuous(dose: int | str = 300, max_daily: int | str = 400, max_bolus: int | str = 100,
               patient_bolus=None) -> Program:
    return Program(ContinuousTherapy(Fraction(dose)),
                   HardLimits(Fraction(max_daily), Fraction(max_bolus)), patient_bolus)


def implant(program: Program | None = None, *, fill_nl: int = 20_000_000, conc: int = 500,
            model: str = "synchromed-ii-20", seed: int = 7, prime: bool = True) -> Pump:
    pump = Pump.implant(model, serial="T-1", at=START, fill_nl=fill_nl,
                        concentration_mcg_per_ml=Fraction(conc),
                        program=program or continuous(), seed=seed)
    if prime:
        pump.prime()
    return pump


def at(days: float = 0, hours: float = 0, seconds: int = 0) -> datetime:
    return START + timedelta(days=days, hours=hours, seconds=seconds)


@pytest.fixture
def pump() -> Pump:
    return implant()
