"""Withdrawal and overdose staging against the labeled timelines and signs.

[LABEL] boxed warning and overdose (devices.md); [NSWIKI] severe withdrawal "can progress
over 24-72 hours to rhabdomyolysis"; seeds 003/004 name the signs; devices.md: pocket fill
is followed by an overdose within hours.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from itb.errors import InvalidInput
from itb.physiology.overdose import OverdoseModel
from itb.physiology.patient import DrugDelivery, Patient, Route
from itb.physiology.population import PatientParameters
from itb.physiology.withdrawal import WithdrawalModel

from .conftest import T0, hours


def first_hour(trace, mask: np.ndarray) -> float | None:
    return float(trace.t_s[np.argmax(mask)] / 3600) if mask.any() else None


def test_abrupt_stop_gives_early_signs_within_a_day_and_severe_ones_in_24_to_72_h(
        typical: PatientParameters) -> None:
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(96))  # nothing arrives: the reservoir is empty
    stage = trace.withdrawal_stage
    early = first_hour(trace, stage >= 1)
    severe = first_hour(trace, stage >= 3)
    worst = first_hour(trace, stage >= 4)
    assert early is not None and 2 <= early <= 24       # within hours of the loss
    assert severe is not None and 24 <= severe <= 72     # [NSWIKI] progression over 24-72 h
    assert worst is not None and severe < worst <= 72
    assert np.all(np.diff(stage.astype(int)) >= 0)       # it only worsens while untreated
    i_early = int(np.argmax(stage >= 1))
    # [LABEL] early signs: return of spasticity and pruritus; seed 003 "itchy skin".
    assert {"itchy-skin", "muscle-spasms"} <= set(trace.symptoms_at(i_early))
    assert {"high-fever", "confusion", "seizures"} <= set(trace.symptoms_at(int(np.argmax(
        stage >= 3))))
    # [LABEL] exaggerated rebound spasticity: worse than the untreated baseline.
    assert trace.ashworth[-1] > typical.response.baseline_ashworth


def test_restoring_the_drug_ends_withdrawal(typical: PatientParameters) -> None:
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    stopped = patient.advance(T0 + hours(20))
    assert stopped.withdrawal_stage[-1] >= 1
    resumed = patient.advance(T0 + hours(44), [DrugDelivery(T0 + hours(20), T0 + hours(44),
                                                            Fraction(460))])
    assert resumed.withdrawal_stage[-1] == 0
    assert patient.state().hours_under_need is None


def test_a_partial_loss_is_milder_than_a_complete_one(typical: PatientParameters) -> None:
    for share, worst_allowed in ((Fraction(7, 10), 0), (Fraction(35, 100), 2)):
        patient = Patient.on_steady_therapy(typical, T0, 460, 365)
        trace = patient.advance(T0 + hours(96),
                                [DrugDelivery(T0, T0 + hours(96), 460 * 4 * share)])
        assert trace.withdrawal_stage.max() <= worst_allowed


def test_a_screening_bolus_creates_no_dependence(typical: PatientParameters) -> None:
    patient = Patient(typical, T0)
    trace = patient.advance(T0 + hours(72), [DrugDelivery(T0, T0, Fraction(100))])
    assert trace.withdrawal_stage.max() == 0


def test_untreated_withdrawal_ends_once_adaptation_fades(typical: PatientParameters) -> None:
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(24 * 30), sample_every_s=3600)
    assert trace.withdrawal_stage.max() == 4
    assert trace.withdrawal_stage[-1] == 0


def test_pocket_fill_causes_an_overdose_within_hours(typical: PatientParameters) -> None:
    # devices.md: pocket fill (drug injected into the subcutaneous pocket during a refill)
    # is followed by an overdose within hours. 20 mL of 2,000 mcg/mL = 40 mg.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(24), [
        DrugDelivery(T0, T0, Fraction(40_000), Route.POCKET)])
    onset = first_hour(trace, trace.overdose_stage >= 1)
    assert onset is not None and onset <= 2
    assert trace.overdose_stage.max() >= 2
    assert trace.overdose_stage[-1] == 0  # absorbed and cleared by the next day
    worst = int(np.argmax(trace.overdose_stage))
    assert {"drowsiness", "low-blood-pressure"} <= set(trace.symptoms_at(worst))


def test_tenfold_programming_error_overdoses_within_a_day(typical: PatientParameters) -> None:
    # Seeds 003/004: overdose typically close to a refill or a programming change.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(24), [DrugDelivery(T0, T0 + hours(24), Fraction(4600))])
    assert trace.overdose_stage.max() >= 1
    assert first_hour(trace, trace.overdose_stage >= 1) <= 12
    doubled = Patient.on_steady_therapy(typical, T0, 460, 365).advance(
        T0 + hours(24), [DrugDelivery(T0, T0 + hours(24), Fraction(920))])
    assert doubled.overdose_stage.max() == 0


def test_overdose_is_relative_to_tolerance(typical: PatientParameters) -> None:
    # The same 500 mcg bolus: an overdose for a new patient, tolerated after a year.
    naive = Patient(typical, T0).advance(T0 + hours(12), [DrugDelivery(T0, T0, Fraction(500))])
    tolerant = Patient.on_steady_therapy(typical, T0, 0, 365)
    trace = tolerant.advance(T0 + hours(12), [DrugDelivery(T0, T0, Fraction(500))])
    assert naive.overdose_stage.max() >= 1
    assert trace.overdose_stage.max() == 0


def test_massive_screening_error_reaches_respiratory_depression(
        typical: PatientParameters) -> None:
    # [LABEL] overdose progresses to respiratory depression, seizures, coma: a 2,000 mcg/mL
    # ampule used in place of 50 mcg/mL gives a 2,000 mcg bolus.
    trace = Patient(typical, T0).advance(T0 + hours(12), [DrugDelivery(T0, T0, Fraction(2000))])
    assert trace.overdose_stage.max() >= 3
    assert "difficulty-breathing" in trace.symptoms_at(int(np.argmax(trace.overdose_stage)))


def test_overdose_stages_rise_with_the_index() -> None:
    model = OverdoseModel()
    index = np.array([0.0, 3.0, 4.0, 8.0, 16.0, 32.0, 100.0])
    assert list(model.stage(index, np.zeros(7))) == [0, 0, 1, 2, 3, 4, 4]
    assert list(model.stage(np.zeros(3), np.array([0.0, 0.31, 2.0]))) == [0, 2, 4]


NAN = float("nan")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"need_share": 1.5}, "need_share"), ({"need_share": True}, "need_share"),
    ({"stage_hours": (0.0, 30.0, 20.0, 40.0)}, "stage_hours"),
    ({"depth_for_stage": (0.5, 0.6, 0.2, 0.1)}, "depth_for_stage"),
    # NaN compares false with everything: it used to pass these checks unnoticed.
    ({"min_dependence_share": NAN}, "min_dependence_share"),
    ({"severe_min_dependence_share": NAN}, "severe_min_dependence_share"),
    ({"stage_hours": (0.0, 6.0, 24.0, NAN)}, "stage_hours[3]"),
])
def test_bad_withdrawal_thresholds_are_refused_by_name(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        WithdrawalModel(**kwargs)
    assert refused.value.field == field


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"index_for_stage": (4.0, 2.0, 16.0, 32.0)}, "index_for_stage"),
    ({"index_for_stage": (1.0, 2.0, 4.0, NAN)}, "index_for_stage[3]"),
    ({"side_effect_index": 5.0}, "side_effect_index"),
    ({"side_effect_index": True}, "side_effect_index"),
    ({"side_effect_index": NAN}, "side_effect_index"),
])
def test_bad_overdose_thresholds_are_refused_by_name(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        OverdoseModel(**kwargs)
    assert refused.value.field == field


def test_withdrawal_is_milder_after_a_low_dose_early_in_therapy(
        typical: PatientParameters) -> None:
    # [NSWIKI] severity depends on the dose and the duration of therapy: stopping 90 mcg/day
    # (below the typical starting need) gives at most a progressing, not a severe, syndrome.
    low = Patient.on_steady_therapy(typical, T0, 90, 30).advance(T0 + hours(96))
    high = Patient.on_steady_therapy(typical, T0, 460, 30).advance(T0 + hours(96))
    assert 1 <= low.withdrawal_stage.max() <= 2
    assert high.withdrawal_stage.max() == 4
