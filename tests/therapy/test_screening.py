"""Screening trial protocol, trial record decisions and candidate checks."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from itb.errors import InvalidInput
from itb.therapy.errors import NotACandidate, ScreeningProtocolError
from itb.therapy.screening import (
    PositiveResponseCriterion,
    SpasticityScore,
    TrialDecision,
    assess_candidate,
    evaluate_trial,
    require_candidate,
    screening_bolus,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIGHT = SpasticityScore("3", 3)
SAME = SpasticityScore("3", 3)
LOOSE = SpasticityScore("1+", 2)


def bolus(index: int, after: SpasticityScore = SAME, effect: object = None, **kw: object):
    args = {"dose_mcg": (50, 75, 100)[index], "given_at": T0 + timedelta(hours=24 * index),
            "injection_s": 90, "observed_h": 8, "before": TIGHT, "after": after,
            "effect_duration_h": effect} | kw
    return screening_bolus(**args)  # type: ignore[arg-type]


def test_positive_first_bolus_makes_a_candidate_with_initial_dose() -> None:
    record = evaluate_trial([bolus(0, LOOSE, effect=10)])
    assert record.decision is TrialDecision.CANDIDATE
    assert record.positive_dose_mcg == 50
    assert record.initial_dose is not None and record.initial_dose.daily_dose_mcg == 50


def test_short_effect_doubles_initial_dose() -> None:
    record = evaluate_trial([bolus(0), bolus(1, LOOSE, effect=6)])
    assert record.initial_dose is not None and record.initial_dose.daily_dose_mcg == 150


@pytest.mark.req("REQ-THER-SCREENING")
def test_no_response_escalates_to_75_then_100_24h_later() -> None:
    first = evaluate_trial([bolus(0)])
    assert first.decision is TrialDecision.ESCALATE
    assert first.next_dose_mcg == 75 and first.next_dose_volume_ml == Fraction(3, 2)
    assert first.next_dose_not_before == T0 + timedelta(hours=24)
    second = evaluate_trial([bolus(0), bolus(1)])
    assert second.next_dose_mcg == 100 and second.next_dose_volume_ml == 2


@pytest.mark.req("REQ-THER-SCREENING")
def test_no_response_to_100_is_not_a_candidate() -> None:
    record = evaluate_trial([bolus(0), bolus(1), bolus(2)])
    assert record.decision is TrialDecision.NOT_A_CANDIDATE
    assert "100 mcg" in record.reason
    assert record.responses == (False, False, False)


def test_spasm_frequency_fall_alone_is_positive() -> None:
    record = evaluate_trial([bolus(0, SpasticityScore("3", 2), effect=5)])
    assert record.decision is TrialDecision.CANDIDATE


def test_positive_response_threshold_is_a_parameter() -> None:
    strict = PositiveResponseCriterion(min_ashworth_decrease=Fraction(2),
                                       min_spasm_frequency_decrease=2)
    record = evaluate_trial([bolus(0, LOOSE, effect=5)], strict)
    assert record.decision is TrialDecision.ESCALATE


@pytest.mark.req("REQ-THER-SCREENING")
@pytest.mark.parametrize(("boluses", "field"), [
    (lambda: [bolus(0, dose_mcg=75)], "boluses[0].dose_mcg"),
    (lambda: [bolus(0, injection_s=30)], "boluses[0].injection_s"),
    (lambda: [bolus(0, observed_h=3)], "boluses[0].observed_h"),
    (lambda: [bolus(0), bolus(1, given_at=T0 + timedelta(hours=23))], "boluses[1].given_at"),
    (lambda: [bolus(0, LOOSE, effect=5), bolus(1)], "boluses[1]"),
    (lambda: [bolus(0, LOOSE)], "boluses[0].effect_duration_h"),
    (lambda: [], "boluses"),
    (lambda: [bolus(0), bolus(1), bolus(2), bolus(2)], "boluses"),
])
def test_protocol_violations_are_refused(boluses, field: str) -> None:
    with pytest.raises(ScreeningProtocolError) as err:
        evaluate_trial(boluses())
    assert err.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"given_at": datetime(2026, 3, 2)}, "given_at"),
    ({"injection_s": 0}, "injection_s"),
    ({"observed_h": 0}, "observed_h"),
    ({"effect_duration_h": "-1"}, "effect_duration_h"),
    ({"dose_mcg": 50.0}, "dose_mcg"),
])
def test_bolus_record_refuses_invalid_input(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        bolus(0, **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(("ashworth", "spasms", "field"), [
    ("5", 1, "ashworth"), ("1-", 1, "ashworth"), ("2", 5, "spasm_frequency"),
    ("2", -1, "spasm_frequency"), ("2", True, "spasm_frequency"),
])
def test_scores_refuse_invalid_grades(ashworth: str, spasms: int, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        SpasticityScore(ashworth, spasms)
    assert err.value.field == field


def test_criterion_refuses_invalid_thresholds() -> None:
    with pytest.raises(InvalidInput):
        PositiveResponseCriterion(min_ashworth_decrease=Fraction(0))
    with pytest.raises(InvalidInput):
        PositiveResponseCriterion(min_spasm_frequency_decrease=0)


def test_candidate_over_30_lb_with_failed_oral_meds_is_eligible() -> None:
    assert assess_candidate(body_weight_kg="13.7", severe_spasticity=True,
                            oral_medication_inadequate=True).eligible


def test_candidate_at_or_under_13_6_kg_is_not_eligible() -> None:
    result = assess_candidate(body_weight_kg="13.6", severe_spasticity=True,
                              oral_medication_inadequate=True)
    assert not result.eligible and "13.6 kg" in result.unmet[0]


def test_candidate_lists_every_unmet_criterion() -> None:
    result = assess_candidate(body_weight_kg=10, severe_spasticity=False,
                              oral_medication_inadequate=False, age_years=3,
                              days_since_brain_injury=100)
    assert len(result.unmet) == 5
    with pytest.raises(NotACandidate):
        require_candidate(body_weight_kg=10, severe_spasticity=True,
                          oral_medication_inadequate=True)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"body_weight_kg": 0}, "body_weight_kg"),
    ({"body_weight_kg": "heavy"}, "body_weight_kg"),
    ({"severe_spasticity": "yes"}, "severe_spasticity"),
    ({"age_years": -2}, "age_years"),
    ({"days_since_brain_injury": "-1"}, "days_since_brain_injury"),
])
def test_candidate_check_refuses_invalid_input(kwargs: dict, field: str) -> None:
    args = {"body_weight_kg": 60, "severe_spasticity": True,
            "oral_medication_inadequate": True} | kwargs
    with pytest.raises(InvalidInput) as err:
        assess_candidate(**args)
    assert err.value.field == field


def test_a_bolus_whose_24_hour_follow_up_leaves_the_calendar_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        screening_bolus(dose_mcg=50, given_at=datetime(9999, 12, 31, tzinfo=UTC),
                        injection_s=60, observed_h=4, before=TIGHT, after=SAME)
    assert refused.value.field == "given_at"


@pytest.mark.parametrize("points", [Fraction(0), Fraction(9, 2), Fraction(-1)])
def test_positive_response_ashworth_threshold_must_fit_the_scale(points: Fraction) -> None:
    with pytest.raises(InvalidInput) as refused:
        PositiveResponseCriterion(min_ashworth_decrease=points)
    assert refused.value.field == "min_ashworth_decrease"


def test_a_very_small_child_may_start_screening_at_25_mcg() -> None:
    # issue 16.13: 25 mcg for a very small child (catalogue, *unconfirmed* label figure).
    def child_bolus(index: int, after: SpasticityScore = SAME, effect: object = None):
        return screening_bolus(dose_mcg=(25, 50, 75, 100)[index],
                               given_at=T0 + timedelta(hours=24 * index), injection_s=90,
                               observed_h=8, before=TIGHT, after=after,
                               effect_duration_h=effect)

    first = evaluate_trial([child_bolus(0)], small_child=True)
    assert first.decision is TrialDecision.ESCALATE and first.next_dose_mcg == 50
    assert child_bolus(0).volume_ml == Fraction(1, 2)
    positive = evaluate_trial([child_bolus(0, LOOSE, effect=10)], small_child=True)
    assert positive.initial_dose is not None and positive.initial_dose.daily_dose_mcg == 25
    last = evaluate_trial([child_bolus(i) for i in range(4)], small_child=True)
    assert last.decision is TrialDecision.NOT_A_CANDIDATE
    # Without the flag 25 mcg is refused, and the refusal says when it is allowed.
    with pytest.raises(ScreeningProtocolError) as refused:
        evaluate_trial([child_bolus(0)])
    assert "very small child" in str(refused.value)
