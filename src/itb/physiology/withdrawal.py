"""Withdrawal: a staged syndrome driven by time spent under the needed concentration.

The patient adapts to the drug: the `adapted` state follows the effect-site
concentration with a time constant of days (see `pk`). The patient is *under the
needed concentration* when the effect site falls below `need_share` of the adapted
level, and only once adapted at all (a screening bolus does not create dependence).
The stage grows with the hours spent continuously under that line, capped by how deep
the loss is and (for the severe stages) by how adapted the patient is, i.e. by the dose
and duration of therapy; it ends when the drug is restored or the adaptation has faded:

    stage 1 early            return of spasticity, itching, tingling, lightheadedness
    stage 2 progressing      + sweating, low-grade fever, stiffness, dizziness, nausea
    stage 3 severe           high fever, confusion, severe spasms/rigidity, seizures
    stage 4 life-threatening + loss of consciousness (rhabdomyolysis, organ failure)

Sources: labeling boxed warning (devices.md): early signs are return of baseline
spasticity, pruritus, hypotension and paresthesias; abrupt discontinuation causes high
fever, altered mental status, rebound spasticity and rigidity, progressing to
rhabdomyolysis, multiple organ failure and death. Seeds 003/004 list the patient's
words. [NSWIKI] "the severe syndrome can progress over 24-72 hours to rhabdomyolysis".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from itb.errors import InvalidInput
from itb.physiology import constants
from itb.physiology.constants import Stages, by_stage
from itb.physiology.linear import FloatArray

STAGE_NAMES = ("none", "early", "progressing", "severe", "life-threatening")

# Symptom names (vocabulary in `symptoms`) reported at each stage.
SYMPTOMS_BY_STAGE: tuple[tuple[str, ...], ...] = (
    (),
    # Boxed warning early signs: spasticity returns (muscle-spasms), pruritus (itchy-skin,
    # seed 003 "without signs of a rash"), paresthesias (tingling), hypotension
    # (lightheadedness, seed 004 "dizziness or lightheaded").
    ("muscle-spasms", "itchy-skin", "tingling", "lightheadedness"),
    # Seed 004's remaining withdrawal words and seed 003's nausea.
    ("muscle-spasms", "muscle-stiffness", "itchy-skin", "tingling", "lightheadedness",
     "sweating", "low-grade-fever", "dizziness", "nausea"),
    # Boxed warning: high fever, altered mental status, exaggerated rebound spasticity and
    # rigidity; [NSWIKI] seizures in more significant withdrawal.
    ("severe-muscle-spasms", "muscle-stiffness", "itchy-skin", "extreme-sweating",
     "high-fever", "confusion", "seizures", "dizziness", "nausea"),
    # Rhabdomyolysis and organ failure: reduced level of consciousness [NSWIKI].
    ("severe-muscle-spasms", "muscle-stiffness", "extreme-sweating", "high-fever", "confusion",
     "seizures", "loss-of-consciousness"),
)


_WITHDRAWAL_STAGE_HOURS = by_stage(constants.WITHDRAWAL_STAGE_HOURS)
_WITHDRAWAL_DEPTH_FOR_STAGE = by_stage(constants.WITHDRAWAL_DEPTH_FOR_STAGE)


@dataclass(frozen=True)
class WithdrawalModel:
    """Thresholds of the withdrawal syndrome (all *unconfirmed* modelling choices)."""

    need_share: float = constants.WITHDRAWAL_NEED_SHARE
    min_dependence_share: float = constants.WITHDRAWAL_MIN_DEPENDENCE_SHARE
    severe_min_dependence_share: float = constants.WITHDRAWAL_SEVERE_MIN_DEPENDENCE_SHARE
    stage_hours: Stages = _WITHDRAWAL_STAGE_HOURS
    depth_for_stage: Stages = _WITHDRAWAL_DEPTH_FOR_STAGE
    # Issue 16.2: severity varies across patients and with the dose. `max_stage` is the
    # worst stage this patient's withdrawal can reach (drawn per patient, see population),
    # `pace` scales the hours between stages (1 = the typical timing), and stage 4 needs
    # an adaptation of at least `life_threatening_min_dependence_share` x EC50_0.
    max_stage: int = 4
    pace: float = 1.0
    life_threatening_min_dependence_share: float = \
        constants.WITHDRAWAL_LIFE_THREATENING_MIN_DEPENDENCE_SHARE

    def __post_init__(self) -> None:
        # Each number finite and not a bool first, so NaN cannot slip past the comparisons.
        for name in ("need_share", "min_dependence_share", "severe_min_dependence_share",
                     "life_threatening_min_dependence_share"):
            constants.parameter_in_range(name, getattr(self, name), 0.0, low_open=False)
        for name in ("stage_hours", "depth_for_stage"):
            for index, value in enumerate(getattr(self, name)):
                constants.parameter_in_range(f"{name}[{index}]", value, -math.inf, low_open=False)
        if not 0 < self.need_share < 1:
            raise InvalidInput("need_share", self.need_share, "more than 0 and less than 1")
        if self.min_dependence_share < 0:
            raise InvalidInput("min_dependence_share", self.min_dependence_share, "at least 0")
        if self.severe_min_dependence_share < self.min_dependence_share:
            raise InvalidInput("severe_min_dependence_share", self.severe_min_dependence_share,
                               f"at least min_dependence_share ({self.min_dependence_share})")
        if self.life_threatening_min_dependence_share < self.severe_min_dependence_share:
            raise InvalidInput("life_threatening_min_dependence_share",
                               self.life_threatening_min_dependence_share,
                               f"at least severe_min_dependence_share "
                               f"({self.severe_min_dependence_share})")
        if isinstance(self.max_stage, bool) or not isinstance(self.max_stage, int) or \
                not 1 <= self.max_stage <= 4:
            raise InvalidInput("max_stage", self.max_stage, "a whole number from 1 to 4")
        constants.parameter_in_range("pace", self.pace, 0.0, 10.0)
        if len(self.stage_hours) != 4 or list(self.stage_hours) != sorted(self.stage_hours) \
                or self.stage_hours[0] < 0:
            raise InvalidInput("stage_hours", self.stage_hours,
                               "four non-decreasing hours, the first at least 0")
        depth = list(self.depth_for_stage)
        if len(depth) != 4 or depth != sorted(depth, reverse=True) or depth[0] > self.need_share \
                or depth[-1] <= 0:
            raise InvalidInput("depth_for_stage", self.depth_for_stage,
                               f"four non-increasing shares in (0, {self.need_share}]")

    def under_need(self, effect_site_mcg_per_ml: FloatArray, adapted_mcg_per_ml: FloatArray,
                   ec50_initial_mcg_per_ml: float) -> np.ndarray:
        """True where the patient is dependent and below the needed concentration."""
        ce = np.asarray(effect_site_mcg_per_ml)
        adapted = np.asarray(adapted_mcg_per_ml)
        dependent = adapted >= self.min_dependence_share * ec50_initial_mcg_per_ml
        return dependent & (ce < self.need_share * adapted)

    def need_gap(self, effect_site_mcg_per_ml: FloatArray,
                 adapted_mcg_per_ml: FloatArray) -> FloatArray:
        """Ce minus the needed level: it crosses zero where a spell starts or ends."""
        return np.asarray(effect_site_mcg_per_ml) - self.need_share * np.asarray(
            adapted_mcg_per_ml)

    def stage(self, hours_under: FloatArray, effect_site_mcg_per_ml: FloatArray,
              adapted_mcg_per_ml: FloatArray, ec50_initial_mcg_per_ml: float) -> np.ndarray:
        """Stage 0-4; `hours_under` is NaN where the patient is not under the need line."""
        hours = np.asarray(hours_under, dtype=np.float64)
        adapted = np.asarray(adapted_mcg_per_ml, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            depth = np.where(adapted > 0, np.asarray(effect_site_mcg_per_ml) / adapted, np.inf)
        heavy = adapted >= self.severe_min_dependence_share * ec50_initial_mcg_per_ml
        heaviest = adapted >= self.life_threatening_min_dependence_share * \
            ec50_initial_mcg_per_ml
        stage = np.zeros(hours.shape, dtype=np.int8)
        under = ~np.isnan(hours)
        for s in range(self.max_stage):
            reached = under & (hours >= self.stage_hours[s] * self.pace) & (
                depth < self.depth_for_stage[s])
            if s >= 2:  # severe stages only with enough dependence (dose and duration)
                reached &= heavy
            if s == 3:
                reached &= heaviest
            stage[reached] = s + 1
        return stage
