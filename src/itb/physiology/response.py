"""Spasticity response: Emax model on the spinal effect site, with tolerance.

    relaxation E = Emax(t) * Ce^h / (Ce^h + EC50(t)^h)
    EC50(t)      = EC50_0 * (1 + (M - 1) (1 - exp(-days_on_therapy / tau_tol)))
    Emax(t)      = Emax, fading as exp(-(days - refractory_day) / tau_fade) once refractory
    MAS          = min(4, MAS_0 (1 - E) + rebound(withdrawal stage))
    spasms/h     = spasms_0 (1 - E) (1 + 0.5 * withdrawal stage)

Tolerance (EC50 rising to M times its first value over the first months, then a
plateau) follows the labeling ("doses usually rise over the first year, then
plateau") and [PENN-KROIN], [SPAIN-2000] in `constants`. Every function is vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from itb.errors import InvalidInput
from itb.physiology import constants
from itb.physiology.linear import FloatArray

_check = constants.parameter_in_range

# Modified Ashworth Scale ceiling: 4 = affected part rigid in flexion or extension.
MAX_ASHWORTH = 4.0
# Rebound above the untreated baseline by withdrawal stage ([LABEL] boxed warning:
# "exaggerated rebound spasticity and muscle rigidity"). *unconfirmed* sizes.
REBOUND_ASHWORTH_BY_STAGE = (0.0, 0.0, 0.5, 1.0, 1.0)


@dataclass(frozen=True)
class SpasticityResponse:
    """One patient's spasticity and its sensitivity to baclofen."""

    baseline_ashworth: float = constants.TYPICAL_BASELINE_ASHWORTH
    baseline_spasms_per_hour: float = constants.TYPICAL_BASELINE_SPASMS_PER_HOUR
    ec50_initial_mcg_per_ml: float = constants.TYPICAL_EC50_INITIAL_MCG_PER_ML
    hill: float = constants.HILL_COEFFICIENT
    max_effect: float = constants.MAX_EFFECT
    tolerance_multiplier: float = constants.TYPICAL_TOLERANCE_MULTIPLIER
    tolerance_time_constant_days: float = constants.TOLERANCE_TIME_CONSTANT_DAYS
    refractory_after_days: float | None = None
    refractory_fade_days: float = constants.REFRACTORY_FADE_DAYS

    def __post_init__(self) -> None:
        _check("baseline_ashworth", self.baseline_ashworth, 0.0, MAX_ASHWORTH, low_open=False)
        _check("baseline_spasms_per_hour", self.baseline_spasms_per_hour, 0.0, 1000.0,
               low_open=False)
        _check("ec50_initial_mcg_per_ml", self.ec50_initial_mcg_per_ml, 0.0, 1000.0)
        _check("hill", self.hill, 0.0, 10.0)
        _check("max_effect", self.max_effect, 0.0, 1.0)
        _check("tolerance_multiplier", self.tolerance_multiplier, 1.0, 100.0, low_open=False)
        _check("tolerance_time_constant_days", self.tolerance_time_constant_days, 0.0, 1e5)
        if self.refractory_after_days is not None:
            _check("refractory_after_days", self.refractory_after_days, 0.0, 1e7,
                   low_open=False)
        _check("refractory_fade_days", self.refractory_fade_days, 0.0, 1e5)

    def ec50_mcg_per_ml(self, days_on_therapy: FloatArray,
                        tolerance_held: FloatArray | None = None) -> FloatArray:
        """Effect-site concentration giving half the maximum effect, after tolerance.

        `tolerance_held` (0-1, default 1) is the share of the calendar tolerance still held:
        it fades without drug (`tolerance_held_share`, issue 16.4)."""
        d = np.maximum(np.asarray(days_on_therapy, dtype=np.float64), 0.0)  # none before start
        rise = 1.0 - np.exp(-d / self.tolerance_time_constant_days)
        if tolerance_held is not None:
            rise = rise * np.asarray(tolerance_held, dtype=np.float64)
        return self.ec50_initial_mcg_per_ml * (1.0 + (self.tolerance_multiplier - 1.0) * rise)

    def emax(self, days_on_therapy: FloatArray) -> FloatArray:
        d = np.asarray(days_on_therapy, dtype=np.float64)
        if self.refractory_after_days is None:
            return np.full(d.shape, self.max_effect)
        late = np.maximum(d - self.refractory_after_days, 0.0)
        return self.max_effect * np.exp(-late / self.refractory_fade_days)

    def tolerance_held_share(self, adapted_mcg_per_ml: FloatArray,
                             days_on_therapy: FloatArray) -> FloatArray:
        """Share of the calendar tolerance still held: all of it while the patient is
        adapted to at least TOLERANCE_HOLD_DEPENDENCE_SHARE of the full-tolerance EC50
        (a patient on their maintenance dose is adapted to about that EC50), in proportion
        below, so tolerance fades with the adaptation in a drug holiday (*unconfirmed*)."""
        hold = constants.TOLERANCE_HOLD_DEPENDENCE_SHARE * self.ec50_mcg_per_ml(days_on_therapy)
        return np.clip(np.asarray(adapted_mcg_per_ml, dtype=np.float64) / hold, 0.0, 1.0)

    def relaxation(self, effect_site_mcg_per_ml: FloatArray, days_on_therapy: FloatArray,
                   tolerance_held: FloatArray | None = None) -> FloatArray:
        """Fraction of spasticity removed, 0 (none) to Emax."""
        ce = np.maximum(np.asarray(effect_site_mcg_per_ml, dtype=np.float64), 0.0)
        ratio = (ce / self.ec50_mcg_per_ml(days_on_therapy, tolerance_held)) ** self.hill
        return self.emax(days_on_therapy) * ratio / (1.0 + ratio)

    def ashworth(self, relaxation: FloatArray, withdrawal_stage: FloatArray) -> FloatArray:
        """Modified Ashworth Scale score (0-4, continuous)."""
        rebound = np.asarray(REBOUND_ASHWORTH_BY_STAGE)[np.asarray(withdrawal_stage, dtype=int)]
        score = self.baseline_ashworth * (1.0 - np.asarray(relaxation)) + rebound
        return np.minimum(score, MAX_ASHWORTH)  # the scale's own ceiling

    def spasms_per_hour(self, relaxation: FloatArray, withdrawal_stage: FloatArray) -> FloatArray:
        stage = np.asarray(withdrawal_stage, dtype=np.float64)
        return self.baseline_spasms_per_hour * (1.0 - np.asarray(relaxation)) * (1 + 0.5 * stage)

    def effect_site_needed_mcg_per_ml(
            self, days_on_therapy: float,
            relaxation: float = constants.WELL_CONTROLLED_EFFECT) -> float:
        """Effect-site concentration that gives `relaxation` on that day of therapy."""
        emax = float(self.emax(np.asarray(days_on_therapy)))
        if not 0 < relaxation < emax:
            raise InvalidInput("relaxation", relaxation, f"more than 0 and less than {emax:.3f}",
                               "the maximum effect available on that day")
        ec50 = float(self.ec50_mcg_per_ml(np.asarray(days_on_therapy)))
        return ec50 * (relaxation / (emax - relaxation)) ** (1.0 / self.hill)
