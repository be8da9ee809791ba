"""Spasticity response and tolerance, calibrated to the labeled and seed figures.

[LABEL] = labeling via shared/docs/devices.md; [MCKENNA] intrathecal onset 0.5-1 h, peak
4 h, duration 4-8 h; seeds 000-004: screening observation over several hours (4 to 10 h).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.physiology.patient import DrugDelivery, Patient
from itb.physiology.population import PatientParameters, Population, typical_patient
from itb.physiology.response import SpasticityResponse
from itb.physiology.screening import screening_response

from .conftest import T0, hours


def screening(params: PatientParameters, dose_mcg: int):
    patient = Patient(params, T0)
    return patient.advance(T0 + hours(24), [DrugDelivery(T0, T0, Fraction(dose_mcg))])


def test_50_mcg_screening_bolus_relaxes_spasticity_for_some_hours(
        typical: PatientParameters) -> None:
    # [LABEL] positive response = significant decrease in tone (e.g. Ashworth), judged 4-8 h
    # after the bolus; seeds: assessed over several hours (4 to 10 h); [MCKENNA] peak 4 h.
    trace = screening(typical, 50)
    baseline = typical.response.baseline_ashworth
    drop = baseline - trace.ashworth
    t_h = trace.t_s / 3600
    assert t_h[np.argmax(drop)] == pytest.approx(4.0, abs=0.25)
    relaxed = t_h[drop >= 1.0]  # at least one Ashworth point
    assert relaxed.size
    assert relaxed[0] < 3.0                      # relaxation starts within the first hours
    assert 4.0 <= relaxed[-1] - relaxed[0] <= 10.0  # and lasts for some hours
    assert t_h[drop > 0.1][0] <= 1.0             # [MCKENNA] onset 0.5-1 h
    assert drop[-1] < 0.1                        # gone by the next day


def test_larger_screening_doses_relax_more(typical: PatientParameters) -> None:
    # [LABEL] 50, then 75, then 100 mcg if the response is inadequate.
    peaks = [typical.response.baseline_ashworth - screening(typical, d).ashworth.min()
             for d in (50, 75, 100)]
    assert peaks[0] < peaks[1] < peaks[2]


def test_starting_dose_of_twice_the_screening_dose_gives_a_partial_response(
        typical: PatientParameters) -> None:
    # [LABEL] effect < 8 h -> start at twice the screening dose per day (100 mcg/day); the
    # dose is then titrated up, so the first dose helps without full control.
    patient = Patient(typical, T0)
    trace = patient.advance(T0 + hours(72), [DrugDelivery(T0, T0 + hours(72), Fraction(300))])
    assert 0.2 < trace.relaxation[-1] < 0.5


def test_dose_need_rises_over_the_first_year_then_plateaus(typical: PatientParameters) -> None:
    # [PENN-KROIN] 100-150 -> ~500 mcg/day over the first months; [LABEL] spinal maintenance
    # 300-800 mcg/day; doses rise over the first year, then plateau (3-5 % over 3 years).
    need = {d: typical.maintenance_need_mcg_per_day(d) for d in (0, 90, 180, 365, 730, 1095)}
    assert 100 <= need[0] <= 150
    assert need[0] < need[90] < need[180] < need[365]
    assert 300 <= need[365] <= 800
    assert need[1095] / need[365] < 1.05


def test_typical_spinal_patient_is_well_controlled_in_the_maintenance_range(
        typical: PatientParameters) -> None:
    # [LABEL] most spinal-origin patients need 300-800 mcg/day; well controlled = MAS halved,
    # and 800 mcg/day is still free of overdose signs.
    for dose, controlled in ((300, False), (550, True), (800, True)):
        patient = Patient.on_steady_therapy(typical, T0, dose, 400)
        state = patient.state()
        assert (state.relaxation >= 0.5) == controlled
        assert state.overdose_stage == 0
        assert state.symptoms == ()


def test_most_spinal_patients_need_300_to_800_mcg_per_day() -> None:
    # [LABEL] "most patients 300 to 800 mcg/day (range 12 to 2,003)".
    patients = Population(11).draw_many(150)
    needs = np.array([p.maintenance_need_mcg_per_day(730) for p in patients
                      if p.response.refractory_after_days > 730])
    assert np.mean((needs >= 300) & (needs <= 800)) > 0.5
    assert np.mean((needs >= 12) & (needs <= 2003)) > 0.95


def test_cerebral_and_child_needs_fall_in_their_labeled_ranges() -> None:
    # [LABEL] cerebral origin most 90-703 mcg/day; children under 12 mean ~274 mcg/day.
    for origin, low, high in (("cerebral", 90, 703), ("child", 24, 1199)):
        need = typical_patient(origin).maintenance_need_mcg_per_day(730)
        assert low <= need <= high
    assert 200 <= typical_patient("child").maintenance_need_mcg_per_day(730) <= 350


def test_about_5_percent_a_year_become_refractory() -> None:
    # [LABEL] about 5 % of patients per year become refractory to rising doses.
    patients = Population(3).draw_many(300)
    within_year = np.mean([p.response.refractory_after_days <= 365 for p in patients])
    assert 0.02 <= within_year <= 0.09


def test_refractory_patient_loses_effect_even_at_high_concentration() -> None:
    response = SpasticityResponse(refractory_after_days=200.0)
    days = np.array([100.0, 250.0, 500.0])
    relax = response.relaxation(np.full(3, 5.0), days)
    assert relax[0] > 0.9 and relax[1] < relax[0] and relax[2] < 0.1


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 3000), st.floats(0, 3000))
def test_ec50_never_falls_as_therapy_goes_on(d1: float, d2: float) -> None:
    response = SpasticityResponse()
    lo, hi = sorted((d1, d2))
    assert response.ec50_mcg_per_ml(np.array(hi)) >= response.ec50_mcg_per_ml(np.array(lo))


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 50), st.floats(0, 50), st.integers(0, 4))
def test_more_drug_never_raises_the_ashworth_score(c1: float, c2: float, stage: int) -> None:
    response = SpasticityResponse()
    lo, hi = sorted((c1, c2))
    r_lo = response.relaxation(np.array(lo), np.array(100.0))
    r_hi = response.relaxation(np.array(hi), np.array(100.0))
    assert response.ashworth(r_hi, np.array(stage)) <= response.ashworth(r_lo, np.array(stage))
    assert 0 <= response.ashworth(r_hi, np.array(stage)) <= 4


@pytest.mark.parametrize(("field", "value"), [
    ("baseline_ashworth", 4.5), ("ec50_initial_mcg_per_ml", 0.0), ("tolerance_multiplier", 0.5),
    ("hill", float("inf")), ("max_effect", 1.5)])
def test_bad_response_parameters_are_refused(field: str, value: float) -> None:
    with pytest.raises(InvalidInput) as error:
        SpasticityResponse(**{field: value})
    assert error.value.field == field


def test_screening_response_judges_the_typical_patient_positive_at_50_mcg(
        typical: PatientParameters) -> None:
    # [LABEL] 50 mcg screening bolus; positive = significant decrease in tone.
    result = screening_response(typical, 50)
    assert result.positive
    assert result.peak_after_h == pytest.approx(4.0, abs=0.1)
    assert 4.0 <= result.hours_relaxed <= 8.0  # [MCKENNA] duration 4-8 h
    assert result.peak_ashworth_drop == pytest.approx(
        typical.response.baseline_ashworth - screening(typical, 50).ashworth.min(), abs=0.01)


def test_a_less_sensitive_patient_fails_at_50_and_passes_at_75() -> None:
    # [LABEL] if the response to 50 mcg is inadequate, 75 mcg 24 hours later.
    base = typical_patient()
    params = PatientParameters(response=SpasticityResponse(ec50_initial_mcg_per_ml=0.22),
                               kinetics=base.kinetics)
    assert not screening_response(params, 50).positive
    assert screening_response(params, 75).positive


def test_screening_refuses_bad_doses(typical: PatientParameters) -> None:
    for bad in (0, -50, 50.0):
        with pytest.raises(InvalidInput):
            screening_response(typical, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [
    ("baseline_ashworth", float("nan")), ("baseline_ashworth", 4.5), ("hill", True),
    ("hill", 0.0), ("max_effect", float("inf")), ("tolerance_multiplier", 0.5),
    ("baseline_spasms_per_hour", "3"),
])
def test_response_parameters_refuse_non_finite_bool_text_and_out_of_range(field: str,
                                                                          value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        SpasticityResponse(**{field: value})
    assert refused.value.field == field
    assert "and at most" in refused.value.allowed
