"""The CSF model reproduces each labeled pharmacokinetic figure.

Sources: [LABEL] = Lioresal Intrathecal labeling as summarised in shared/docs/devices.md
("Pharmacokinetics (labeling)"); [EJCP] = Eur J Clin Pharmacol doi 10.1007/BF00265844.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.physiology.linear import LinearSystem
from itb.physiology.pk import (
    CSF_INPUT,
    LUMBAR,
    N_STATES,
    POCKET_INPUT,
    CsfKinetics,
)


def bolus(kinetics: CsfKinetics, dose_mcg: float, times_h: np.ndarray) -> dict[str, np.ndarray]:
    jumps = np.zeros((2, N_STATES))
    jumps[0, LUMBAR] = dose_mcg
    trajectory = kinetics.system.propagate(np.zeros(N_STATES), np.array([0.0, times_h[-1]]),
                                           np.zeros((1, 2)), jumps, times_h)
    return kinetics.concentrations(trajectory.sample_states)


def infusion(kinetics: CsfKinetics, mcg_per_day: float, times_h: np.ndarray) -> dict:
    u = np.zeros((1, 2))
    u[0, CSF_INPUT] = mcg_per_day / 24
    trajectory = kinetics.system.propagate(np.zeros(N_STATES), np.array([0.0, times_h[-1]]),
                                           u, np.zeros((2, N_STATES)), times_h)
    return kinetics.concentrations(trajectory.sample_states)


def fitted_half_life(times_h: np.ndarray, conc: np.ndarray) -> float:
    slope = np.polyfit(times_h, np.log(conc), 1)[0]
    return math.log(2) / -slope


@pytest.mark.parametrize("dose_mcg", [50, 75, 100])
def test_bolus_half_life_over_first_4_hours_is_1_51_h(dose_mcg: int) -> None:
    # [LABEL] "after a lumbar bolus of 50 to 100 mcg, the CSF elimination half-life is
    # about 1.51 h over the first 4 hours". Fit on the full six-state system.
    times = np.arange(0.25, 4.0001, 0.25)
    conc = bolus(CsfKinetics(), dose_mcg, times)["lumbar_mcg_per_ml"]
    assert fitted_half_life(times, conc) == pytest.approx(1.51, abs=0.005)


def test_bolus_clearance_is_30_ml_per_h() -> None:
    # [LABEL] "CSF clearance is about 30 mL/h": dose / AUC of lumbar concentration.
    times = np.linspace(0, 48, 48 * 60 + 1)
    conc = bolus(CsfKinetics(), 50, times)["lumbar_mcg_per_ml"]
    auc = np.trapezoid(conc, times)
    assert 50 / auc == pytest.approx(30, rel=0.005)


def test_infusion_clearance_is_30_ml_per_h() -> None:
    # [LABEL] clearance from continuous infusion studies also ~30 mL/h: rate / Css.
    kinetics = CsfKinetics()
    steady = kinetics.concentrations(kinetics.system.steady_state(np.array([500 / 24, 0.0])))
    assert (500 / 24) / steady["lumbar_mcg_per_ml"][0] == pytest.approx(30, rel=1e-9)


def test_lumbar_to_cisternal_ratio_is_4_during_continuous_infusion() -> None:
    # [LABEL] "during continuous infusion, the lumbar-to-cisternal concentration ratio is
    # about 4:1".
    times = np.array([0.0, 72.0])
    conc = infusion(CsfKinetics(), 400, times)
    ratio = conc["lumbar_mcg_per_ml"][-1] / conc["cisternal_mcg_per_ml"][-1]
    assert ratio == pytest.approx(4.0, rel=1e-6)


@pytest.mark.parametrize("ratio", [1.8, 8.7])
def test_lumbar_to_cisternal_ratio_range_is_reproducible(ratio: float) -> None:
    # [LABEL] range 1.8:1 to 8.7:1; the clearance and half-life stay as labeled.
    kinetics = CsfKinetics(lumbar_to_cisternal_ratio=ratio)
    steady = kinetics.concentrations(kinetics.system.steady_state(np.array([10.0, 0.0])))
    assert steady["lumbar_mcg_per_ml"][0] / steady["cisternal_mcg_per_ml"][0] == \
        pytest.approx(ratio, rel=1e-9)
    times = np.arange(0.25, 4.0001, 0.25)
    conc = bolus(kinetics, 50, times)["lumbar_mcg_per_ml"]
    assert fitted_half_life(times, conc) == pytest.approx(1.51, abs=0.005)
    assert 10.0 / steady["lumbar_mcg_per_ml"][0] == pytest.approx(30, rel=1e-9)


@pytest.mark.parametrize(("half_life_h", "clearance_ml_per_h"),
                         [(0.9, 13.0), (0.9, 80.0), (5.0, 13.0), (5.0, 80.0)])
def test_population_extremes_reproduce_their_figures(half_life_h: float,
                                                      clearance_ml_per_h: float) -> None:
    # [EJCP] half-life 0.9-5 h and clearance 13-80 mL/h across patients.
    kinetics = CsfKinetics(half_life_h=half_life_h, clearance_ml_per_h=clearance_ml_per_h)
    times = np.arange(0.25, 4.0001, 0.25)
    conc = bolus(kinetics, 50, times)["lumbar_mcg_per_ml"]
    assert fitted_half_life(times, conc) == pytest.approx(half_life_h, rel=0.005)
    long = np.linspace(0, 40 * half_life_h, 20001)
    auc = np.trapezoid(bolus(kinetics, 50, long)["lumbar_mcg_per_ml"], long)
    assert 50 / auc == pytest.approx(clearance_ml_per_h, rel=0.01)


def test_effect_site_reaches_steady_state_in_1_to_2_days_lumbar_csf_within_hours() -> None:
    # [LABEL] "steady state is reached in 1 to 2 days of continuous infusion". With a 1.51 h
    # half-life the lumbar CSF itself is at 95 % within ~7 h; the figure is matched by the
    # spinal-cord effect site (see docs/physiology.md).
    times = np.linspace(0, 96, 96 * 12 + 1)
    conc = infusion(CsfKinetics(), 500, times)
    final = {k: v[-1] for k, v in conc.items()}
    t95_effect = times[np.argmax(conc["effect_site_mcg_per_ml"] >= 0.95 *
                                 final["effect_site_mcg_per_ml"])]
    t95_lumbar = times[np.argmax(conc["lumbar_mcg_per_ml"] >= 0.95 * final["lumbar_mcg_per_ml"])]
    assert 24 <= t95_effect <= 48
    assert t95_lumbar < 12


def test_bolus_effect_peaks_about_4_hours_after_dosing() -> None:
    # [MCKENNA] intrathecal bolus: onset 0.5-1 h, peak effect ~4 h.
    times = np.linspace(0, 24, 24 * 60 + 1)
    effect = bolus(CsfKinetics(), 50, times)["effect_site_mcg_per_ml"]
    assert times[np.argmax(effect)] == pytest.approx(4.0, abs=0.1)


def test_plasma_is_about_100_times_lower_than_with_oral_dosing() -> None:
    # [LABEL] (confirmed) plasma concentrations ~100 times lower than with oral dosing.
    # Compare 500 mcg/day intrathecal with 60 mg/day oral (mid of the usual 40-80 mg/day,
    # unconfirmed) at ~80 % oral bioavailability (unconfirmed), both in the same body.
    kinetics = CsfKinetics()
    itb = kinetics.concentrations(kinetics.system.steady_state(np.array([500 / 24, 0.0])))
    oral_rate = 60_000 * 0.8 / 24  # into the body, through the same systemic compartment
    oral = kinetics.concentrations(kinetics.system.steady_state(np.array([0.0, oral_rate])))
    ratio = oral["plasma_mcg_per_ml"][0] / itb["plasma_mcg_per_ml"][0]
    assert 50 <= ratio <= 200


def test_modal_and_expm_solutions_agree_over_a_year_of_hourly_steps() -> None:
    kinetics = CsfKinetics()
    a, b = kinetics.matrices()
    modal = LinearSystem(a, b, method="modal")
    general = LinearSystem(a, b, method="expm")
    rng = np.random.default_rng(7)
    t = np.arange(0, 24 * 365 + 1, 1.0)
    u = np.zeros((len(t) - 1, 2))
    u[:, CSF_INPUT] = rng.uniform(0, 40, len(t) - 1)
    u[::500, POCKET_INPUT] = 1000.0
    jumps = np.zeros((len(t), N_STATES))
    jumps[::1000, LUMBAR] = 50.0
    samples = np.sort(rng.uniform(0, t[-1], 2000))
    m = modal.propagate(np.zeros(N_STATES), t, u, jumps, samples)
    g = general.propagate(np.zeros(N_STATES), t, u, jumps, samples)
    assert np.allclose(m.breakpoint_states, g.breakpoint_states, rtol=1e-8, atol=1e-10)
    assert np.allclose(m.sample_states, g.sample_states, rtol=1e-8, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=2, max_size=12),
       st.lists(st.floats(0, 100), min_size=2, max_size=12))
def test_response_to_summed_inputs_is_the_sum_of_responses(r1: list[float],
                                                           r2: list[float]) -> None:
    # Linearity: the model has no hidden nonlinearity.
    n = min(len(r1), len(r2))
    t = np.linspace(0, 6 * n, n + 1)
    system = CsfKinetics().system
    zero_jumps = np.zeros((n + 1, N_STATES))
    samples = np.linspace(0, t[-1], 50)

    def run(rates: list[float]) -> np.ndarray:
        u = np.zeros((n, 2))
        u[:, CSF_INPUT] = rates[:n]
        return system.propagate(np.zeros(N_STATES), t, u, zero_jumps, samples).sample_states

    both = run([a + b for a, b in zip(r1[:n], r2[:n], strict=True)])
    assert np.allclose(both, run(r1) + run(r2), rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 200), min_size=1, max_size=10))
def test_concentrations_never_negative_for_non_negative_input(rates: list[float]) -> None:
    n = len(rates)
    t = np.linspace(0, 3 * n, n + 1)
    u = np.zeros((n, 2))
    u[:, CSF_INPUT] = rates
    out = CsfKinetics().system.propagate(np.zeros(N_STATES), t, u, np.zeros((n + 1, N_STATES)),
                                         np.linspace(0, t[-1], 97))
    assert np.all(out.sample_states >= -1e-12)


def test_cisternal_and_effect_site_lag_the_lumbar_csf_after_a_bolus() -> None:
    times = np.linspace(0, 12, 721)
    conc = bolus(CsfKinetics(), 50, times)
    assert np.argmax(conc["lumbar_mcg_per_ml"]) == 0
    assert times[np.argmax(conc["cisternal_mcg_per_ml"])] > 0.5
    assert np.argmax(conc["effect_site_mcg_per_ml"]) > np.argmax(conc["cisternal_mcg_per_ml"])


@pytest.mark.parametrize(("field", "value"), [
    ("clearance_ml_per_h", -1.0), ("half_life_h", 0.0), ("lumbar_to_cisternal_ratio", 1.0),
    ("weight_kg", float("nan")), ("cisternal_clearance_share", 1.0)])
def test_bad_kinetics_are_refused_with_the_field_named(field: str, value: float) -> None:
    with pytest.raises(InvalidInput) as error:
        CsfKinetics(**{field: value})
    assert error.value.field == field


@pytest.mark.parametrize("other_mode", ["adaptation", "fast-csf"])
def test_coinciding_rates_fall_back_to_expm_and_stay_continuous(other_mode: str) -> None:
    # An effect-site rate equal to another mode's rate makes A defective: the solver must
    # notice and use expm, giving the limit of the nearby well-conditioned solutions.
    if other_mode == "adaptation":
        ke0 = 1 / CsfKinetics().dependence_time_constant_h
    else:
        csf = CsfKinetics().matrices()[0][:2, :2]
        ke0 = float(-np.min(np.linalg.eigvals(csf).real))
    exact = CsfKinetics(effect_site_rate_per_h=ke0)
    near = CsfKinetics(effect_site_rate_per_h=ke0 * (1 + 1e-6))
    assert exact.system.method == "expm"
    assert near.system.method == "modal"
    times = np.linspace(0, 48, 97)
    a = bolus(exact, 50, times)["effect_site_mcg_per_ml"]
    b = bolus(near, 50, times)["effect_site_mcg_per_ml"]
    assert np.allclose(a, b, rtol=1e-4, atol=1e-9)
