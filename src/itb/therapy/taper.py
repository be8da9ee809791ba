"""A taper plan before an elective explant (issue 16.17).

The labels give no explant taper. The boxed warning is about *abrupt* discontinuation
[LIO-LABEL], so the plan lowers the dose step by step: each step is a decrease within the
labeled 10-20% suggested for side effects [LIO-LABEL "Titration"/"Maintenance"], no more
often than every `interval_days` (default 2, *unconfirmed*: itb policy, the label changes
doses at most once per 24 h), until the next step would fall below the floor: the lowest
dose the pump can deliver at this strength (its minimum flow x the concentration; devices.md
0.048 mL/day, *unconfirmed*) or a clinician's floor, whichever is higher. The explant
follows the last step, with oral baclofen cover decided by the team (oral drugs alone are
unreliable against ITB withdrawal: they are cover, not a replacement).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.units import ExactLike, display, in_range, require_utc

DEFAULT_TAPER_INTERVAL_DAYS = 2  # *unconfirmed*: itb policy, see the module docstring
MAX_TAPER_STEPS = 100


@dataclass(frozen=True)
class TaperStep:
    at: datetime
    daily_dose_mcg: Fraction
    flow_ml_per_day: Fraction


@dataclass(frozen=True)
class TaperPlan:
    current_mcg_per_day: Fraction
    step_percent: Fraction
    interval_days: int
    floor_mcg_per_day: Fraction
    steps: tuple[TaperStep, ...]
    explant_from: datetime  # the day after the last step's interval


def taper_plan(*, current_mcg_per_day: ExactLike, concentration_mcg_per_ml: ExactLike,
               start: datetime, step_percent: ExactLike = 10,
               interval_days: int = DEFAULT_TAPER_INTERVAL_DAYS,
               floor_mcg_per_day: ExactLike | None = None,
               min_flow_ml_per_day: ExactLike = catalogue.DEFAULT_PUMP_MIN_FLOW_ML_PER_DAY
               ) -> TaperPlan:
    """Doses and dates of a stepwise taper from `current_mcg_per_day` down to the floor."""
    current = in_range("current_mcg_per_day", current_mcg_per_day, 0, None, "mcg/day",
                       low_inclusive=False)
    conc = in_range("concentration_mcg_per_ml", concentration_mcg_per_ml, 0, None, "mcg/mL",
                    low_inclusive=False)
    low, high = catalogue.TITRATION_SIDE_EFFECT_DECREASE_PERCENT
    step = in_range("step_percent", step_percent, low, high, "%")
    if isinstance(interval_days, bool) or not isinstance(interval_days, int) \
            or not 1 <= interval_days <= 30:
        raise InvalidInput("interval_days", interval_days, "a whole number of days, 1 to 30")
    start = require_utc("start", start)
    pump_floor = in_range("min_flow_ml_per_day", min_flow_ml_per_day, 0, None, "mL/day",
                          low_inclusive=False) * conc
    floor = pump_floor if floor_mcg_per_day is None else max(
        pump_floor, in_range("floor_mcg_per_day", floor_mcg_per_day, 0, None, "mcg/day"))
    if current <= floor:
        raise InvalidInput("current_mcg_per_day", display(current),
                           f"more than the floor {display(floor)} mcg/day",
                           "there is nothing to taper")
    steps: list[TaperStep] = []
    dose = current
    while len(steps) < MAX_TAPER_STEPS:
        nxt = dose * (100 - step) / 100
        if nxt < floor:
            break
        dose = nxt
        steps.append(TaperStep(start + timedelta(days=interval_days * len(steps)), dose,
                               dose / conc))
    if len(steps) == MAX_TAPER_STEPS:
        raise InvalidInput("floor_mcg_per_day", display(floor),
                           f"a floor reached within {MAX_TAPER_STEPS} steps")
    explant = start + timedelta(days=interval_days * len(steps))
    return TaperPlan(current, step, interval_days, floor, tuple(steps), explant)
