"""Programs as the pump holds them, and as the therapy rules reason about them.

The pump receives a `ProgramSpec` (the wire form): a simple continuous dose, or flex
steps in local time at a *fixed* UTC offset, because the pump's clock knows no
daylight-saving rules (docs/pump.md). `itb.therapy` reasons about a `FlexSchedule`
in an IANA time zone. This module converts between the two, exactly, so that every
figure the programmer shows (the 24-hour dose table, the daily total, the alarm
date) is computed by `itb.therapy` on exactly what the pump will run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.telemetry.protocol.commands import (
    ContinuousSpec,
    FlexPeriod,
    FlexSpec,
    FlexStepSpec,
    HardLimitsSpec,
    PatientBolusSpec,
    ProgramSpec,
)
from itb.therapy.flex import (
    MINUTES_PER_DAY,
    FlexSchedule,
    FlexStep,
    constant_schedule,
    volume_delivered_nl,
)
from itb.therapy.units import NL_PER_ML, dose_mcg, to_exact_str

SECONDS_PER_MINUTE = 60


@dataclass(frozen=True)
class HourDose:
    """The drug one local hour of the program delivers (exact), and its mean rate."""

    hour: int  # local hour of the program's day, 0 to 23
    dose_mcg: Fraction

    @property
    def rate_mcg_per_day(self) -> Fraction:
        return self.dose_mcg * 24


def program_schedule(spec: ProgramSpec) -> FlexSchedule | None:
    """The UTC schedule the pump runs, for the therapy rules; None if they cannot model it.

    A continuous program is one constant step. A daily flex program's local steps are
    moved to UTC by its fixed offset (a rotation of the day: each step still lasts until
    the next one starts, so the schedule is the same, exactly). Weekly programs and
    periodic boluses have no `FlexSchedule` form: the caller falls back on the pump's
    own mean flow and says so.
    """
    therapy = spec.therapy
    if isinstance(therapy, ContinuousSpec):
        return constant_schedule(therapy.daily_dose_mcg)
    if therapy.period is not FlexPeriod.DAILY or therapy.periodic_boluses:
        return None
    steps = []
    for step in therapy.steps:
        local_minute = step.start_s // SECONDS_PER_MINUTE
        utc_minute = (local_minute - therapy.utc_offset_minutes) % MINUTES_PER_DAY
        steps.append(FlexStep(time(utc_minute // 60, utc_minute % 60), step.dose_rate_mcg_per_day))
    steps.sort(key=lambda s: s.start)
    return FlexSchedule(tuple(steps), "UTC")


def utc_offset_minutes(spec: ProgramSpec) -> int:
    """The program's local-time offset from UTC (0 for a continuous program)."""
    return spec.therapy.utc_offset_minutes if isinstance(spec.therapy, FlexSpec) else 0


def daily_dose_mcg(spec: ProgramSpec) -> Fraction | None:
    """The program's dose over one nominal day (exact), or None if the therapy rules cannot
    model it (see `program_schedule`)."""
    schedule = program_schedule(spec)
    return None if schedule is None else schedule.total_daily_dose_mcg()


def hourly_doses(spec: ProgramSpec, concentration_mcg_per_ml: Fraction,
                 day: datetime) -> tuple[HourDose, ...] | None:
    """The 24-hour dose table: drug delivered in each local hour of the program's day `day`.

    Computed with `itb.therapy.flex.volume_delivered_nl` on the UTC schedule the pump
    runs, so the hours add up exactly to the daily total.
    """
    schedule = program_schedule(spec)
    if schedule is None:
        return None
    offset = timedelta(minutes=utc_offset_minutes(spec))
    local_midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    rows = []
    for hour in range(24):
        start = local_midnight + timedelta(hours=hour) - offset
        volume = volume_delivered_nl(schedule, concentration_mcg_per_ml, start,
                                     start + timedelta(hours=1))
        rows.append(HourDose(hour, dose_mcg(volume, concentration_mcg_per_ml)))
    return tuple(rows)


def local_day(spec: ProgramSpec, instant: datetime) -> datetime:
    """The program's local date at `instant` (as a UTC-tagged midnight, for `hourly_doses`)."""
    local = instant.astimezone(UTC) + timedelta(minutes=utc_offset_minutes(spec))
    return datetime(local.year, local.month, local.day, tzinfo=UTC)


# ---- building the program the clinician asks for ----------------------------------------------


def continuous_program(daily_dose: Fraction, limits: HardLimitsSpec,
                       patient_bolus: PatientBolusSpec | None) -> ProgramSpec:
    """A simple continuous program at `daily_dose` mcg/day with the given limits."""
    if not isinstance(daily_dose, Fraction) or daily_dose <= 0:
        raise InvalidInput("daily dose", daily_dose, "more than 0 mcg/day")
    return ProgramSpec(ContinuousSpec(daily_dose), limits, patient_bolus)


def offset_at(schedule: FlexSchedule, instant: datetime) -> int:
    """The schedule's time-zone offset from UTC at `instant`, in whole minutes."""
    offset = instant.astimezone(schedule.zone).utcoffset()
    assert offset is not None
    seconds = int(offset.total_seconds())
    if seconds % SECONDS_PER_MINUTE:
        raise InvalidInput("timezone", schedule.timezone,
                           "a time zone whose offset from UTC is in whole minutes")
    return seconds // SECONDS_PER_MINUTE


def flex_program(schedule: FlexSchedule, at: datetime, limits: HardLimitsSpec,
                 patient_bolus: PatientBolusSpec | None) -> ProgramSpec:
    """The pump form of a daily flex schedule, at the schedule's UTC offset at `at`.

    The pump clock has no daylight-saving rules, so the offset in force at `at` is fixed
    into the program; the clinician reprograms after a clock change (the preview says so).
    """
    steps = tuple(
        FlexStepSpec(_minute_of_day(step.start) * SECONDS_PER_MINUTE,
                     schedule.step_minutes(index) * SECONDS_PER_MINUTE, step.dose_mcg_per_day)
        for index, step in enumerate(schedule.steps))
    return ProgramSpec(FlexSpec(steps, FlexPeriod.DAILY, offset_at(schedule, at)), limits,
                       patient_bolus)


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


# ---- text and JSON forms ---------------------------------------------------------------------


def offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def describe_program(spec: ProgramSpec) -> str:
    """One line for people: the therapy kind and its steps."""
    therapy = spec.therapy
    if isinstance(therapy, ContinuousSpec):
        return f"simple continuous, {to_exact_str(therapy.daily_dose_mcg)} mcg/day"
    steps = ", ".join(f"{hhmm(s.start_s)} {to_exact_str(s.dose_rate_mcg_per_day)} mcg/day"
                      for s in therapy.steps)
    extra = f", {len(therapy.periodic_boluses)} periodic boluses" \
        if therapy.periodic_boluses else ""
    return (f"flex ({therapy.period.value}, local time {offset_text(therapy.utc_offset_minutes)}):"
            f" {steps}{extra}")


def program_to_json(spec: ProgramSpec) -> dict[str, Any]:
    """Exact JSON form (every quantity an exact string, as `itb calc --json`)."""
    therapy = spec.therapy
    if isinstance(therapy, ContinuousSpec):
        body: dict[str, Any] = {"type": "continuous",
                                "daily_dose_mcg": to_exact_str(therapy.daily_dose_mcg)}
    else:
        body = {"type": "flex", "period": therapy.period.value,
                "utc_offset_minutes": therapy.utc_offset_minutes,
                "steps": [{"start": hhmm(s.start_s), "duration_s": s.duration_s,
                           "dose_mcg_per_day": to_exact_str(s.dose_rate_mcg_per_day)}
                          for s in therapy.steps],
                "periodic_boluses": [{"start": hhmm(b.start_s),
                                      "dose_mcg": to_exact_str(b.dose_mcg),
                                      "duration_s": b.duration_s}
                                     for b in therapy.periodic_boluses]}
    patient = spec.patient_bolus
    return {
        "therapy": body,
        "limits": {"max_daily_dose_mcg": to_exact_str(spec.limits.max_daily_dose_mcg),
                   "max_bolus_mcg": to_exact_str(spec.limits.max_bolus_mcg)},
        "patient_bolus": None if patient is None else {
            "dose_mcg": to_exact_str(patient.dose_mcg), "lockout_s": patient.lockout_s,
            "max_per_24h": patient.max_per_24h},
    }


def flow_ml_per_day(mean_flow_nl_per_day: Fraction) -> Fraction:
    return Fraction(mean_flow_nl_per_day) / NL_PER_ML


def mean_daily_dose_from_flow(mean_flow_nl_per_day: Fraction,
                              concentration_mcg_per_ml: Fraction) -> Fraction:
    """Daily dose from the pump's programmed mean flow (for programs the rules cannot model)."""
    return dose_mcg(Fraction(mean_flow_nl_per_day), concentration_mcg_per_ml)
