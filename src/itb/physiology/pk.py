"""Baclofen pharmacokinetics: lumbar CSF, cisternal CSF, spinal cord, pocket and plasma.

The model is linear, so it is solved in closed form per piecewise-constant input
(see `itb.physiology.linear`). States (index constants below):

    lumbar     a_L  mcg   drug in the lumbar CSF, where the catheter tip delivers
    cisternal  a_C  mcg   drug in the cisternal (cranial) CSF
    effect     c_E  mcg/mL  effect-site concentration in the spinal cord (no mass)
    adapted    c_D  mcg/mL  level the receptors have adapted to (dependence; no mass)
    pocket     a_P  mcg   drug deposited in the subcutaneous pump pocket
    plasma     a_S  mcg   drug in the body outside the CSF

    da_L/dt = R_csf - (CL_L + Q)/V_L a_L + Q/V_C a_C
    da_C/dt = Q/V_L a_L - (CL_C + Q)/V_C a_C
    dc_E/dt = ke0 (a_L/V_L - c_E)
    dc_D/dt = (c_E - c_D) / tau_D
    da_P/dt = R_pocket - ka a_P
    da_S/dt = ka a_P + CL_L/V_L a_L + CL_C/V_C a_C - k_sys a_S

CL_L and CL_C clear drug out of the CSF into the plasma (bulk flow, [LABEL] "clearance
approximates CSF turnover"). At steady state of a lumbar infusion the lumbar:cisternal
ratio is r = (Q + CL_C)/Q and the clearance R/C_L = CL_L + CL_C/r; `CsfKinetics` picks
Q, CL_L and CL_C from the clearance and ratio and solves the volumes so that the
log-linear half-life over the first 4 h after a bolus equals the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.optimize
import scipy.special

from itb.errors import InvalidInput
from itb.physiology import constants
from itb.physiology.linear import FloatArray, LinearSystem

_positive_in = constants.parameter_in_range  # every CSF parameter is open at its low end

LUMBAR, CISTERNAL, EFFECT, ADAPTED, POCKET, PLASMA = range(6)
N_STATES = 6
CSF_INPUT, POCKET_INPUT = 0, 1


@dataclass(frozen=True)
class CsfFlows:
    """The compartment sizes and flows that reproduce a `CsfKinetics` parameter set."""

    lumbar_volume_ml: float
    cisternal_volume_ml: float
    lumbar_clearance_ml_per_h: float
    cisternal_clearance_ml_per_h: float
    exchange_ml_per_h: float


def _csf_flows(clearance: float, ratio: float, share: float, volume_ratio: float,
               lumbar_volume: float) -> CsfFlows:
    cisternal_clearance = share * ratio * clearance
    return CsfFlows(
        lumbar_volume_ml=lumbar_volume,
        cisternal_volume_ml=lumbar_volume * volume_ratio,
        lumbar_clearance_ml_per_h=clearance * (1.0 - share),
        cisternal_clearance_ml_per_h=cisternal_clearance,
        exchange_ml_per_h=cisternal_clearance / (ratio - 1.0),
    )


def _csf_matrix(flows: CsfFlows) -> FloatArray:
    vl, vc = flows.lumbar_volume_ml, flows.cisternal_volume_ml
    q = flows.exchange_ml_per_h
    return np.array([
        [-(flows.lumbar_clearance_ml_per_h + q) / vl, q / vc],
        [q / vl, -(flows.cisternal_clearance_ml_per_h + q) / vc],
    ])


def lumbar_bolus_curve(flows: CsfFlows, times_h: FloatArray, dose_mcg: float = 1.0) -> FloatArray:
    """Lumbar CSF concentration (mcg/mL) after a lumbar bolus, CSF compartments only."""
    rates, vectors = np.linalg.eig(_csf_matrix(flows))
    coeff = np.linalg.solve(vectors, np.array([dose_mcg, 0.0]))
    amounts = (np.exp(np.outer(np.asarray(times_h), rates.real)) * coeff.real) @ vectors.real.T
    return amounts[:, 0] / flows.lumbar_volume_ml


def _log_lumbar_bolus_curve(flows: CsfFlows, times_h: FloatArray) -> FloatArray:
    """log of the lumbar concentration after a unit bolus, without underflow."""
    rates, vectors = np.linalg.eig(_csf_matrix(flows))
    coeff = np.linalg.solve(vectors.real, np.array([1.0, 0.0])) * vectors.real[0]
    exponents = np.outer(np.asarray(times_h), rates.real)
    return scipy.special.logsumexp(exponents, axis=1, b=coeff) - math.log(flows.lumbar_volume_ml)


def fitted_half_life_h(flows: CsfFlows) -> float:
    """Half-life from a log-linear fit of lumbar concentrations over the first 4 h [LABEL]."""
    lo, hi = constants.HALF_LIFE_FIT_WINDOW_H
    times = np.arange(lo, hi + constants.HALF_LIFE_FIT_STEP_H / 2, constants.HALF_LIFE_FIT_STEP_H)
    slope = np.polyfit(times, _log_lumbar_bolus_curve(flows, times), 1)[0]
    return float(math.log(2) / -slope)


@dataclass(frozen=True)
class CsfKinetics:
    """One patient's drug kinetics, stated in the labeled figures it must reproduce.

    `clearance_ml_per_h` and `half_life_h` are the bolus figures ([LABEL] 30 mL/h and
    1.51 h; [EJCP] 13-80 mL/h and 0.9-5 h), `lumbar_to_cisternal_ratio` the steady-state
    gradient ([LABEL] 4, range 1.8-8.7). Volumes are solved from these.
    """

    clearance_ml_per_h: float = constants.TYPICAL_CLEARANCE_ML_PER_H
    half_life_h: float = constants.TYPICAL_HALF_LIFE_H
    lumbar_to_cisternal_ratio: float = constants.TYPICAL_LUMBAR_TO_CISTERNAL_RATIO
    effect_site_rate_per_h: float = constants.TYPICAL_EFFECT_SITE_RATE_PER_H
    weight_kg: float = constants.TYPICAL_WEIGHT_KG
    cisternal_clearance_share: float = constants.CISTERNAL_CLEARANCE_SHARE
    cisternal_to_lumbar_volume: float = constants.CISTERNAL_TO_LUMBAR_VOLUME
    dependence_time_constant_h: float = constants.DEPENDENCE_TIME_CONSTANT_H
    systemic_volume_ml_per_kg: float = constants.SYSTEMIC_VOLUME_ML_PER_KG
    systemic_half_life_h: float = constants.SYSTEMIC_HALF_LIFE_H
    pocket_absorption_half_life_h: float = constants.POCKET_ABSORPTION_HALF_LIFE_H
    # 1 = normal kidneys; lower slows the systemic (renal) clearance (issue 16.6).
    renal_function: float = constants.TYPICAL_RENAL_FUNCTION
    _flows: CsfFlows = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _positive_in("clearance_ml_per_h", self.clearance_ml_per_h, 0.0, 500.0)
        _positive_in("half_life_h", self.half_life_h, 0.0, 100.0)
        _positive_in("lumbar_to_cisternal_ratio", self.lumbar_to_cisternal_ratio, 1.0, 50.0)
        _positive_in("effect_site_rate_per_h", self.effect_site_rate_per_h, 0.0, 100.0)
        _positive_in("weight_kg", self.weight_kg, 0.0, 500.0)
        _positive_in("cisternal_clearance_share", self.cisternal_clearance_share, 0.0, 1.0)
        if self.cisternal_clearance_share >= 1.0:
            raise InvalidInput("cisternal_clearance_share", self.cisternal_clearance_share,
                               "more than 0 and less than 1")
        _positive_in("cisternal_to_lumbar_volume", self.cisternal_to_lumbar_volume, 0.0, 100.0)
        _positive_in("dependence_time_constant_h", self.dependence_time_constant_h, 0.0, 1e5)
        _positive_in("systemic_volume_ml_per_kg", self.systemic_volume_ml_per_kg, 0.0, 1e4)
        _positive_in("systemic_half_life_h", self.systemic_half_life_h, 0.0, 1000.0)
        _positive_in("renal_function", self.renal_function, 0.0, 1.0)
        _positive_in("pocket_absorption_half_life_h", self.pocket_absorption_half_life_h, 0.0,
                  1000.0)
        object.__setattr__(self, "_flows", self._solve_flows())

    def _solve_flows(self) -> CsfFlows:
        def flows_for(volume: float) -> CsfFlows:
            return _csf_flows(self.clearance_ml_per_h, self.lumbar_to_cisternal_ratio,
                              self.cisternal_clearance_share, self.cisternal_to_lumbar_volume,
                              volume)

        def miss(log_volume: float) -> float:
            return fitted_half_life_h(flows_for(math.exp(log_volume))) - self.half_life_h

        lo, hi = math.log(0.01), math.log(1e7)
        if miss(lo) > 0 or miss(hi) < 0:
            raise InvalidInput("half_life_h", self.half_life_h,
                               "a half-life this clearance and ratio can produce")
        log_volume = scipy.optimize.brentq(miss, lo, hi, xtol=1e-12, rtol=1e-12)
        return flows_for(math.exp(log_volume))

    @property
    def flows(self) -> CsfFlows:
        return self._flows

    @property
    def systemic_volume_ml(self) -> float:
        return self.systemic_volume_ml_per_kg * self.weight_kg

    @property
    def systemic_elimination_per_h(self) -> float:
        """Plasma elimination rate: the labeled half-life with normal kidneys, slower with
        impaired renal function (renal share 0.85, constants)."""
        non_renal = constants.NON_RENAL_SHARE_OF_SYSTEMIC_CLEARANCE
        scale = non_renal + (1.0 - non_renal) * self.renal_function
        return math.log(2) / self.systemic_half_life_h * scale

    def matrices(self) -> tuple[FloatArray, FloatArray]:
        """(A, B) of dx/dt = A x + B u for the six states and the two inputs."""
        f = self._flows
        a = np.zeros((N_STATES, N_STATES))
        a[np.ix_([LUMBAR, CISTERNAL], [LUMBAR, CISTERNAL])] = _csf_matrix(f)
        ke0 = self.effect_site_rate_per_h
        a[EFFECT, LUMBAR] = ke0 / f.lumbar_volume_ml
        a[EFFECT, EFFECT] = -ke0
        a[ADAPTED, EFFECT] = 1.0 / self.dependence_time_constant_h
        a[ADAPTED, ADAPTED] = -1.0 / self.dependence_time_constant_h
        ka = math.log(2) / self.pocket_absorption_half_life_h
        a[POCKET, POCKET] = -ka
        a[PLASMA, POCKET] = ka
        a[PLASMA, LUMBAR] = f.lumbar_clearance_ml_per_h / f.lumbar_volume_ml
        a[PLASMA, CISTERNAL] = f.cisternal_clearance_ml_per_h / f.cisternal_volume_ml
        a[PLASMA, PLASMA] = -self.systemic_elimination_per_h
        b = np.zeros((N_STATES, 2))
        b[LUMBAR, CSF_INPUT] = 1.0
        b[POCKET, POCKET_INPUT] = 1.0
        return a, b

    @cached_property
    def system(self) -> LinearSystem:
        """The closed-form solver for this parameter set (decomposed once, then cached)."""
        a, b = self.matrices()
        return LinearSystem(a, b)

    def concentrations(self, states: FloatArray) -> dict[str, FloatArray]:
        """Named concentrations (mcg/mL) and the pocket depot (mcg) from raw states."""
        s = np.atleast_2d(states)
        f = self._flows
        return {
            "lumbar_mcg_per_ml": s[:, LUMBAR] / f.lumbar_volume_ml,
            "cisternal_mcg_per_ml": s[:, CISTERNAL] / f.cisternal_volume_ml,
            "effect_site_mcg_per_ml": s[:, EFFECT],
            "adapted_mcg_per_ml": s[:, ADAPTED],
            "pocket_mcg": s[:, POCKET],
            "plasma_mcg_per_ml": s[:, PLASMA] / self.systemic_volume_ml,
        }
