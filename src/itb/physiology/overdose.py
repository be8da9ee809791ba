"""Overdose: staged by concentration relative to the patient's tolerance.

Two routes reach the same stages, and the worse one counts:
- intrathecal: the effect-site concentration over the patient's current EC50 (which
  rises with tolerance), so the same dose that overdoses a new patient may be right
  for a tolerant one;
- systemic: the plasma concentration, for drug that reached the body outside the CSF
  (a pocket fill absorbed from the subcutaneous pocket, devices.md "overdose within
  hours").

Stages follow the labeled progression (devices.md "Overdose": drowsiness,
light-headedness, dizziness, somnolence, respiratory depression, seizures, rostral
progression of hypotonia, loss of consciousness progressing to coma) in the words of
seeds 003/004. Below stage 1, the common side effects of seed 001 follow what the patient
feels: sleepiness when the index passes SIDE_EFFECT_INDEX, loose muscles when the tone
falls well below the tone they are used to (see `side_effects`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from itb.errors import InvalidInput
from itb.physiology import constants
from itb.physiology.constants import Stages, by_stage
from itb.physiology.linear import FloatArray

STAGE_NAMES = ("none", "mild", "moderate", "severe", "critical")

# Seed 001 common side effects, as bits of the side-effect mask.
SLEEPINESS = 1   # index >= SIDE_EFFECT_INDEX (CNS depression, "sleepiness")
LOOSE_MUSCLES = 2  # tone well below the patient's usual treated tone
SIDE_EFFECT_SYMPTOMS: tuple[str, ...] = ("sleepiness", "loose-muscles")


def side_effect_names(mask: int) -> tuple[str, ...]:
    """Symptom names of a side-effect mask (bit 1 sleepiness, bit 2 loose muscles)."""
    return tuple(name for bit, name in ((SLEEPINESS, "sleepiness"),
                                        (LOOSE_MUSCLES, "loose-muscles")) if mask & bit)
SYMPTOMS_BY_STAGE: tuple[tuple[str, ...], ...] = (
    (),
    ("drowsiness", "weakness", "dizziness"),
    ("drowsiness", "weakness", "dizziness", "trouble-moving", "low-blood-pressure",
     "low-body-temperature"),
    ("drowsiness", "weakness", "trouble-moving", "low-blood-pressure", "low-body-temperature",
     "difficulty-breathing", "seizures"),
    ("weakness", "low-blood-pressure", "low-body-temperature", "difficulty-breathing",
     "seizures", "loss-of-consciousness"),
)


def _increasing(name: str, values: tuple[float, ...]) -> None:
    for index, value in enumerate(values):  # finite numbers first: NaN defeats the ordering
        constants.parameter_in_range(f"{name}[{index}]", value, 0.0)
    if len(values) != 4 or any(v <= 0 for v in values) or list(values) != sorted(set(values)):
        raise InvalidInput(name, values, "four increasing positive thresholds")


_OVERDOSE_INDEX_FOR_STAGE = by_stage(constants.OVERDOSE_INDEX_FOR_STAGE)
_PLASMA_MCG_PER_ML_FOR_STAGE = by_stage(constants.PLASMA_MCG_PER_ML_FOR_STAGE)


@dataclass(frozen=True)
class OverdoseModel:
    """Stage thresholds (*unconfirmed*, see constants)."""

    side_effect_index: float = constants.SIDE_EFFECT_INDEX
    loose_muscles_tone_drop_share: float = constants.LOOSE_MUSCLES_TONE_DROP_SHARE
    index_for_stage: Stages = _OVERDOSE_INDEX_FOR_STAGE
    plasma_mcg_per_ml_for_stage: Stages = _PLASMA_MCG_PER_ML_FOR_STAGE

    def __post_init__(self) -> None:
        _increasing("index_for_stage", self.index_for_stage)
        _increasing("plasma_mcg_per_ml_for_stage", self.plasma_mcg_per_ml_for_stage)
        constants.parameter_in_range("side_effect_index", self.side_effect_index, 0.0)
        constants.parameter_in_range("loose_muscles_tone_drop_share",
                               self.loose_muscles_tone_drop_share, 0.0, 1.0)
        if not 0 < self.side_effect_index < self.index_for_stage[0]:
            raise InvalidInput("side_effect_index", self.side_effect_index,
                               f"more than 0 and less than {self.index_for_stage[0]}")

    def index(self, effect_site_mcg_per_ml: FloatArray, ec50_mcg_per_ml: FloatArray) -> FloatArray:
        """Effect-site concentration relative to the patient's current tolerance."""
        return np.maximum(np.asarray(effect_site_mcg_per_ml), 0.0) / np.asarray(ec50_mcg_per_ml)

    def stage(self, index: FloatArray, plasma_mcg_per_ml: FloatArray) -> np.ndarray:
        spinal = np.searchsorted(np.asarray(self.index_for_stage), np.asarray(index),
                                 side="right")
        systemic = np.searchsorted(np.asarray(self.plasma_mcg_per_ml_for_stage),
                                   np.asarray(plasma_mcg_per_ml), side="right")
        return np.maximum(spinal, systemic).astype(np.int8)

    def side_effects(self, index: FloatArray, tone_drop_share: FloatArray | None = None
                     ) -> np.ndarray:
        """Side-effect mask: SLEEPINESS where the index passes SIDE_EFFECT_INDEX,
        LOOSE_MUSCLES where the tone is at least `loose_muscles_tone_drop_share` below the
        tone the patient is used to (`tone_drop_share`, NaN or absent where the patient has
        no treated tone of their own yet)."""
        index = np.asarray(index)
        mask = np.where(index >= self.side_effect_index, SLEEPINESS, 0).astype(np.int8)
        if tone_drop_share is not None:
            with np.errstate(invalid="ignore"):
                loose = np.asarray(tone_drop_share) >= self.loose_muscles_tone_drop_share
            mask |= np.where(loose, LOOSE_MUSCLES, 0).astype(np.int8)
        return mask
