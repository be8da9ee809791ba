"""Refill planning and the refill check.

Planning: from the reservoir volume, the concentration, the program (a simple daily
dose or a flex schedule) and the low-reservoir alarm volume, when the alarm will
sound, when the reservoir will be empty and when to refill. All durations are exact
`Fraction`s; instants are UTC datetimes floored to the microsecond (the safe side).

Check: at a refill the volume withdrawn from the reservoir is compared with the
pump's estimate; a discrepancy beyond the threshold blocks the refill, and a fill
beyond the reservoir's capacity is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.errors import Overfill, RefillDiscrepancy
from itb.therapy.flex import (
    MAX_DELIVERY_DAYS,
    FlexSchedule,
    add_seconds,
    constant_schedule,
    require_room_for_horizon,
    seconds_to_deliver,
)
from itb.therapy.units import (
    NL_PER_ML,
    SECONDS_PER_DAY,
    ExactLike,
    display,
    exact,
    in_range,
    ml_to_nl,
    require_utc,
    to_exact_str,
)


@dataclass(frozen=True)
class RefillPlan:
    """When a filled reservoir reaches its alarm volume and runs empty, and when to refill."""

    now: datetime
    reservoir_nl: int
    alarm_nl: int
    concentration_mcg_per_ml: Fraction
    daily_dose_mcg: Fraction  # total over a nominal day (the flex total for a flex schedule)
    flow_ml_per_day: Fraction  # mean flow over a nominal day (exact)
    seconds_to_alarm: Fraction
    seconds_to_empty: Fraction
    days_to_alarm: Fraction
    days_to_empty: Fraction
    alarm_at: datetime
    empty_at: datetime
    refill_by: datetime
    refill_by_reason: str
    stability_limit_at: datetime | None
    safety_margin_days: Fraction
    refill_overdue: bool  # refill_by is already past at `now`


def plan_refill(*, reservoir_ml: ExactLike, concentration_mcg_per_ml: ExactLike,
                program: ExactLike | FlexSchedule, alarm_ml: ExactLike, now: datetime,
                safety_margin_days: ExactLike = catalogue.DEFAULT_REFILL_SAFETY_MARGIN_DAYS,
                stability_limit_days: ExactLike | None = catalogue.DEFAULT_STABILITY_LIMIT_DAYS,
                filled_at: datetime | None = None,
                capacity_ml: ExactLike | None = None,
                running_bolus_nl: int = 0, bolus_until: datetime | None = None) -> RefillPlan:
    """Plan the next refill.

    A bolus that is running (the priming bolus at implant, a bridge bolus after a refill)
    replaces the program until `bolus_until` and takes `running_bolus_nl` from the
    reservoir first; the program's flows start after it. Within the bolus the volume is
    taken as leaving evenly, which is never later than a pump that delivers the bolus at
    a constant flow with its rounding remainder in the last second.

    `program` is a daily dose in mcg/day (a simple continuous program) or a
    `FlexSchedule`; for a flex schedule the alarm and empty times follow the real
    step rates through each day, not the average. `refill_by` is the earlier of
    (alarm - safety margin) and (fill time + in-pump stability limit); the stability
    limit is an *unconfirmed* parameter (see catalogue) and `None` disables it.
    """
    now = require_utc("now", now)
    require_room_for_horizon("now", now)
    conc = in_range("concentration_mcg_per_ml", concentration_mcg_per_ml, 0, None, "mcg/mL",
                    low_inclusive=False)
    reservoir_nl, alarm_nl = _reservoir_and_alarm_nl(reservoir_ml, alarm_ml, capacity_ml)
    margin = in_range("safety_margin_days", safety_margin_days, 0, MAX_DELIVERY_DAYS, "days")
    limit = None if stability_limit_days is None else in_range(
        "stability_limit_days", stability_limit_days, 0, MAX_DELIVERY_DAYS, "days",
        low_inclusive=False)
    filled = now if filled_at is None else require_utc("filled_at", filled_at)
    if filled > now:
        raise InvalidInput("filled_at", filled.isoformat(), f"not after now ({now.isoformat()})")

    schedule = program if isinstance(program, FlexSchedule) else constant_schedule(program)
    daily_dose = schedule.total_daily_dose_mcg()
    flow = daily_dose / conc
    # Refuse (not clamp) a program so slow that the reservoir outlasts the planning horizon.
    lowest_dose = Fraction(reservoir_nl, NL_PER_ML) * conc / MAX_DELIVERY_DAYS
    if daily_dose < lowest_dose:
        raise InvalidInput("daily_dose_mcg", f"{to_exact_str(daily_dose)} mcg/day",
                           f"at least {display(lowest_dose, 6)} mcg/day, so that "
                           f"{display(Fraction(reservoir_nl, NL_PER_ML))} mL at {display(conc)} "
                           f"mcg/mL empties within {MAX_DELIVERY_DAYS} days")

    bolus_nl, bolus_s = _running_bolus(now, running_bolus_nl, bolus_until)

    def seconds_to(volume_nl: int) -> Fraction:
        if volume_nl <= bolus_nl:
            return bolus_s * volume_nl / bolus_nl if bolus_nl else Fraction(0)
        return bolus_s + seconds_to_deliver(schedule, conc, add_seconds(now, bolus_s),
                                            volume_nl - bolus_nl)

    to_alarm_s = seconds_to(reservoir_nl - alarm_nl)
    to_empty_s = seconds_to(reservoir_nl)
    alarm_at = add_seconds(now, to_alarm_s)
    empty_at = add_seconds(now, to_empty_s)

    refill_by, reason, stability_at = _refill_by(now, to_alarm_s, margin, filled, limit)
    return RefillPlan(
        now=now, reservoir_nl=reservoir_nl, alarm_nl=alarm_nl, concentration_mcg_per_ml=conc,
        daily_dose_mcg=daily_dose, flow_ml_per_day=flow,
        seconds_to_alarm=to_alarm_s, seconds_to_empty=to_empty_s,
        days_to_alarm=to_alarm_s / SECONDS_PER_DAY, days_to_empty=to_empty_s / SECONDS_PER_DAY,
        alarm_at=alarm_at, empty_at=empty_at, refill_by=refill_by, refill_by_reason=reason,
        stability_limit_at=stability_at, safety_margin_days=margin,
        refill_overdue=refill_by < now,
    )


def _reservoir_and_alarm_nl(reservoir_ml: ExactLike, alarm_ml: ExactLike,
                            capacity_ml: ExactLike | None) -> tuple[int, int]:
    """The reservoir and alarm volumes in nL, refused unless the alarm is below the reservoir
    and the reservoir within its capacity (when given)."""
    reservoir_nl = ml_to_nl("reservoir_ml", reservoir_ml)
    alarm_nl = ml_to_nl("alarm_ml", alarm_ml)
    if reservoir_nl <= 0:
        raise InvalidInput("reservoir_ml", display(Fraction(reservoir_nl, NL_PER_ML)),
                           "more than 0 mL")
    if capacity_ml is not None:
        capacity_nl = ml_to_nl("capacity_ml", capacity_ml)
        if reservoir_nl > capacity_nl:
            raise Overfill("reservoir_ml", display(Fraction(reservoir_nl, NL_PER_ML)),
                           f"at most the reservoir capacity {display(exact('c', capacity_ml))} mL")
    if alarm_nl < 0 or alarm_nl >= reservoir_nl:
        raise InvalidInput("alarm_ml", display(Fraction(alarm_nl, NL_PER_ML)),
                           f"0 mL up to less than the reservoir volume "
                           f"{display(Fraction(reservoir_nl, NL_PER_ML))} mL",
                           "at or below the alarm volume the alarm is already due: refill now")
    return reservoir_nl, alarm_nl


def _refill_by(now: datetime, to_alarm_s: Fraction, margin: Fraction, filled: datetime,
               limit: Fraction | None) -> tuple[datetime, str, datetime | None]:
    """(refill by, why, the stability limit's instant): the earlier of the alarm less the
    safety margin and the fill time plus the in-pump stability limit."""
    refill_by = add_seconds(now, to_alarm_s - margin * SECONDS_PER_DAY)
    reason = f"{display(margin)} days before the low-reservoir alarm"
    stability_at = None
    if limit is not None:
        stability_at = add_seconds(filled, limit * SECONDS_PER_DAY)
        if stability_at < refill_by:
            refill_by = stability_at
            reason = (f"in-pump stability limit of {display(limit)} days after filling "
                      "(unconfirmed parameter)")
    return refill_by, reason, stability_at


def _running_bolus(now: datetime, volume_nl: int, until: datetime | None
                   ) -> tuple[int, Fraction]:
    """(volume, exact seconds from now) of a running bolus; (0, 0) when none runs."""
    if isinstance(volume_nl, bool) or not isinstance(volume_nl, int) or volume_nl < 0:
        raise InvalidInput("running_bolus_nl", volume_nl, "0 nL or more, whole nL")
    if volume_nl == 0 or until is None:
        return 0, Fraction(0)
    until = require_utc("bolus_until", until)
    if until <= now:
        return 0, Fraction(0)
    delta = until - now
    return volume_nl, Fraction(delta.days * SECONDS_PER_DAY + delta.seconds) \
        + Fraction(delta.microseconds, 1_000_000)


# --- Refill check --------------------------------------------------------------------

CAUSES_LESS_WITHDRAWN = (
    "the pump delivered more than programmed (pump problem)",
    "part of the last refill went into the subcutaneous pocket (pocket fill), "
    "so the reservoir held less than recorded",
    "the reservoir volume was entered wrongly at the last refill or programming",
    "the needle is not fully in the reservoir, so the withdrawal is incomplete",
)
CAUSES_MORE_WITHDRAWN = (
    "the pump delivered less than programmed (motor stall or pump problem)",
    "the catheter is blocked, kinked or otherwise not carrying drug",
    "the reservoir volume was entered wrongly at the last refill or programming "
    "(more was put in than recorded)",
    "the programmed rate or concentration differs from what the pump was really given",
)


@dataclass(frozen=True)
class RefillCheck:
    """An accepted refill: the measured discrepancy and the new reservoir volume."""

    expected_residual_nl: int
    withdrawn_nl: int
    discrepancy_nl: int  # withdrawn - expected (negative: less came out than expected)
    threshold_nl: int
    fill_nl: int
    capacity_nl: int
    new_reservoir_nl: int


def check_refill(*, expected_residual_ml: ExactLike, withdrawn_ml: ExactLike,
                 fill_ml: ExactLike, capacity_ml: ExactLike,
                 threshold_ml: ExactLike = catalogue.DEFAULT_REFILL_DISCREPANCY_THRESHOLD_ML
                 ) -> RefillCheck:
    """Check a refill: residual against the pump's estimate, then the fill against capacity.

    The reservoir is emptied before filling, so the new volume is `fill_ml`. A
    discrepancy beyond `threshold_ml` (default 2 mL, ASRA 2017) raises
    `RefillDiscrepancy` with the possible causes; a fill above capacity raises `Overfill`.
    """
    capacity_nl = ml_to_nl("capacity_ml", capacity_ml)
    if capacity_nl <= 0:
        raise InvalidInput("capacity_ml", display(Fraction(capacity_nl, NL_PER_ML)),
                           "more than 0 mL")
    cap_text = display(Fraction(capacity_nl, NL_PER_ML))
    expected_nl = ml_to_nl("expected_residual_ml", expected_residual_ml)
    withdrawn_nl = ml_to_nl("withdrawn_ml", withdrawn_ml)
    fill_nl = ml_to_nl("fill_ml", fill_ml)
    threshold_nl = ml_to_nl("threshold_ml", threshold_ml)
    for field, volume in (("expected_residual_ml", expected_nl), ("withdrawn_ml", withdrawn_nl)):
        if not 0 <= volume <= capacity_nl:
            raise InvalidInput(field, display(Fraction(volume, NL_PER_ML)),
                               f"0 to the reservoir capacity {cap_text} mL")
    if threshold_nl < 0:
        raise InvalidInput("threshold_ml", display(Fraction(threshold_nl, NL_PER_ML)),
                           "0 mL or more")
    if fill_nl <= 0:
        raise InvalidInput("fill_ml", display(Fraction(fill_nl, NL_PER_ML)), "more than 0 mL")
    discrepancy = withdrawn_nl - expected_nl
    if abs(discrepancy) > threshold_nl:
        causes = CAUSES_LESS_WITHDRAWN if discrepancy < 0 else CAUSES_MORE_WITHDRAWN
        direction = "less" if discrepancy < 0 else "more"
        raise RefillDiscrepancy(
            "withdrawn_ml", f"{display(Fraction(withdrawn_nl, NL_PER_ML))} mL",
            f"within {display(Fraction(threshold_nl, NL_PER_ML))} mL of the expected residual "
            f"{display(Fraction(expected_nl, NL_PER_ML))} mL",
            possible_causes=causes,
            reason=f"{display(Fraction(abs(discrepancy), NL_PER_ML))} mL {direction} than expected;"
                   " refill blocked. Possible causes: " + "; ".join(causes))
    if fill_nl > capacity_nl:
        raise Overfill("fill_ml", f"{display(Fraction(fill_nl, NL_PER_ML))} mL",
                       f"at most the reservoir capacity {cap_text} mL")
    return RefillCheck(expected_residual_nl=expected_nl, withdrawn_nl=withdrawn_nl,
                       discrepancy_nl=discrepancy, threshold_nl=threshold_nl, fill_nl=fill_nl,
                       capacity_nl=capacity_nl, new_reservoir_nl=fill_nl)


@dataclass(frozen=True)
class MinimumFlowFlag:
    """A daily dose whose flow at a strength is below the pump's minimum flow."""

    flow_ml_per_day: Fraction
    min_flow_ml_per_day: Fraction
    highest_strength_mcg_per_ml: Fraction  # the strongest solution that still flows enough

    def sentence(self) -> str:
        return (f"the flow {display(self.flow_ml_per_day)} mL/day is below the pump's minimum "
                f"flow {display(self.min_flow_ml_per_day)} mL/day: the pump cannot deliver this "
                f"dose at this strength; use at most "
                f"{display(self.highest_strength_mcg_per_ml)} mcg/mL (a prescribed dilution)")


def below_minimum_flow(daily_dose_mcg: ExactLike, concentration_mcg_per_ml: ExactLike,
                       min_flow_ml_per_day: ExactLike = catalogue.DEFAULT_PUMP_MIN_FLOW_ML_PER_DAY
                       ) -> MinimumFlowFlag | None:
    """The flag when `daily_dose / concentration` is below the pump's minimum flow, else None."""
    dose = in_range("daily_dose_mcg", daily_dose_mcg, 0, None, "mcg/day", low_inclusive=False)
    conc = in_range("concentration_mcg_per_ml", concentration_mcg_per_ml, 0, None, "mcg/mL",
                    low_inclusive=False)
    minimum = in_range("min_flow_ml_per_day", min_flow_ml_per_day, 0, None, "mL/day",
                       low_inclusive=False)
    flow = dose / conc
    if flow >= minimum:
        return None
    return MinimumFlowFlag(flow, minimum, dose / minimum)
