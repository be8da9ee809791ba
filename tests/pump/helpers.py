"""Builders and ledger checks shared by the pump tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from itb.pump import ContinuousTherapy, HardLimits, PatientBolusSettings, Program, Pump

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def continuous(dose: int | str = 300, max_daily: int | str = 400, max_bolus: int | str = 100,
               patient_bolus: PatientBolusSettings | None = None) -> Program:
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


def assert_conserved(pump: Pump, initial_dead_volume_nl: int) -> None:
    """Exact conservation in both layers (integer nL; exact mcg in the physical layer)."""
    phys = pump.physical
    assert phys.reservoir_nl >= 0 and all(v > 0 for v, _c in phys.fifo)
    assert phys.filled_nl + initial_dead_volume_nl == (
        phys.csf_nl + phys.leak_nl + phys.withdrawn_nl + phys.pocket_nl
        + phys.reservoir_nl + phys.dead_volume_nl)
    assert phys.filled_mcg == (phys.csf_mcg + phys.leak_mcg + phys.withdrawn_mcg
                               + phys.pocket_mcg + phys.reservoir_mcg + phys.fifo_mcg)
    # Firmware: what it was told it received = what it counted out + withdrawn + its estimate.
    assert pump.fw_filled_nl == pump.commanded_nl + pump.fw_withdrawn_nl \
        + pump.reservoir_estimate_nl


def ideal_schedule_nl(pump: Pump, from_s: int, to_s: int) -> Fraction:
    assert pump.schedule is not None
    return Fraction(pump.schedule.volume_ideal_units(from_s + pump.clock_error_s,
                                                     to_s + pump.clock_error_s), 86_400)
