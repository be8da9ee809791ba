"""The Patient API the simulator drives: deliveries in, samples and states out."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.physiology import Population
from itb.physiology.patient import DrugDelivery, Patient, Route
from itb.physiology.population import PatientParameters

from .conftest import T0, hours


def hourly_year_deliveries(mcg_per_day: int = 460) -> list[DrugDelivery]:
    # A 24-step flex schedule: a different rate each hour of the day.
    return [DrugDelivery(T0 + hours(h), T0 + hours(h + 1),
                         Fraction(mcg_per_day, 24) * Fraction(20 + h % 24, 31 + Fraction(1, 2)))
            for h in range(24 * 365)]


def test_samples_on_the_5_minute_grid_from_start_up_to_until(
        typical: PatientParameters) -> None:
    patient = Patient(typical, T0)
    trace = patient.advance(T0 + hours(24), [DrugDelivery(T0, T0 + hours(24), Fraction(400))])
    assert len(trace) == 288
    assert trace.t_s[0] == 0 and trace.t_s[1] == 300
    assert trace.times()[-1] == T0 + hours(24) - timedelta(minutes=5)
    assert patient.now == T0 + hours(24)
    assert patient.therapy_started_at == T0


def test_split_advances_equal_one_long_advance(typical: PatientParameters) -> None:
    deliveries = [DrugDelivery(T0 + hours(h), T0 + hours(h + 3), Fraction(50 + h))
                  for h in range(0, 72, 3)]
    deliveries.append(DrugDelivery(T0 + hours(10), T0 + hours(10), Fraction(50)))
    deliveries.append(DrugDelivery(T0 + hours(30), T0 + hours(30), Fraction(9000), Route.POCKET))
    one = Patient(typical, T0).advance(T0 + hours(72), deliveries)
    split = Patient(typical, T0)
    parts = []
    for day in range(3):
        lo, hi = T0 + hours(24 * day), T0 + hours(24 * (day + 1))
        parts.append(split.advance(hi, [d for d in deliveries if lo <= d.start < hi]))
    for name in ("effect_site_mcg_per_ml", "plasma_mcg_per_ml", "ashworth"):
        joined = np.concatenate([getattr(p, name) for p in parts])
        assert np.allclose(joined, getattr(one, name), rtol=1e-9, atol=1e-12)


def test_state_at_matches_the_samples_and_refuses_the_future(typical: PatientParameters) -> None:
    patient = Patient(typical, T0)
    trace = patient.advance(T0 + hours(12), [DrugDelivery(T0, T0, Fraction(50)),
                                             DrugDelivery(T0 + hours(1), T0 + hours(9),
                                                          Fraction(40))])
    for i in (0, 7, 50, 143):
        state = patient.state_at(trace.times()[i])
        assert state.effect_site_mcg_per_ml == pytest.approx(trace.effect_site_mcg_per_ml[i],
                                                             rel=1e-9, abs=1e-15)
        assert state.lumbar_mcg_per_ml == pytest.approx(trace.lumbar_mcg_per_ml[i], rel=1e-9)
        assert state.ashworth == pytest.approx(trace.ashworth[i], rel=1e-9)
    # Right after the bolus at T0: 50 mcg in the lumbar CSF.
    assert patient.state_at(T0).lumbar_mcg_per_ml == pytest.approx(
        50 / typical.kinetics.flows.lumbar_volume_ml)
    with pytest.raises(InvalidInput) as error:
        patient.state_at(T0 + hours(13))
    assert error.value.field == "at"


def test_delivered_drug_is_all_cleared_through_the_csf_clearance(
        typical: PatientParameters) -> None:
    # Mass balance: AUC of lumbar concentration x clearance = drug delivered ([LABEL] CL).
    patient = Patient(typical, T0)
    trace = patient.advance(T0 + hours(96), [DrugDelivery(T0, T0 + hours(6), Fraction(120))],
                            sample_every_s=60)
    auc = np.trapezoid(trace.lumbar_mcg_per_ml, trace.t_s / 3600)
    assert auc * typical.kinetics.clearance_ml_per_h == pytest.approx(120, rel=1e-3)


def test_instantaneous_deposit_with_no_time_passing(typical: PatientParameters) -> None:
    patient = Patient(typical, T0)
    trace = patient.advance(T0, [DrugDelivery(T0, T0, Fraction(1000), Route.POCKET)])
    assert len(trace) == 0
    assert patient.state().pocket_mcg == pytest.approx(1000)


def test_steady_therapy_patient_starts_at_steady_state(typical: PatientParameters) -> None:
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    trace = patient.advance(T0 + hours(48), [DrugDelivery(T0, T0 + hours(48), Fraction(920))])
    assert np.allclose(trace.effect_site_mcg_per_ml, trace.effect_site_mcg_per_ml[0], rtol=1e-9)
    assert trace.lumbar_mcg_per_ml[0] == pytest.approx(460 / 24 / 30)
    assert patient.state().days_on_therapy == pytest.approx(367)


def test_bad_input_is_refused_and_changes_nothing(typical: PatientParameters) -> None:
    patient = Patient(typical, T0)
    patient.advance(T0 + hours(1))
    before = patient.state()
    bad_calls = [
        lambda: patient.advance(T0),  # backwards
        lambda: patient.advance(T0 + hours(5), [DrugDelivery(T0, T0 + hours(2), Fraction(1))]),
        lambda: patient.advance(T0 + hours(5), [DrugDelivery(T0 + hours(4), T0 + hours(6),
                                                             Fraction(1))]),
        lambda: patient.advance(T0 + hours(5), ["50 mcg"]),  # type: ignore[list-item]
        lambda: patient.advance(T0 + hours(5), sample_every_s=0),
        lambda: patient.advance(datetime(2026, 3, 1, 5)),  # naive time
    ]
    for call in bad_calls:
        with pytest.raises(InvalidInput):
            call()
    assert patient.now == T0 + hours(1)
    assert patient.state() == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"drug_mcg": 1.5}, "drug_mcg"), ({"drug_mcg": Fraction(-1)}, "drug_mcg"),
    ({"end": T0 - hours(1)}, "end"), ({"start": datetime(2026, 3, 1)}, "start"),
    ({"start": datetime(2026, 3, 1, tzinfo=timezone(timedelta(hours=1)))}, "start"),
    ({"route": "vein"}, "route")])
def test_bad_deliveries_are_refused(kwargs: dict, field: str) -> None:
    args = {"start": T0, "end": T0, "drug_mcg": Fraction(1)} | kwargs
    with pytest.raises(InvalidInput) as error:
        DrugDelivery(**args)
    assert error.value.field == field


def test_fixed_seed_gives_an_identical_run() -> None:
    def run(seed: int) -> tuple[np.ndarray, np.ndarray]:
        params = Population(seed).draw()
        patient = Patient(params, T0)
        deliveries = [DrugDelivery(T0, T0, Fraction(50)),
                      DrugDelivery(T0 + hours(24), T0 + hours(240), Fraction(2000))]
        trace = patient.advance(T0 + hours(240), deliveries)
        return trace.effect_site_mcg_per_ml, trace.ashworth

    a, b, c = run(42), run(42), run(43)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_population_draws_stay_in_the_labeled_ranges() -> None:
    # [EJCP] half-life 0.9-5 h, clearance 13-80 mL/h; [LABEL] ratio 1.8-8.7.
    for params in Population(5).draw_many(40):
        k = params.kinetics
        assert 13 <= k.clearance_ml_per_h <= 80
        assert 0.9 <= k.half_life_h <= 5
        assert 1.8 <= k.lumbar_to_cisternal_ratio <= 8.7
    assert Population(5).draw() == Population(5).draw()


def test_population_refuses_bad_seed_and_origin() -> None:
    with pytest.raises(InvalidInput):
        Population(-1)
    with pytest.raises(InvalidInput):
        Population(1, origin="cardiac")


def test_a_patient_year_at_5_minute_resolution_is_fast(typical: PatientParameters) -> None:
    # The simulator's budget is < 0.2 s per patient-year in total; the patient part must be
    # a fraction of it (generous bound here: CI machines vary; bench/ measures it).
    deliveries = hourly_year_deliveries()
    patient = Patient.on_steady_therapy(typical, T0, 460, 365)
    # CPU time of this process: other jobs on a shared machine do not make it flaky.
    started = time.process_time()
    trace = patient.advance(T0 + hours(24 * 365), deliveries)
    elapsed = time.process_time() - started
    assert len(trace) == 365 * 288
    assert elapsed < 1.0
    assert trace.withdrawal_stage.max() == 0 and trace.overdose_stage.max() == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 47), st.integers(0, 6), st.integers(0, 300)),
                max_size=8))
def test_concentrations_and_scores_stay_in_range_for_any_deliveries(
        items: list[tuple[int, int, int]]) -> None:
    params = Population(9).draw()
    deliveries = [DrugDelivery(T0 + hours(s), T0 + hours(min(s + d, 48)), Fraction(mcg))
                  for s, d, mcg in items]
    trace = Patient(params, T0).advance(T0 + hours(48), deliveries)
    assert np.all(trace.effect_site_mcg_per_ml >= -1e-12)
    assert np.all((trace.ashworth >= 0) & (trace.ashworth <= 4))
    assert np.all((trace.withdrawal_stage >= 0) & (trace.withdrawal_stage <= 4))
    assert np.all((trace.overdose_stage >= 0) & (trace.overdose_stage <= 4))


@pytest.mark.parametrize("days", [10**9, Fraction(10**12)])
def test_steady_therapy_started_before_year_1_is_refused_by_name(typical: PatientParameters,
                                                                 days: int | Fraction) -> None:
    with pytest.raises(InvalidInput) as refused:  # was an OverflowError
        Patient.on_steady_therapy(typical, T0, 460, days)
    assert refused.value.field == "days_on_therapy"
