"""The device and care hazards of one patient: when each fault happens, drawn from its rate.

Each hazard has its own random stream (`Streams`), so that a change in care (an earlier
refill, a replacement) never shifts another hazard's draws: two studies that differ only
in policy see the same faults at the same ages (common random numbers, which is what
makes `itb fleet compare` sharp).

- Motor stall: a Weibull time to stall per pump, its scale solved so that the cumulative
  failure at `at_months` equals the study's figure for the patient's drug (approved or
  unapproved; FDA 2013 via devices.md: about 2.4 % and 7.0 % at 78 months). The shape is
  the study's (1 = a constant hazard; *unconfirmed* unless the study cites one).
- Overinfusion: a pump overinfuses with probability `share_of_pumps` over `over_years`,
  its onset uniform from `earliest_months` on (ECRI 2014: below 0.16 % of pumps, as early
  as 5 months); once started its excess grows month by month (ECRI: "can keep rising").
- Catheter occlusion, disconnection and leak: exponential times at their rate per
  patient-year, drawn again after each revision.
- Refill errors (pocket fill, wrong strength): a chance per refill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from itb.fleet.schema import CatheterHazards, Hazards, MotorStall, Overinfusion

YEAR_S = 365 * 86_400
MONTH_S = YEAR_S // 12
STREAMS = ("patient", "stall", "overinfusion", "catheter", "refill", "care", "attendance")


@dataclass
class Streams:
    """One generator per concern, all from the patient's own seed."""

    patient: np.random.Generator
    stall: np.random.Generator
    overinfusion: np.random.Generator
    catheter: np.random.Generator
    refill: np.random.Generator
    care: np.random.Generator
    attendance: np.random.Generator  # last: the others keep their spawn keys

    @classmethod
    def for_patient(cls, study_seed: int, index: int) -> Streams:
        """The i-th patient's streams: `SeedSequence(seed, spawn_key=(i, k))`, the same
        children `SeedSequence(seed).spawn(...)` would give, independent of partitions."""
        return cls(*(np.random.default_rng(np.random.SeedSequence(study_seed,
                                                                  spawn_key=(index, k)))
                     for k in range(len(STREAMS))))


def stall_scale_s(cumulative: float, at_months: int, shape: float) -> float | None:
    """The Weibull scale (seconds) giving `cumulative` failure at `at_months`; None if 0."""
    if cumulative <= 0:
        return None
    if cumulative >= 1:
        return 0.0
    horizon = at_months * MONTH_S
    return horizon / (-math.log1p(-cumulative)) ** (1 / shape)


def stall_age_s(hazard: MotorStall | None, unapproved: bool,
                rng: np.random.Generator) -> int | None:
    """A new pump's age at motor stall (None: it never stalls)."""
    if hazard is None:
        return None
    cumulative = hazard.unapproved_cumulative if unapproved else hazard.approved_cumulative
    scale = stall_scale_s(cumulative, hazard.at_months, hazard.weibull_shape)
    u = rng.random()  # drawn even when unused, so the stream keeps its place
    if scale is None:
        return None
    return int(scale * (-math.log1p(-u)) ** (1 / hazard.weibull_shape))


def overinfusion_age_s(hazard: Overinfusion | None, rng: np.random.Generator) -> int | None:
    """A new pump's age when it starts to overinfuse (None: it never does)."""
    if hazard is None:
        return None
    hit, where = rng.random(), rng.random()
    if hit >= hazard.share_of_pumps:
        return None
    earliest = hazard.earliest_months * MONTH_S
    latest = max(earliest, int(hazard.over_years * YEAR_S))
    return int(earliest + where * (latest - earliest))


def overinfusion_excess(hazard: Overinfusion, months_since_onset: int) -> float:
    """The share above the programmed flow, `months_since_onset` whole months in."""
    return min(hazard.max_excess,
               hazard.initial_excess + hazard.excess_growth_per_month * months_since_onset)


def next_catheter_faults(hazards: Hazards, rng: np.random.Generator,
                         from_s: int) -> dict[str, int]:
    """The next time of each catheter fault after `from_s` (a fresh catheter)."""
    out: dict[str, int] = {}
    for kind in CatheterHazards.model_fields:
        hazard = getattr(hazards, kind)
        u = rng.random()
        if hazard is not None and hazard.per_patient_year > 0:
            out[kind] = from_s + int(-math.log1p(-u) / hazard.per_patient_year * YEAR_S)
    return out


def refill_error(hazards: Hazards, rng: np.random.Generator) -> str | None:
    """The error made at one refill, if any (pocket fill before wrong strength)."""
    pocket, strength = rng.random(), rng.random()
    if hazards.pocket_fill is not None and pocket < hazards.pocket_fill.per_refill:
        return "pocket_fill"
    if hazards.wrong_strength is not None and strength < hazards.wrong_strength.per_refill:
        return "wrong_strength"
    return None
