"""Withdrawal and overdose staging against the labeled timelines and signs.

[LABEL] boxed warning and overdose (devices.md); [NSWIKI] severe withdrawal "can progress
over 24-72 hours to rhabdomyolysis"; seeds 003/004 name the signs; devices.md: pocket fill
is followed by an overdose within hours.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from itb.errors import InvalidInput
from itb.physiology.overdose import OverdoseModel
from itb.physiology.patient import DrugDelivery, Patient, Route
from itb.physiology.population import PatientParameters, Population
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


def test_untreated_life_threatening_withdrawal_persists_until_treated(
        typical: PatientParameters) -> None:
    # Issue 16.3: life-threatening withdrawal does not resolve at home.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(24 * 30), sample_every_s=3600)
    assert trace.withdrawal_stage.max() == 4
    first = int(np.argmax(trace.withdrawal_stage == 4))
    assert np.all(trace.withdrawal_stage[first:] == 4)
    since = patient.untreated_life_threatening_withdrawal_since
    assert since is not None and abs((since - T0).total_seconds() - trace.t_s[first]) <= 3600
    # Restoring intrathecal baclofen at the previous dose ends it within hours.
    now = T0 + hours(24 * 30)
    treated = patient.advance(now + hours(24), [DrugDelivery(now, now + hours(24),
                                                              Fraction(460))])
    assert treated.withdrawal_stage[-1] == 0
    assert patient.untreated_life_threatening_withdrawal_since is None
    # The same patient, split into daily calls, holds it the same way.
    split = Patient.on_steady_therapy(typical, T0, 460, 365)
    stages = np.concatenate([split.advance(T0 + hours(24 * d), sample_every_s=3600)
                             .withdrawal_stage for d in range(1, 31)])
    assert np.array_equal(stages, trace.withdrawal_stage)


def test_milder_withdrawal_resolves_on_its_own(typical: PatientParameters) -> None:
    # A patient whose withdrawal stops at stage 2 gets better as the adaptation fades.
    mild = dataclasses.replace(typical, withdrawal=WithdrawalModel(max_stage=2))
    trace = Patient.on_steady_therapy(mild, T0, 460, 365).advance(
        T0 + hours(24 * 30), sample_every_s=3600)
    assert trace.withdrawal_stage.max() == 2
    assert trace.withdrawal_stage[-1] == 0


def test_withdrawal_severity_varies_across_a_population_severe_is_the_minority() -> None:
    # Issue 16.2: the same abrupt stop of 460 mcg/day after a year, 200 patients.
    worst = []
    onset = []
    for params in Population(7).draw_many(200):
        trace = Patient.on_steady_therapy(params, T0, 460, 365).advance(
            T0 + hours(96), sample_every_s=1800)
        worst.append(int(trace.withdrawal_stage.max()))
        if worst[-1] >= 2:
            onset.append(first_hour(trace, trace.withdrawal_stage >= 2))
    worst_arr = np.asarray(worst)
    assert set(worst) >= {1, 2, 3, 4}
    assert 0.1 <= np.mean(worst_arr >= 3) < 0.5  # severe: a minority
    assert np.ptp(onset) > 12  # the pace varies too


def test_life_threatening_withdrawal_needs_a_higher_dose(typical: PatientParameters) -> None:
    # Issue 16.2: severity grows with the dose (adaptation): 200 mcg/day after a year stops
    # at the severe stage, 460 reaches the life-threatening one.
    low = Patient.on_steady_therapy(typical, T0, 200, 365).advance(T0 + hours(96))
    assert low.withdrawal_stage.max() == 3


def test_pocket_fill_causes_an_overdose_within_hours(typical: PatientParameters) -> None:
    # devices.md: pocket fill (drug injected into the subcutaneous pocket during a refill)
    # is followed by an overdose within hours. 20 mL of 2,000 mcg/mL = 40 mg.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(24), [
        DrugDelivery(T0, T0, Fraction(40_000), Route.POCKET)])
    onset = first_hour(trace, trace.overdose_stage >= 1)
    assert onset is not None and onset <= 2
    assert trace.overdose_stage[-1] == 0  # absorbed and cleared by the next day
    worst = int(np.argmax(trace.overdose_stage))
    assert {"drowsiness", "weakness"} <= set(trace.symptoms_at(worst))


def test_plasma_overdose_thresholds_lie_above_the_oral_therapy_range() -> None:
    # Issue 16.6: usual oral therapy gives about 0.1-0.4 mcg/mL (catalogue); a patient on
    # oral baclofen is not overdosed.
    model = OverdoseModel()
    assert model.plasma_mcg_per_ml_for_stage[0] > 0.4
    assert list(model.stage(np.zeros(3), np.array([0.1, 0.4, 0.39]))) == [0, 0, 0]


def test_impaired_kidneys_make_a_pocket_fill_worse_and_longer(
        typical: PatientParameters) -> None:
    # Baclofen outside the CSF is cleared mostly by the kidneys (catalogue, issue 16.6).
    impaired = dataclasses.replace(typical, kinetics=dataclasses.replace(
        typical.kinetics, renal_function=0.15))
    traces = []
    for params in (typical, impaired):
        patient = Patient.on_steady_therapy(params, T0, 460, 365)
        traces.append(patient.advance(T0 + hours(24), [
            DrugDelivery(T0, T0, Fraction(40_000), Route.POCKET)]))
    normal, slow = traces
    assert slow.plasma_mcg_per_ml.max() > normal.plasma_mcg_per_ml.max()
    assert (slow.overdose_stage >= 1).sum() > 2 * (normal.overdose_stage >= 1).sum()
    assert impaired.kinetics.systemic_elimination_per_h < typical.kinetics \
        .systemic_elimination_per_h / 3


def test_tenfold_programming_error_overdoses_within_a_day(typical: PatientParameters) -> None:
    # Seeds 003/004: overdose typically close to a refill or a programming change.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(48), [DrugDelivery(T0, T0 + hours(48), Fraction(9200))])
    assert trace.overdose_stage.max() >= 1
    assert first_hour(trace, trace.overdose_stage >= 1) <= 12
    # Issue 16.5: a tenfold error reaches the labeled severe signs (respiratory depression,
    # loss of consciousness progressing to coma) within a day.
    critical = first_hour(trace, trace.overdose_stage >= 4)
    assert critical is not None and critical <= 24
    assert {"difficulty-breathing", "loss-of-consciousness"} <= set(
        trace.symptoms_at(int(np.argmax(trace.overdose_stage))))
    doubled = Patient.on_steady_therapy(typical, T0, 460, 365).advance(
        T0 + hours(24), [DrugDelivery(T0, T0 + hours(24), Fraction(920))])
    assert doubled.overdose_stage.max() == 0


def test_fourfold_wrong_strength_reaches_respiratory_depression(
        typical: PatientParameters) -> None:
    # Issue 16.5: 2,000 mcg/mL in place of 500 gives four times the dose.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(48), [DrugDelivery(T0, T0 + hours(48), Fraction(3680))])
    severe = first_hour(trace, trace.overdose_stage >= 3)
    assert severe is not None and severe <= 30
    assert "difficulty-breathing" in trace.symptoms_at(int(np.argmax(trace.overdose_stage)))


def test_a_doubled_dose_gives_the_side_effects_the_patient_feels(
        typical: PatientParameters) -> None:
    # Issue 9.9: tone far below the patient's treated tone is "loose muscles" (seed 001),
    # CNS depression "sleepiness", though no overdose stage is reached.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(48), [DrugDelivery(T0, T0 + hours(48), Fraction(1840))])
    assert trace.overdose_stage.max() == 0
    names = set(trace.symptoms_at(len(trace) - 1))
    assert {"loose-muscles", "sleepiness"} <= names
    # Loose muscles follow the tone: at least 40 % below the usual one when they start.
    first_loose = int(np.argmax(trace.side_effects & 2))
    usual = Patient.on_steady_therapy(typical, T0, 460, 365).state().ashworth
    assert first_loose > 0 and trace.ashworth[first_loose] <= 0.6 * usual
    # The usual dose gives none.
    steady = Patient.on_steady_therapy(typical, T0, 460, 365).advance(
        T0 + hours(48), [DrugDelivery(T0, T0 + hours(48), Fraction(920))])
    assert not steady.side_effects.any()


def test_overdose_is_relative_to_tolerance(typical: PatientParameters) -> None:
    # The same 250 mcg bolus: an overdose for a new patient, tolerated after a year on
    # therapy (tolerance needs the drug: see the drug-holiday test).
    naive = Patient(typical, T0).advance(T0 + hours(12), [DrugDelivery(T0, T0, Fraction(250))])
    tolerant = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = tolerant.advance(T0 + hours(12), [DrugDelivery(T0, T0, Fraction(250)),
                                              DrugDelivery(T0, T0 + hours(12), Fraction(230))])
    assert naive.overdose_stage.max() >= 1
    assert trace.overdose_stage.max() == 0


def test_restarting_the_old_dose_after_a_drug_holiday_overdoses(
        typical: PatientParameters) -> None:
    # Issue 16.4: tolerance decays without drug; published case series report overdose when
    # the old rate is restarted after a drug holiday.
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    patient.advance(T0 + hours(21 * 24), sample_every_s=3600)
    restart = T0 + hours(21 * 24)
    trace = patient.advance(restart + hours(72), [
        DrugDelivery(restart, restart + hours(72), Fraction(460 * 3))])
    assert trace.overdose_stage.max() >= 1
    # Without the holiday the same dose is the patient's usual one.
    steady = Patient.on_steady_therapy(typical, T0, 460, 365).advance(
        T0 + hours(72), [DrugDelivery(T0, T0 + hours(72), Fraction(460 * 3))])
    assert steady.overdose_stage.max() == 0
    # Tolerance comes back on therapy: a week later the old dose is tolerated again.
    later = restart + hours(72)
    back = patient.advance(later + hours(7 * 24), [
        DrugDelivery(later, later + hours(7 * 24), Fraction(460 * 7))])
    assert back.overdose_stage[-1] == 0


def test_massive_screening_error_reaches_respiratory_depression(
        typical: PatientParameters) -> None:
    # [LABEL] overdose progresses to respiratory depression, seizures, coma: a 2,000 mcg/mL
    # ampule used in place of 50 mcg/mL gives a 2,000 mcg bolus.
    trace = Patient(typical, T0).advance(T0 + hours(12), [DrugDelivery(T0, T0, Fraction(2000))])
    assert trace.overdose_stage.max() >= 3
    assert "difficulty-breathing" in trace.symptoms_at(int(np.argmax(trace.overdose_stage)))


def test_overdose_stages_rise_with_the_index() -> None:
    model = OverdoseModel()
    index = np.array([0.0, 2.0, 2.2, 2.8, 3.6, 6.0, 100.0])
    assert list(model.stage(index, np.zeros(7))) == [0, 0, 1, 2, 3, 4, 4]
    assert list(model.stage(np.zeros(3), np.array([0.0, 1.2, 3.5]))) == [0, 2, 4]


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
