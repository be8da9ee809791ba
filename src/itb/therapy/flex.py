"""Flex schedules: a daily pattern of dose rates in the patient's local time.

A flex schedule is a list of steps, each with a local start time ("HH:MM") and a
dose rate in mcg/day (the rate the pump runs at while that step lasts). A step
lasts until the next step starts; the last step runs on past midnight until the
first step of the next day. The schedule states its IANA time zone because it
follows the patient's clock, while itb's instants are UTC.

Daylight-saving time is handled exactly, not averaged: a local day may last 23 or
25 real hours, and the steps are converted to UTC instants one by one. Policy:
- a step start that does not exist locally (the clock jumps forward over it)
  begins at the instant of the jump;
- a step start that happens twice (the clock goes back) begins at its first
  occurrence.

The TOML file format (parsed by `parse_flex_toml`, which the pump reuses):

    timezone = "Europe/Paris"      # IANA name; "UTC" for none

    [[steps]]
    start = "07:00"                # local time, HH:MM, 24-hour clock
    dose_mcg_per_day = 400         # integer, or a decimal string such as "412.5"

    [[steps]]
    start = "22:00"
    dose_mcg_per_day = "250"

Floats (`412.5` without quotes) are refused: TOML floats are binary. Steps must be
in time order with distinct starts; a step starting at or before the previous one
overlaps it and is refused, naming the step.

This is itb's one flex file format, for `itb calc`, `itb programmer program` and
`itb pump simulate` alike. Two optional keys are pump-program extensions that only
`itb pump simulate` runs: `period = "weekly"` (step starts such as "mon 06:00") and
`[[periodic_bolus]]` tables. The therapy calculators plan daily schedules only, so
`parse_flex_toml` refuses them by name rather than ignore drug the pump would give
(`period = "daily"` is accepted: it is what a schedule without the key means). The
whole format, extensions included, is documented in docs/therapy.md ("Flex file").
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from itb.errors import InvalidInput
from itb.therapy.errors import FlexScheduleError
from itb.therapy.units import (
    NL_PER_ML,
    SECONDS_PER_DAY,
    ExactLike,
    display,
    exact,
    require_utc,
)

MINUTES_PER_DAY = 24 * 60
# How far ahead delivery is walked (not a clinical figure): a century is far beyond any
# reservoir or battery, and it bounds the work and keeps instants inside datetime's range.
MAX_DELIVERY_DAYS = 36_525
FLEX_FILE_KEYS = ("timezone", "steps")
# Keys only the pump program runs (itb pump simulate); see the module doc.
PUMP_EXTENSION_KEYS = ("period", "periodic_bolus")
FLEX_PERIODS = ("daily", "weekly")
_FIXED_OFFSET_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "GMT", "Etc/GMT",
                                 "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})


@dataclass(frozen=True)
class FlexStep:
    """One step: from `start` (local time of day) the pump runs at `dose_mcg_per_day`."""

    start: time
    dose_mcg_per_day: Fraction


@dataclass(frozen=True)
class FlexSchedule:
    """A validated daily flex schedule (steps sorted by start time, distinct starts)."""

    steps: tuple[FlexStep, ...]
    timezone: str

    def __post_init__(self) -> None:
        source = "flex schedule"
        if not self.steps:
            raise FlexScheduleError(source, "steps", "none", "at least one step")
        zone_of(self.timezone, source)
        previous: time | None = None
        for index, step in enumerate(self.steps):
            key = f"steps[{index}]"
            if step.start.second or step.start.microsecond or step.start.tzinfo is not None:
                raise FlexScheduleError(source, key + ".start", step.start,
                                        "a local time in whole minutes, HH:MM")
            if previous is not None and step.start <= previous:
                raise FlexScheduleError(source, key + ".start", step.start.strftime("%H:%M"),
                                        f"later than {previous.strftime('%H:%M')}",
                                        overlap_reason(index))
            if not isinstance(step.dose_mcg_per_day, Fraction) or step.dose_mcg_per_day <= 0:
                raise FlexScheduleError(source, key + ".dose_mcg_per_day", step.dose_mcg_per_day,
                                        "an exact dose rate of more than 0 mcg/day",
                                        "a pump step never stops the drug")
            previous = step.start

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone, "flex schedule")

    def step_minutes(self, index: int) -> int:
        """Nominal length of step `index` in minutes of local clock time."""
        start = _minute_of_day(self.steps[index].start)
        if index + 1 < len(self.steps):
            end = _minute_of_day(self.steps[index + 1].start)
        else:
            end = _minute_of_day(self.steps[0].start) + MINUTES_PER_DAY
        return end - start

    def total_daily_dose_mcg(self) -> Fraction:
        """Dose over a nominal 24-hour local day: the sum of rate x step length."""
        return sum((step.dose_mcg_per_day * self.step_minutes(i) / MINUTES_PER_DAY
                    for i, step in enumerate(self.steps)), Fraction(0))

    def max_dose_mcg_per_day(self) -> Fraction:
        return max(step.dose_mcg_per_day for step in self.steps)


def overlap_reason(index: int) -> str:
    """Why a step starting at or before the previous one is refused."""
    return (f"steps[{index}] overlaps steps[{index - 1}]: a step runs until the next one "
            "starts, so starts must be in time order and distinct")


def zone_of(name: str, source: str = "flex schedule") -> ZoneInfo:
    """The ZoneInfo for an IANA name, or FlexScheduleError naming the source."""
    if not isinstance(name, str) or not name:
        raise FlexScheduleError(source, "timezone", name, "an IANA time zone name such as UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FlexScheduleError(source, "timezone", name,
                                "an IANA time zone name such as UTC or Europe/Paris") from None


def constant_schedule(dose_mcg_per_day: ExactLike) -> FlexSchedule:
    """A simple continuous program as a one-step schedule (UTC, step at 00:00)."""
    dose = exact("daily_dose_mcg", dose_mcg_per_day)
    if dose <= 0:
        raise InvalidInput("daily_dose_mcg", display(dose), "more than 0 mcg/day")
    return FlexSchedule((FlexStep(time(0, 0), dose),), "UTC")


def parse_start(text: Any, source: str, key: str) -> time:
    """A local "HH:MM" start time (24-hour clock) as a `time`."""
    if isinstance(text, time) and not text.second and not text.microsecond:
        return text
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":" \
            or not (text[:2] + text[3:]).isdigit():
        raise FlexScheduleError(source, key, text, 'a time "HH:MM" such as "07:30"')
    hour, minute = int(text[:2]), int(text[3:])
    if hour > 23 or minute > 59:
        raise FlexScheduleError(source, key, text, 'a time from "00:00" to "23:59"')
    return time(hour, minute)


def parse_dose_rate(value: Any, source: str, key: str) -> Fraction:
    """A step's dose rate: an integer or a decimal string, more than 0 mcg/day."""
    if isinstance(value, (bool, float)):
        raise FlexScheduleError(source, key, value,
                                'an integer or a decimal string such as "412.5"',
                                "binary floats are not exact")
    try:
        dose = exact(key, value)
    except InvalidInput:
        raise FlexScheduleError(source, key, value,
                                'an integer or a decimal string such as "412.5"') from None
    if dose <= 0:
        raise FlexScheduleError(source, key, value, "more than 0 mcg/day")
    return dose


def make_schedule(steps: Iterable[tuple[Any, Any]], timezone: str,
                  source: str = "flex schedule") -> FlexSchedule:
    """A schedule from (start "HH:MM", dose_mcg_per_day) pairs, validated with clear errors."""
    zone_of(timezone, source)
    parsed: list[FlexStep] = []
    for index, (start, dose) in enumerate(steps):
        key = f"steps[{index}]"
        parsed.append(FlexStep(parse_start(start, source, key + ".start"),
                               parse_dose_rate(dose, source, key + ".dose_mcg_per_day")))
    if not parsed:
        raise FlexScheduleError(source, "steps", "none", "at least one step")
    for index in range(1, len(parsed)):
        if parsed[index].start <= parsed[index - 1].start:
            raise FlexScheduleError(source, f"steps[{index}].start",
                                    parsed[index].start.strftime("%H:%M"),
                                    f"later than {parsed[index - 1].start.strftime('%H:%M')}",
                                    overlap_reason(index))
    return FlexSchedule(tuple(parsed), timezone)


def read_flex_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML document of a flex file, or FlexScheduleError naming the file."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FlexScheduleError(source, "(file)", "not valid TOML", "a TOML document",
                                str(exc)) from None


def flex_file_steps(data: dict[str, Any], source: str, *,
                    pump_extensions: bool = False) -> list[tuple[Any, Any]]:
    """Check a parsed flex file's keys; its raw (start, dose_mcg_per_day) step pairs.

    With `pump_extensions` the pump-program keys (`period`, `periodic_bolus`) are let
    through for the caller (the pump) to read; without it they are refused by name.
    """
    unknown = sorted(set(data) - set(FLEX_FILE_KEYS) - set(PUMP_EXTENSION_KEYS))
    if unknown:
        raise FlexScheduleError(source, unknown[0], data[unknown[0]],
                                "only the keys timezone and steps (and the pump-program "
                                "extensions period and periodic_bolus)")
    period = data.get("period", "daily")
    if period not in FLEX_PERIODS:
        raise FlexScheduleError(source, "period", period, '"daily" or "weekly"')
    if not pump_extensions:
        if period != "daily":
            raise FlexScheduleError(source, "period", period, '"daily" (or no period key)',
                                    "a weekly schedule is a pump-program extension that only "
                                    "itb pump simulate runs; this calculation plans daily "
                                    "schedules only")
        if "periodic_bolus" in data:
            raise FlexScheduleError(source, "periodic_bolus", "present",
                                    "no [[periodic_bolus]] tables",
                                    "periodic boluses are a pump-program extension that only "
                                    "itb pump simulate runs; this calculation would leave "
                                    "their drug out")
    if "timezone" not in data:
        raise FlexScheduleError(source, "timezone", "missing", "an IANA time zone name such as UTC")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise FlexScheduleError(source, "steps", "missing" if raw_steps is None else raw_steps,
                                "one or more [[steps]] tables")
    pairs: list[tuple[Any, Any]] = []
    for index, raw in enumerate(raw_steps):
        key = f"steps[{index}]"
        if not isinstance(raw, dict):
            raise FlexScheduleError(source, key, raw, "a [[steps]] table")
        extra = sorted(set(raw) - {"start", "dose_mcg_per_day"})
        if extra:
            raise FlexScheduleError(source, f"{key}.{extra[0]}", raw[extra[0]],
                                    "only the keys start and dose_mcg_per_day")
        for needed in ("start", "dose_mcg_per_day"):
            if needed not in raw:
                raise FlexScheduleError(source, f"{key}.{needed}", "missing", "a value")
        pairs.append((raw["start"], raw["dose_mcg_per_day"]))
    return pairs


def schedule_from_flex_data(data: dict[str, Any], source: str) -> FlexSchedule:
    """The daily schedule of a parsed flex file; refuses the pump-program extensions."""
    return make_schedule(flex_file_steps(data, source), data["timezone"], source)


def parse_flex_toml(text: str, source: str) -> FlexSchedule:
    """Parse the flex TOML format (see module doc). `source` names the file in errors."""
    return schedule_from_flex_data(read_flex_toml(text, source), source)


def flex_from_pattern(total_daily_dose_mcg: ExactLike, pattern: Sequence[tuple[Any, ExactLike]],
                      timezone: str) -> FlexSchedule:
    """Step rates from a target daily pattern: each step gets a share of the daily dose.

    `pattern` is (start "HH:MM", share) with exact shares summing to 1; a step's rate
    is share x total / (its length / 24 h), so the day delivers exactly the total.
    """
    total = exact("total_daily_dose_mcg", total_daily_dose_mcg)
    if total <= 0:
        raise InvalidInput("total_daily_dose_mcg", display(total), "more than 0 mcg/day")
    shares = [exact(f"pattern[{i}].share", share) for i, (_, share) in enumerate(pattern)]
    for i, share in enumerate(shares):
        if share <= 0:
            raise InvalidInput(f"pattern[{i}].share", display(share), "more than 0")
    if sum(shares, Fraction(0)) != 1:
        raise InvalidInput("pattern shares", display(sum(shares, Fraction(0)), 9),
                           "shares that add up to exactly 1")
    return flex_from_step_doses([(start, share * total) for (start, _), share
                                 in zip(pattern, shares, strict=True)], timezone)


def flex_from_step_doses(pattern: Sequence[tuple[Any, ExactLike]], timezone: str) -> FlexSchedule:
    """Step rates from the dose each step should deliver (mcg over the step)."""
    source = "flex pattern"
    starts = [parse_start(start, source, f"pattern[{i}].start") for i, (start, _) in
              enumerate(pattern)]
    if not starts:
        raise FlexScheduleError(source, "pattern", "none", "at least one step")
    # Lengths come from a provisional schedule so the wrap-around rule is the same.
    provisional = make_schedule([(s.strftime("%H:%M"), 1) for s in starts], timezone, source)
    steps = []
    for i, (_, dose) in enumerate(pattern):
        dose_mcg = exact(f"pattern[{i}].dose_mcg", dose)
        if dose_mcg <= 0:
            raise InvalidInput(f"pattern[{i}].dose_mcg", display(dose_mcg), "more than 0 mcg")
        rate = dose_mcg * MINUTES_PER_DAY / provisional.step_minutes(i)
        steps.append(FlexStep(starts[i], rate))
    return FlexSchedule(tuple(steps), timezone)


# --- Delivery in real (UTC) time -----------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A stretch of real time during which one step's rate applies."""

    start: datetime
    end: datetime
    dose_mcg_per_day: Fraction


def local_to_utc(naive_local: datetime, zone: ZoneInfo) -> datetime:
    """UTC instant of a local wall time, by the module's DST policy."""
    early = naive_local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = naive_local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if early == late:
        return early
    low, high = min(early, late), max(early, late)
    if low.astimezone(zone).replace(tzinfo=None) == naive_local:
        return low  # happens twice: the first occurrence
    # Does not exist: find the jump instant between the two readings (whole seconds).
    offset_before = low.astimezone(zone).utcoffset()
    lo, hi = 0, int((high - low).total_seconds())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if (low + timedelta(seconds=mid)).astimezone(zone).utcoffset() == offset_before:
            lo = mid
        else:
            hi = mid
    return low + timedelta(seconds=hi)


def _minute_of_day(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _seconds(delta: timedelta) -> Fraction:
    return Fraction(delta.days * SECONDS_PER_DAY + delta.seconds) + Fraction(delta.microseconds,
                                                                             1_000_000)


def _day_boundaries(schedule: FlexSchedule, day: date) -> list[datetime]:
    """UTC starts of each step on local `day`, plus the first step of the next day."""
    zone = schedule.zone
    out = [local_to_utc(datetime.combine(day, step.start), zone) for step in schedule.steps]
    out.append(local_to_utc(datetime.combine(day + timedelta(days=1), schedule.steps[0].start),
                            zone))
    return out


def _first_day(schedule: FlexSchedule, start: datetime) -> date:
    day = start.astimezone(schedule.zone).date()
    if start < _day_boundaries(schedule, day)[0]:
        day -= timedelta(days=1)
    return day


def segments(schedule: FlexSchedule, start: datetime) -> Iterator[Segment]:
    """The endless sequence of rate segments from `start` (UTC) on."""
    require_utc("start", start)
    day = _first_day(schedule, start)
    while True:
        bounds = _day_boundaries(schedule, day)
        for index, step in enumerate(schedule.steps):
            seg_start, seg_end = max(bounds[index], start), bounds[index + 1]
            if seg_end > seg_start:
                yield Segment(seg_start, seg_end, step.dose_mcg_per_day)
        day += timedelta(days=1)


def _rate_nl_per_s(dose_mcg_per_day: Fraction, concentration_mcg_per_ml: Fraction) -> Fraction:
    return dose_mcg_per_day * NL_PER_ML / concentration_mcg_per_ml / SECONDS_PER_DAY


def _check_concentration(concentration_mcg_per_ml: Fraction) -> None:
    if not isinstance(concentration_mcg_per_ml, Fraction) or concentration_mcg_per_ml <= 0:
        raise InvalidInput("concentration_mcg_per_ml", concentration_mcg_per_ml,
                           "an exact concentration of more than 0 mcg/mL")


def volume_delivered_nl(schedule: FlexSchedule, concentration_mcg_per_ml: Fraction,
                        start: datetime, end: datetime) -> Fraction:
    """Exact nanolitres the schedule delivers between two UTC instants."""
    _check_concentration(concentration_mcg_per_ml)
    require_utc("end", end)
    if end < start:
        raise InvalidInput("end", end.isoformat(), f"not before start {start.isoformat()}")
    total = Fraction(0)
    for seg in segments(schedule, start):
        if seg.start >= end:
            break
        stop = min(seg.end, end)
        total += _seconds(stop - seg.start) * _rate_nl_per_s(seg.dose_mcg_per_day,
                                                             concentration_mcg_per_ml)
    return total


def seconds_to_deliver(schedule: FlexSchedule, concentration_mcg_per_ml: Fraction,
                       start: datetime, volume_nl: int | Fraction) -> Fraction:
    """Exact seconds after `start` (UTC) at which the schedule has delivered `volume_nl`.

    Walks the real rate segments (so a night step at a lower rate really lasts
    longer in volume terms); whole local days are consumed at once where possible.
    """
    _check_concentration(concentration_mcg_per_ml)
    require_utc("start", start)
    remaining = Fraction(volume_nl)
    if remaining < 0:
        raise InvalidInput("volume_nl", display(remaining), "0 nL or more")
    if remaining == 0:
        return Fraction(0)
    require_room_for_horizon("start", start)
    conc = concentration_mcg_per_ml
    daily_nl = schedule.total_daily_dose_mcg() * NL_PER_ML / conc
    if remaining > daily_nl * MAX_DELIVERY_DAYS:
        raise InvalidInput("volume_nl", display(remaining),
                           f"at most what the schedule delivers in {MAX_DELIVERY_DAYS} days "
                           f"({display(daily_nl * MAX_DELIVERY_DAYS)} nL)")
    day = _first_day(schedule, start)
    fixed_offset = schedule.timezone in _FIXED_OFFSET_ZONES
    elapsed = Fraction(0)
    first = True
    while True:
        bounds = _day_boundaries(schedule, day)
        if not first and fixed_offset and remaining > daily_nl:
            # A fixed-offset zone repeats exactly every 86,400 s: skip whole days.
            whole_days = (remaining // daily_nl) - (1 if remaining % daily_nl == 0 else 0)
            remaining -= whole_days * daily_nl
            elapsed += whole_days * SECONDS_PER_DAY
            day += timedelta(days=int(whole_days))
            bounds = _day_boundaries(schedule, day)
        for index, step in enumerate(schedule.steps):
            seg_start, seg_end = max(bounds[index], start), bounds[index + 1]
            if seg_end <= seg_start:
                continue
            length_s = _seconds(seg_end - seg_start)
            rate = _rate_nl_per_s(step.dose_mcg_per_day, conc)
            volume = length_s * rate
            if volume >= remaining:
                return elapsed + remaining / rate
            remaining -= volume
            elapsed += length_s
        first = False
        day += timedelta(days=1)


def require_room_for_horizon(field: str, start: datetime) -> None:
    """Refuse a start so late that walking MAX_DELIVERY_DAYS from it leaves datetime's range."""
    try:  # the walk may look up to the horizon (and a day either side) past `start`
        start + timedelta(days=MAX_DELIVERY_DAYS + 2)
    except OverflowError:
        raise InvalidInput(field, start.isoformat(),
                           f"an instant at least {MAX_DELIVERY_DAYS + 2} days before the end "
                           "of year 9999") from None


def add_seconds(start: datetime, seconds: Fraction) -> datetime:
    """`start` plus exact seconds, floored to the microsecond (datetime's resolution).

    Flooring keeps alarm and empty times on the early, safe side.
    """
    micro = (seconds * 1_000_000).__floor__()
    try:
        return start + timedelta(microseconds=micro)
    except OverflowError:
        raise InvalidInput("time", f"{start.isoformat()} + {display(seconds)} s",
                           "an instant from year 1 to year 9999") from None
