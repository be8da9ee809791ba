"""The catalogue: models as data, and the battery calibration to published longevity."""

from __future__ import annotations

from fractions import Fraction

import pytest

from itb.errors import InvalidInput
from itb.pump import MODELS, AlarmKind, ContinuousTherapy, HardLimits, Program, Pump, get_model
from itb.pump.catalogue import SECONDS_PER_YEAR

from .helpers import START, at


def test_catalogue_has_the_20_40_and_older_10_ml_models() -> None:
    capacities = {name: m.reservoir_capacity_nl for name, m in MODELS.items()}
    assert capacities["synchromed-ii-20"] == 20_000_000
    assert capacities["synchromed-ii-40"] == 40_000_000
    assert capacities["synchromed-10"] == 10_000_000  # seed 002's older 10 mL pump
    for model in MODELS.values():
        assert model.min_flow_nl_per_day == 48_000  # devices.md: about 0.048 mL/day
        assert model.stated_accuracy == Fraction(145, 1000)  # devices.md: about ±14.5%
        assert model.low_reservoir_alarm_default_nl == 2_000_000  # devices.md: about 2 mL
        assert model.eri_warning_s == 90 * 86_400  # devices.md: stops 90 days after ERI


def test_unknown_model_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInput, match="synchromed-ii-20"):
        get_model("medstream-99")


def test_battery_longevity_reproduces_devices_md_5_to_7_years() -> None:
    """devices.md (medtronic.com UK): typical life 5 to 7 years depending on the programmed
    daily volume, 7 years at most. At 0.6 mL/day (devices.md worked example) itb gives 6.5
    years; at 2 mL/day 5 years; at the minimum rate the 7-year shut-off governs."""
    model = get_model("synchromed-ii-20")
    years = {q: model.longevity_s(q) / SECONDS_PER_YEAR
             for q in (48_000, 600_000, 1_000_000, 2_000_000)}
    assert 5 <= years[600_000] <= 7
    assert abs(years[600_000] - Fraction(13, 2)) < Fraction(1, 20)
    assert years[1_000_000] == 6
    assert years[2_000_000] == 5
    assert years[48_000] > 7  # so the automatic shut-off ends service at 7 years


def _lifetime(dose: int, conc: int, refill_days: int) -> Pump:
    program = Program(ContinuousTherapy(Fraction(dose)),
                      HardLimits(Fraction(dose * 2), Fraction(50)))
    pump = Pump.implant("synchromed-ii-40", serial="L", at=START, fill_nl=40_000_000,
                        concentration_mcg_per_ml=Fraction(conc), program=program, seed=3)
    pump.prime()
    day = refill_days
    while day < 8 * 366 and not pump.end_of_service:
        pump.advance(at(days=day))
        if not pump.end_of_service:
            pump.refill(added_nl=40_000_000, concentration_mcg_per_ml=Fraction(conc))
        day += refill_days
    return pump


def _milestones(pump: Pump) -> dict[str, int]:
    return {dict(e.details)["milestone"]: e.time_s for e in pump.log.entries()
            if e.kind == "battery_milestone"}


@pytest.mark.req("REQ-PUMP-BATTERY")
def test_pump_at_typical_flow_lasts_six_and_a_half_years_with_eri_90_days_before() -> None:
    pump = _lifetime(dose=300, conc=500, refill_days=60)  # 0.6 mL/day
    marks = _milestones(pump)
    start = int(START.timestamp())
    eos_years = Fraction(marks["end_of_service"] - start, SECONDS_PER_YEAR)
    assert 5 <= eos_years <= 7  # devices.md: 5 to 7 years
    assert abs(eos_years - Fraction(13, 2)) < Fraction(1, 10)
    gap_days = Fraction(marks["end_of_service"] - marks["elective_replacement_indicator"], 86_400)
    # devices.md: stops 90 days after ERI; the ERI tones themselves shorten it by ~3%.
    assert 85 <= gap_days <= 90
    assert AlarmKind.END_OF_SERVICE in pump.alarms
    assert AlarmKind.END_OF_SERVICE.critical and not AlarmKind.ELECTIVE_REPLACEMENT.critical


def test_low_flow_pump_stops_at_the_seven_year_automatic_shutoff() -> None:
    pump = _lifetime(dose=48, conc=1000, refill_days=180)  # 0.048 mL/day, the minimum rate
    marks = _milestones(pump)
    start = int(START.timestamp())
    assert marks["end_of_service"] - start == 7 * SECONDS_PER_YEAR
    assert marks["end_of_service"] - marks["elective_replacement_indicator"] == 90 * 86_400
    entry = [e for e in pump.log.entries() if e.kind == "battery_milestone"][-1]
    assert dict(entry.details)["reason"] == "automatic shut-off"
    # After EOS the motor stops: no more strokes.
    strokes = pump.strokes
    pump.advance(at(days=8 * 366 + 10))
    assert pump.strokes == strokes


@pytest.mark.parametrize("seed", range(40))
def test_true_stroke_volume_stays_within_stated_accuracy_over_seven_years(seed: int) -> None:
    program = Program(ContinuousTherapy(Fraction(300)), HardLimits(Fraction(400), Fraction(50)))
    pump = Pump.implant("synchromed-ii-20", serial="A", at=START, fill_nl=1_000_000,
                        concentration_mcg_per_ml=Fraction(500), program=program, seed=seed)
    model = pump.model
    for years in (0, 1, 3, 7):
        stroke = pump.physical.true_stroke_nl_at(pump.implant_s + years * SECONDS_PER_YEAR)
        assert abs(Fraction(stroke, model.nominal_stroke_nl) - 1) <= model.stated_accuracy
