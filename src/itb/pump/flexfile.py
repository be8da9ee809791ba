"""The pump's flex files: itb's one flex format (itb.therapy.flex, docs/therapy.md "Flex
file") as the pump runs it, with its two extensions, period = "weekly" and periodic boluses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itb.pump.programs import FlexStep, FlexTherapy, PeriodicBolus
from itb.therapy.errors import FlexScheduleError
from itb.therapy.flex import (
    flex_file_steps,
    make_schedule,
    overlap_reason,
    parse_dose_rate,
    parse_start,
    read_flex_toml,
    zone_of,
)
from itb.therapy.units import display, in_range

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# A week of one-minute steps is ~10,080 lines of well under 100 bytes; 1 MiB is ample.
MAX_FLEX_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class FlexFile:
    """A flex file as the pump runs it, and the fixed clock offset it was given."""

    therapy: FlexTherapy
    timezone: str
    utc_offset_minutes: int

    def clock_note(self, start: datetime) -> str:
        return (f"flex steps in {self.timezone} local time run at UTC{offset_text(self)}, "
                f"the zone's offset at the start {start:%Y-%m-%d %H:%M} UTC; the pump clock "
                "does not follow daylight saving (re-program at a change)")


def offset_text(flex: FlexFile) -> str:
    sign = "-" if flex.utc_offset_minutes < 0 else "+"
    return f"{sign}{abs(flex.utc_offset_minutes) // 60:02d}:{abs(flex.utc_offset_minutes) % 60:02d}"


def _week_start_s(source: str, key: str, text: object) -> int:
    """Seconds after Monday 00:00 local for a weekly step start such as "mon 06:00"."""
    parts = text.strip().lower().split() if isinstance(text, str) else []
    if len(parts) != 2 or parts[0] not in _DAYS:
        raise FlexScheduleError(source, key, text, 'a day and a time, e.g. "mon 06:00" '
                                '(period = "weekly")')
    moment = parse_start(parts[1], source, key)
    return _DAYS.index(parts[0]) * 86_400 + moment.hour * 3600 + moment.minute * 60


def _flex_steps(data: dict[str, Any], source: str) -> tuple[FlexStep, ...]:
    """Pump steps: each from its start until the next step's start, wrapping at the period."""
    pairs = flex_file_steps(data, source, pump_extensions=True)
    if data.get("period", "daily") == "daily":
        schedule = make_schedule(pairs, data["timezone"], source)
        return tuple(FlexStep((step.start.hour * 60 + step.start.minute) * 60,
                              schedule.step_minutes(i) * 60, step.dose_mcg_per_day)
                     for i, step in enumerate(schedule.steps))
    starts = [_week_start_s(source, f"steps[{i}].start", start)
              for i, (start, _dose) in enumerate(pairs)]
    doses = [parse_dose_rate(dose, source, f"steps[{i}].dose_mcg_per_day")
             for i, (_start, dose) in enumerate(pairs)]
    for i in range(1, len(starts)):
        if starts[i] <= starts[i - 1]:
            raise FlexScheduleError(source, f"steps[{i}].start", pairs[i][0],
                                    f"later than {pairs[i - 1][0]}", overlap_reason(i))
    week_s = 7 * 86_400
    ends = [*starts[1:], starts[0] + week_s]
    return tuple(FlexStep(s, e - s, d) for s, e, d in zip(starts, ends, doses, strict=True))


def _periodic_boluses(data: dict[str, Any], source: str) -> tuple[PeriodicBolus, ...]:
    raw_boluses = data.get("periodic_bolus", [])
    if not isinstance(raw_boluses, list):
        raise FlexScheduleError(source, "periodic_bolus", raw_boluses,
                                "[[periodic_bolus]] tables")
    boluses = []
    for i, raw in enumerate(raw_boluses):
        key = f"periodic_bolus[{i}]"
        if not isinstance(raw, dict):
            raise FlexScheduleError(source, key, raw, "a [[periodic_bolus]] table")
        extra = sorted(set(raw) - {"start", "dose_mcg", "duration_minutes"})
        if extra:
            raise FlexScheduleError(source, f"{key}.{extra[0]}", raw[extra[0]],
                                    "only the keys start, dose_mcg and duration_minutes")
        for needed in ("start", "dose_mcg", "duration_minutes"):
            if needed not in raw:
                raise FlexScheduleError(source, f"{key}.{needed}", "missing", "a value")
        moment = parse_start(raw["start"], source, f"{key}.start")
        # in_range reads integers or decimal strings exactly and refuses TOML floats.
        dose = in_range(f"{source}: {key}.dose_mcg", raw["dose_mcg"], 0, None, "mcg",
                        low_inclusive=False)
        minutes = in_range(f"{source}: {key}.duration_minutes", raw["duration_minutes"], 1, 720,
                           "min")
        if minutes.denominator != 1:
            raise FlexScheduleError(source, f"{key}.duration_minutes", display(minutes),
                                    "whole minutes from 1 to 720")
        boluses.append(PeriodicBolus(moment.hour * 3600 + moment.minute * 60, dose,
                                     int(minutes) * 60))
    return tuple(boluses)


def load_flex(path: Path, start: datetime) -> FlexFile:
    """The pump program of a flex file (docs/therapy.md "Flex file").

    The pump clock keeps a fixed UTC offset (docs/pump.md), so the file's IANA zone is
    taken at its offset at `start`, the simulation start.
    """
    source = str(path)
    try:
        # Read one byte past the bound, so /dev/zero or a huge file is refused, not read.
        with path.open("rb") as handle:
            raw = handle.read(MAX_FLEX_FILE_BYTES + 1)
    except OSError as error:
        raise FlexScheduleError(source, "(file)", "unreadable", "a readable TOML file",
                                error.strerror) from None
    if len(raw) > MAX_FLEX_FILE_BYTES:
        raise FlexScheduleError(source, "(file)", f"more than {MAX_FLEX_FILE_BYTES} bytes",
                                f"a TOML file of at most {MAX_FLEX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FlexScheduleError(source, "(file)", f"byte {error.start} is not UTF-8",
                                "a UTF-8 TOML text file") from None
    data = read_flex_toml(text, source)
    steps = _flex_steps(data, source)
    zone = zone_of(data["timezone"], source)
    offset = start.astimezone(zone).utcoffset() or timedelta(0)
    if offset % timedelta(minutes=1):
        raise FlexScheduleError(source, "timezone", data["timezone"],
                                "a zone whose offset is whole minutes at the start")
    minutes = int(offset // timedelta(minutes=1))
    therapy = FlexTherapy(steps, data.get("period", "daily"), minutes,
                          _periodic_boluses(data, source))
    return FlexFile(therapy, data["timezone"], minutes)
