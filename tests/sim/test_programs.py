"""Scenario programs: the pump program, refill planning schedule, titration steps, screening."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from itb.pump.catalogue import MODELS
from itb.sim.programs import build_program, scaled_program
from itb.sim.schema import ProgramSpec
from itb.sim.screening import ashworth_grade, penn_score
from itb.therapy.flex import make_schedule, seconds_to_deliver

MODEL = MODELS["synchromed-ii-20"]
FLEX = ProgramSpec(type="flex", utc_offset="+01:00", steps=[
    {"start": "00:00", "dose_mcg_per_day": 560}, {"start": "07:00", "dose_mcg_per_day": 480},
    {"start": "19:30", "dose_mcg_per_day": 520}])


def test_refill_schedule_in_utc_delivers_exactly_like_the_local_schedule() -> None:
    built = build_program(FLEX, MODEL, Fraction(2000), 0)
    utc = built.refill_schedule()
    assert utc.timezone == "UTC"
    local = make_schedule([(s.start, s.dose_mcg_per_day) for s in FLEX.steps], "Etc/GMT-1")
    start = datetime(2026, 3, 1, 5, 17, tzinfo=UTC)
    for volume_nl in (1_000, 3_000_000, 18_000_000):
        assert seconds_to_deliver(utc, Fraction(2000), start, volume_nl) == \
            seconds_to_deliver(local, Fraction(2000), start, volume_nl)
    assert utc.total_daily_dose_mcg() == built.daily_dose_mcg


def test_flex_program_daily_dose_is_exact() -> None:
    built = build_program(FLEX, MODEL, Fraction(2000), 0)
    expected = (Fraction(560) * 7 + Fraction(480) * Fraction(25, 2)
                + Fraction(520) * Fraction(9, 2)) / 24
    assert built.daily_dose_mcg == expected
    # Default limit: the largest 24 h dose plus a quarter, rounded up to a whole mcg.
    assert built.program.limits.max_daily_dose_mcg == 639  # ceil(12260 / 24 * 5 / 4)


@settings(max_examples=60, deadline=None)
@given(dose=st.integers(min_value=50, max_value=1500),
       percent=st.integers(min_value=-20, max_value=40).filter(lambda p: p != 0),
       conc=st.sampled_from([500, 1000, 2000]))
def test_titrated_rate_is_never_above_the_intended_and_within_one_nl_per_day(
        dose: int, percent: int, conc: int) -> None:
    spec = ProgramSpec(type="simple", daily_dose_mcg=Fraction(dose))
    new = scaled_program(spec, Fraction(percent), Fraction(conc))
    assert new.daily_dose_mcg is not None
    intended = Fraction(dose) * (100 + percent) / 100
    one_nl_per_day = Fraction(conc, 1_000_000)
    assert intended - one_nl_per_day < new.daily_dose_mcg <= intended
    assert (new.daily_dose_mcg * 1_000_000 / conc).denominator == 1


def test_ashworth_grades_and_penn_scores_from_the_model() -> None:
    assert [ashworth_grade(x) for x in (0.2, 0.8, 1.3, 1.8, 2.4, 3.5, 3.6)] == \
        ["0", "1", "1+", "2", "2", "3", "4"]
    assert [penn_score(x) for x in (0.0, 0.05, 0.5, 4.0, 12.0)] == [0, 1, 2, 3, 4]


def test_a_recorded_grade_falls_only_when_the_score_really_fell_that_far() -> None:
    from itb.sim.screening import assessed_ashworth, assessed_penn

    assert assessed_ashworth("3", 0.99) == "3"
    assert assessed_ashworth("3", 1.0) == "2"
    assert assessed_ashworth("3", 1.6) == "1+"
    assert assessed_ashworth("4", 0.2) == "4"
    # Penn: one level for each tenfold fall of the spasm rate.
    assert assessed_penn(3, 4.0, 0.5) == 3
    assert assessed_penn(3, 4.0, 0.4) == 2
    assert assessed_penn(3, 4.0, 0.0) == 0


@settings(max_examples=40, deadline=None)
@given(ec50=st.floats(min_value=0.12, max_value=0.5), baseline=st.floats(min_value=2.5,
                                                                          max_value=4.0))
def test_first_screening_bolus_agrees_with_the_patient_models_own_judgement(
        ec50: float, baseline: float) -> None:
    """The first bolus (drug-free patient) is positive exactly when the patient model's
    screening_response finds a fall of one Ashworth point, barring a fall within a few
    hundredths of a point of the threshold (sampling every 5 min against every minute)."""
    from datetime import UTC, datetime

    from itb.physiology import Patient, PatientParameters
    from itb.physiology.response import SpasticityResponse
    from itb.physiology.screening import screening_response
    from itb.sim.schema import ScreeningSection
    from itb.sim.screening import run_screening

    params = PatientParameters(response=SpasticityResponse(ec50_initial_mcg_per_ml=ec50,
                                                           baseline_ashworth=baseline))
    reference = screening_response(params, 50)
    if abs(reference.peak_ashworth_drop - 1.0) < 0.03:
        return
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    outcome = run_screening(Patient(params, start), ScreeningSection(start=start,
                                                                     doses_mcg=[Fraction(50)]),
                            int(start.timestamp()) + 3 * 86_400)
    assert outcome.record.responses[0] == reference.positive


def test_a_zones_flex_clock_offset_is_the_one_in_force_when_the_program_is_entered() -> None:
    spec = ProgramSpec(type="flex", timezone="Europe/Paris", steps=[
        {"start": "07:00", "dose_mcg_per_day": 400}, {"start": "22:00", "dose_mcg_per_day": 600}])
    winter = build_program(spec, MODEL, Fraction(2000),
                           int(datetime(2026, 1, 15, tzinfo=UTC).timestamp()))
    summer = build_program(spec, MODEL, Fraction(2000),
                           int(datetime(2026, 7, 15, tzinfo=UTC).timestamp()))
    assert (winter.utc_offset_minutes, summer.utc_offset_minutes) == (60, 120)
    assert winter.program.therapy.utc_offset_minutes == 60
    # 07:00 local is 06:00 UTC in winter, 05:00 UTC in summer.
    assert [s.start.strftime("%H:%M") for s in winter.refill_schedule().steps] == \
        ["06:00", "21:00"]
    assert [s.start.strftime("%H:%M") for s in summer.refill_schedule().steps] == \
        ["05:00", "20:00"]


def test_zone_and_offset_together_are_refused() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not both"):
        ProgramSpec(type="simple", daily_dose_mcg=Fraction(500), timezone="UTC",
                    utc_offset="+00:00")
    with pytest.raises(ValidationError, match="IANA"):
        ProgramSpec(type="simple", daily_dose_mcg=Fraction(500), timezone="Mars/Olympus")
