"""Program value objects: validation against the model and concentration, compilation."""

from __future__ import annotations

from fractions import Fraction

import pytest

from itb.pump import (
    ContinuousTherapy,
    FlexStep,
    FlexTherapy,
    HardLimits,
    InvalidProgram,
    PatientBolusSettings,
    PeriodicBolus,
    Program,
    get_model,
)
from itb.pump.programs import (
    bolus_segments,
    compile_therapy,
    program_from_dict,
    program_to_dict,
    validate_program,
)

MODEL = get_model("synchromed-ii-20")
C500 = Fraction(500)


def hourly(doses: list[int]) -> FlexTherapy:
    return FlexTherapy(tuple(FlexStep(h * 3600, 3600, Fraction(d)) for h, d in enumerate(doses)))


def test_continuous_compiles_to_one_flow_in_whole_nl_per_day() -> None:
    sched = compile_therapy(ContinuousTherapy(Fraction(300)), MODEL, C500, Fraction(50))
    assert sched.rates_nl_per_day == (600_000,)  # devices.md worked example: 0.6 mL/day
    assert sched.rate_and_next(12345) == (600_000, None)


def test_flex_with_24_steps_compiles_and_reports_its_boundaries() -> None:
    sched = compile_therapy(hourly([100 + 10 * h for h in range(24)]), MODEL, C500, Fraction(50))
    assert len(sched.offsets_s) == 24
    flow, nxt = sched.rate_and_next(3 * 3600 + 10)
    assert flow == 260_000 and nxt == 4 * 3600


def test_flex_steps_in_a_stated_time_zone_shift_with_the_offset() -> None:
    steps = (FlexStep(0, 8 * 3600, Fraction(100)), FlexStep(8 * 3600, 16 * 3600, Fraction(400)))
    utc = compile_therapy(FlexTherapy(steps), MODEL, C500, Fraction(50))
    cet = compile_therapy(FlexTherapy(steps, utc_offset_minutes=60), MODEL, C500, Fraction(50))
    # 07:30 UTC is 08:30 in UTC+1: the day step has begun there, not yet in UTC.
    assert utc.rate_and_next(7 * 3600 + 1800)[0] == 200_000
    assert cet.rate_and_next(7 * 3600 + 1800)[0] == 800_000


def test_weekly_flex_starts_monday_and_repeats_every_week() -> None:
    week = 7 * 86_400
    steps = (FlexStep(0, 5 * 86_400, Fraction(300)),
             FlexStep(5 * 86_400, 2 * 86_400, Fraction(150)))
    sched = compile_therapy(FlexTherapy(steps, period="weekly"), MODEL, C500, Fraction(50))
    monday = 1767571200  # 2026-01-05 00:00 UTC was a Monday
    assert sched.rate_and_next(monday + 3600)[0] == 600_000
    assert sched.rate_and_next(monday + 5 * 86_400 + 3600)[0] == 300_000
    assert sched.rate_and_next(monday + week + 3600)[0] == 600_000


@pytest.mark.req("REQ-PUMP-PROGRAM-VALID")
def test_overlapping_flex_steps_are_refused_naming_the_step() -> None:
    steps = (FlexStep(0, 13 * 3600, Fraction(100)), FlexStep(12 * 3600, 12 * 3600, Fraction(100)))
    with pytest.raises(InvalidProgram, match=r"steps\[0\].*must not overlap"):
        compile_therapy(FlexTherapy(steps), MODEL, C500, Fraction(50))


@pytest.mark.req("REQ-PUMP-PROGRAM-VALID")
def test_flex_steps_with_a_gap_are_refused() -> None:
    steps = (FlexStep(0, 11 * 3600, Fraction(100)), FlexStep(12 * 3600, 12 * 3600, Fraction(100)))
    with pytest.raises(InvalidProgram, match="without gaps"):
        compile_therapy(FlexTherapy(steps), MODEL, C500, Fraction(50))


@pytest.mark.req("REQ-PUMP-PROGRAM-VALID")
def test_more_steps_than_the_model_allows_are_refused() -> None:
    steps = tuple(FlexStep(i * 1800, 1800, Fraction(100)) for i in range(48))
    compile_therapy(FlexTherapy(steps), MODEL, C500, Fraction(50))  # 48 per day allowed
    many = tuple(FlexStep(i * 1200, 1200, Fraction(100)) for i in range(72))
    with pytest.raises(InvalidProgram, match="1 to 48 steps"):
        compile_therapy(FlexTherapy(many), MODEL, C500, Fraction(50))


@pytest.mark.req("REQ-PUMP-PROGRAM-VALID")
@pytest.mark.parametrize("dose", ["-5", "0", "20", "12001"])
def test_dose_rates_outside_the_model_flow_range_are_refused_with_the_range(dose: str) -> None:
    with pytest.raises(InvalidProgram, match=r"24 to 12000 mcg/day at 500 mcg/mL"):
        compile_therapy(ContinuousTherapy(Fraction(dose)), MODEL, C500, Fraction(50))


def test_dose_finer_than_one_nl_per_day_is_refused() -> None:
    with pytest.raises(InvalidProgram, match="rate resolution"):
        compile_therapy(ContinuousTherapy(Fraction(1, 3) + 300), MODEL, C500, Fraction(50))


def test_periodic_bolus_replaces_the_step_rate_and_delivers_exactly_its_dose() -> None:
    steps = (FlexStep(0, 86_400, Fraction(240)),)
    bolus = PeriodicBolus(8 * 3600, Fraction(25), 7 * 60)  # 7 minutes: a non-dividing duration
    sched = compile_therapy(FlexTherapy(steps, periodic_boluses=(bolus,)), MODEL, C500,
                            Fraction(50))
    inside = sched.volume_ideal_units(8 * 3600, 8 * 3600 + 420)
    assert Fraction(inside, 86_400) == 50_000  # 25 mcg at 500 mcg/mL = 50 µL exactly
    day = Fraction(sched.volume_ideal_units(0, 86_400), 86_400)
    assert day == 480_000 - Fraction(480_000 * 420, 86_400) + 50_000


def test_overlapping_periodic_boluses_are_refused() -> None:
    steps = (FlexStep(0, 86_400, Fraction(240)),)
    boluses = (PeriodicBolus(3600, Fraction(10), 3600), PeriodicBolus(5400, Fraction(10), 600))
    with pytest.raises(InvalidProgram, match="must not overlap"):
        compile_therapy(FlexTherapy(steps, periodic_boluses=boluses), MODEL, C500, Fraction(50))


def test_periodic_bolus_above_the_maximum_bolus_is_refused() -> None:
    steps = (FlexStep(0, 86_400, Fraction(240)),)
    with pytest.raises(InvalidProgram, match="maximum bolus"):
        compile_therapy(FlexTherapy(steps, periodic_boluses=(PeriodicBolus(0, Fraction(60), 600),)),
                        MODEL, C500, Fraction(50))


def test_bolus_segments_deliver_exactly_the_volume() -> None:
    for volume, duration in [(50_000, 420), (1, 60), (100_000, 3600), (7, 86_400)]:
        pieces = bolus_segments(volume, duration)
        assert sum(length for length, _ in pieces) == duration
        assert sum(length * rate for length, rate in pieces) == volume * 86_400


@pytest.mark.req("REQ-PUMP-PROGRAM-VALID")
def test_max_daily_dose_must_cover_the_program_and_patient_allowance() -> None:
    therapy = ContinuousTherapy(Fraction(300))
    pb = PatientBolusSettings(Fraction(20), 3 * 3600, 4)
    ok = Program(therapy, HardLimits(Fraction(381), Fraction(50)), pb)  # 300 + 80 + one stroke
    validate_program(ok, MODEL, C500)
    tight = Program(therapy, HardLimits(Fraction(380), Fraction(50)), pb)
    with pytest.raises(InvalidProgram, match="max_daily_dose_mcg"):
        validate_program(tight, MODEL, C500)


def test_patient_bolus_settings_are_validated() -> None:
    therapy = ContinuousTherapy(Fraction(300))
    for pb, field in [(PatientBolusSettings(Fraction(60), 3600, 2), "patient_bolus.dose_mcg"),
                      (PatientBolusSettings(Fraction(10), 10, 2), "patient_bolus.lockout_s"),
                      (PatientBolusSettings(Fraction(10), 3600, 0), "patient_bolus.max_per_24h")]:
        with pytest.raises(InvalidProgram, match=field.replace(".", r"\.")):
            validate_program(Program(therapy, HardLimits(Fraction(900), Fraction(50)), pb),
                             MODEL, C500)


def test_program_serialises_exactly() -> None:
    therapy = FlexTherapy((FlexStep(0, 86_400, Fraction("240.5")),), "daily", -300,
                          (PeriodicBolus(3600, Fraction(10), 600),))
    program = Program(therapy, HardLimits(Fraction(600), Fraction(50)),
                      PatientBolusSettings(Fraction("12.5"), 7200, 3))
    assert program_from_dict(program_to_dict(program)) == program
