"""Patients: one parameter set, the typical patient, and randomised populations.

`draw_patient(rng)` draws every parameter from the distributions in `constants`
(log-normal around the labeled typical value, truncated to the labeled range by
redrawing, never by clamping). `Population(seed)` wraps a seeded generator, so a
fixed seed always gives the same patients in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from itb.errors import InvalidInput
from itb.physiology import constants
from itb.physiology.overdose import OverdoseModel
from itb.physiology.pk import CsfKinetics
from itb.physiology.response import SpasticityResponse
from itb.physiology.withdrawal import WithdrawalModel

ORIGINS: tuple[str, ...] = ("spinal", "cerebral", "child")
_MAX_REDRAWS = 10_000


def _origin(origin: str) -> str:
    if origin not in ORIGINS:
        raise InvalidInput("origin", origin, "one of: " + ", ".join(ORIGINS))
    return origin


@dataclass(frozen=True)
class PatientParameters:
    """Everything that makes one simulated patient who they are."""

    origin: str = "spinal"
    kinetics: CsfKinetics = field(default_factory=CsfKinetics)
    response: SpasticityResponse = field(default_factory=SpasticityResponse)
    withdrawal: WithdrawalModel = field(default_factory=WithdrawalModel)
    overdose: OverdoseModel = field(default_factory=OverdoseModel)

    def __post_init__(self) -> None:
        _origin(self.origin)

    def maintenance_need_mcg_per_day(self, days_on_therapy: float,
                                     relaxation: float = constants.WELL_CONTROLLED_EFFECT) -> float:
        """Continuous daily dose that holds `relaxation` at steady state on that day.

        At steady state the effect site equals the lumbar CSF concentration, which is the
        infusion rate over the clearance ([LABEL] clearance ~30 mL/h).
        """
        needed = self.response.effect_site_needed_mcg_per_ml(days_on_therapy, relaxation)
        return needed * self.kinetics.clearance_ml_per_h * 24.0


def typical_patient(origin: str = "spinal") -> PatientParameters:
    """The patient whose every parameter is the typical value in `constants`."""
    origin = _origin(origin)
    weight, _ = constants.ORIGIN_WEIGHT_KG[origin]
    return PatientParameters(
        origin=origin,
        kinetics=CsfKinetics(weight_kg=weight),
        response=SpasticityResponse(
            ec50_initial_mcg_per_ml=constants.TYPICAL_EC50_INITIAL_MCG_PER_ML
            * constants.ORIGIN_EC50_FACTOR[origin]),
    )


def _lognormal(rng: np.random.Generator, median: float, log_sd: float,
               bounds: tuple[float, float] | None = None) -> float:
    for _ in range(_MAX_REDRAWS):
        value = float(median * math.exp(log_sd * rng.standard_normal()))
        if bounds is None or bounds[0] <= value <= bounds[1]:
            return value
    raise InvalidInput("bounds", bounds, f"a range that holds values around {median}")


def draw_patient(rng: np.random.Generator, origin: str = "spinal") -> PatientParameters:
    """One random patient; the same generator state always gives the same patient."""
    if not isinstance(rng, np.random.Generator):
        raise InvalidInput("rng", type(rng).__name__, "a numpy.random.Generator")
    origin = _origin(origin)
    weight_median, weight_sd = constants.ORIGIN_WEIGHT_KG[origin]
    kinetics = CsfKinetics(
        clearance_ml_per_h=_lognormal(rng, constants.TYPICAL_CLEARANCE_ML_PER_H,
                                      constants.CLEARANCE_LOG_SD,
                                      constants.CLEARANCE_RANGE_ML_PER_H),
        half_life_h=_lognormal(rng, constants.TYPICAL_HALF_LIFE_H, constants.HALF_LIFE_LOG_SD,
                               constants.HALF_LIFE_RANGE_H),
        lumbar_to_cisternal_ratio=_lognormal(rng, constants.TYPICAL_LUMBAR_TO_CISTERNAL_RATIO,
                                             constants.RATIO_LOG_SD, constants.RATIO_RANGE),
        effect_site_rate_per_h=_lognormal(rng, constants.TYPICAL_EFFECT_SITE_RATE_PER_H,
                                          constants.EFFECT_SITE_RATE_LOG_SD),
        weight_kg=_lognormal(rng, weight_median, weight_sd, (10.0, 200.0)),
    )
    # [LABEL] about 5 % of patients a year become refractory: exponential onset time.
    refractory_days = float(rng.exponential(365.0 / constants.REFRACTORY_RATE_PER_YEAR))
    response = SpasticityResponse(
        baseline_ashworth=float(rng.uniform(*constants.BASELINE_ASHWORTH_RANGE)),
        baseline_spasms_per_hour=_lognormal(rng, constants.TYPICAL_BASELINE_SPASMS_PER_HOUR,
                                            constants.SPASMS_LOG_SD),
        ec50_initial_mcg_per_ml=_lognormal(
            rng, constants.TYPICAL_EC50_INITIAL_MCG_PER_ML * constants.ORIGIN_EC50_FACTOR[origin],
            constants.EC50_LOG_SD),
        tolerance_multiplier=_lognormal(rng, constants.TYPICAL_TOLERANCE_MULTIPLIER,
                                        constants.TOLERANCE_LOG_SD,
                                        constants.TOLERANCE_MULTIPLIER_RANGE),
        tolerance_time_constant_days=_lognormal(rng, constants.TOLERANCE_TIME_CONSTANT_DAYS, 0.3),
        refractory_after_days=refractory_days,
    )
    return PatientParameters(origin=origin, kinetics=kinetics, response=response,
                             withdrawal=_draw_withdrawal(kinetics, response))


def _draw_withdrawal(kinetics: CsfKinetics, response: SpasticityResponse) -> WithdrawalModel:
    """This patient's withdrawal severity and pace (issue 16.2). Drawn from a generator
    seeded by the patient's own draws, so the population's other draws (and every earlier
    patient of a seed) stay as they were."""
    seed = [int(v * 1e9) % (2**32) for v in (kinetics.clearance_ml_per_h, kinetics.half_life_h,
                                             response.ec50_initial_mcg_per_ml)]
    rng = np.random.default_rng(seed)
    stages = sorted(constants.WITHDRAWAL_MAX_STAGE_PROBABILITIES)
    weights = [constants.WITHDRAWAL_MAX_STAGE_PROBABILITIES[s] for s in stages]
    max_stage = int(rng.choice(stages, p=np.asarray(weights) / sum(weights)))
    pace = _lognormal(rng, 1.0, constants.WITHDRAWAL_PACE_LOG_SD, (0.3, 3.0))
    return WithdrawalModel(max_stage=max_stage, pace=pace)


class Population:
    """A reproducible stream of random patients: `Population(seed).draw()`."""

    def __init__(self, seed: int, origin: str = "spinal") -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidInput("seed", seed, "a whole number, 0 or more")
        self.seed = seed
        self.origin = _origin(origin)
        self._rng = np.random.default_rng(seed)

    def draw(self) -> PatientParameters:
        return draw_patient(self._rng, self.origin)

    def draw_many(self, count: int) -> list[PatientParameters]:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput("count", count, "a whole number, 0 or more")
        return [self.draw() for _ in range(count)]

    def __iter__(self) -> Iterator[PatientParameters]:
        while True:
            yield self.draw()
