"""Scenario files: the TOML format, its validation, and the validated `Scenario`.

A scenario names the patient, the pump and its implant, an optional screening trial
and a timeline of clinical acts and faults (docs/sim.md lists every key). Parsing is
pure: `parse_scenario(text, source)` takes the file's text and a name for messages.
Every refusal is a `ScenarioError` naming the file, the line where it can be found,
the key and the reason, and it is raised before anything runs.

Numbers that are doses or volumes are exact: TOML floats are read as decimals (never
through binary floats) and become `Fraction`s; physiological patient parameters may be
plain floats (they are model parameters, not doses).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from itb.errors import InvalidInput, ItbError
from itb.physiology.symptoms import symptom
from itb.pump.catalogue import MODELS
from itb.therapy.flex import zone_of
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY, exact

MAX_DURATION_DAYS = 3653  # ten years: beyond any pump's service life (devices.md: 7 years)
# The pump counts UTC seconds from 1970; a scenario (and any pump history before it, at most
# a pump's 7-year life) ends well before year 9999, where datetimes end.
EARLIEST_START = datetime(1980, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9000, 1, 1, tzinfo=UTC)


class ScenarioError(ItbError):
    """A scenario file is malformed or asks for something not allowed.

    `problems` holds (line or None, key, reason) for every problem found.
    """

    def __init__(self, source: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [_problem_text(source, line, key, reason) for line, key, reason in problems]
        super().__init__("\n".join(lines))

    @property
    def first_line(self) -> int | None:
        return self.problems[0][0] if self.problems else None


def _problem_text(source: str, line: int | None, key: str, reason: str) -> str:
    where = f"{source}:{line}" if line is not None else source
    return f"{where}: {key}: {reason}" if key else f"{where}: {reason}"


# ---------------------------------------------------------------------- exact values
def _exact(value: Any) -> Fraction:
    if isinstance(value, (bool, float)):
        raise ValueError("must be an exact number (an integer or decimal, e.g. 500 or \"0.6\")")
    try:
        return exact("value", value)
    except InvalidInput:
        raise ValueError("must be a number such as 500, 0.6 or \"0.6\"") from None


Exact = Annotated[Fraction, BeforeValidator(_exact)]


def _utc_time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be a date-time such as 2026-01-05T08:00:00Z") from None
    if not isinstance(value, datetime):
        raise ValueError("must be a date-time with a UTC offset, such as 2026-01-05T08:00:00Z")
    if value.tzinfo is None:
        raise ValueError("must state its UTC offset (Z or +01:00): a local time is ambiguous")
    if value.microsecond:
        raise ValueError("must be in whole seconds")
    return value.astimezone(UTC)


UtcTime = Annotated[datetime, BeforeValidator(_utc_time)]


def _float(value: Any) -> float:
    """Physiological model parameters are floats; decimals from TOML are converted here."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    return float(value)


ModelFloat = Annotated[float, BeforeValidator(_float)]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")


def _ml_to_nl(volume_ml: Fraction) -> int:
    nl = volume_ml * NL_PER_ML
    if nl.denominator != 1:
        raise ValueError("must be a volume in whole nanolitres (at most 6 decimals of mL)")
    return int(nl)


def _volume(value: Fraction) -> Fraction:
    if value < 0:
        raise ValueError("must be a volume of 0 mL or more")
    _ml_to_nl(value)
    return value


# A volume in mL that the pump can take exactly: whole nanolitres, never negative.
VolumeMl = Annotated[Fraction, BeforeValidator(_exact), AfterValidator(_volume)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


# ---------------------------------------------------------------------- sections
class ScenarioInfo(_Model):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    start: UtcTime
    duration_days: Exact

    @field_validator("start")
    @classmethod
    def _start(cls, value: datetime) -> datetime:
        if not EARLIEST_START <= value <= LATEST_START:
            raise ValueError(f"must be from {EARLIEST_START:%Y-%m-%d} to {LATEST_START:%Y-%m-%d} "
                             "(the pump clock counts seconds from 1970; the scenario must end "
                             "before year 9999)")
        return value

    @field_validator("duration_days")
    @classmethod
    def _duration(cls, value: Fraction) -> Fraction:
        if not 0 < value <= MAX_DURATION_DAYS:
            raise ValueError(f"must be more than 0 and at most {MAX_DURATION_DAYS} days")
        if (value * SECONDS_PER_DAY).denominator != 1:
            raise ValueError("must be a whole number of seconds")
        return value


class KineticsParameters(_Model):
    """Overrides of `itb.physiology.CsfKinetics` (floats: physiological parameters)."""

    clearance_ml_per_h: ModelFloat | None = None
    half_life_h: ModelFloat | None = None
    lumbar_to_cisternal_ratio: ModelFloat | None = None
    effect_site_rate_per_h: ModelFloat | None = None
    weight_kg: ModelFloat | None = None
    dependence_time_constant_h: ModelFloat | None = None
    renal_function: ModelFloat | None = None  # 1 normal kidneys, less when impaired


class ResponseParameters(_Model):
    """Overrides of `itb.physiology.response.SpasticityResponse`."""

    baseline_ashworth: ModelFloat | None = None
    baseline_spasms_per_hour: ModelFloat | None = None
    ec50_initial_mcg_per_ml: ModelFloat | None = None
    hill: ModelFloat | None = None
    max_effect: ModelFloat | None = None
    tolerance_multiplier: ModelFloat | None = None
    tolerance_time_constant_days: ModelFloat | None = None
    refractory_after_days: ModelFloat | None = None


class PatientSection(_Model):
    origin: Literal["spinal", "cerebral", "child"] = "spinal"
    # A population draw: the `draw`-th patient (0 = first) of Population(population_seed).
    population_seed: int | None = Field(default=None, ge=0)
    draw: int = Field(default=0, ge=0, le=999)  # each draw costs ~2 ms
    # An established patient: on the first program's dose, at steady state, this long.
    days_on_therapy: Exact | None = None
    age_years: Exact | None = None
    kinetics: KineticsParameters = KineticsParameters()
    response: ResponseParameters = ResponseParameters()

    @field_validator("days_on_therapy")
    @classmethod
    def _days(cls, value: Fraction | None) -> Fraction | None:
        if value is not None and not 0 <= value <= 36_500:
            raise ValueError("must be 0 to 36500 days")
        return value

    @field_validator("age_years")
    @classmethod
    def _age(cls, value: Fraction | None) -> Fraction | None:
        if value is not None and not 0 <= value <= 130:
            raise ValueError("must be 0 to 130 years")
        return value

    @model_validator(mode="after")
    def _draw_or_explicit(self) -> PatientSection:
        explicit = self.kinetics.model_dump(exclude_none=True) or \
            self.response.model_dump(exclude_none=True)
        if self.population_seed is not None and explicit:
            raise ValueError("give either population_seed (a population draw) or explicit "
                             "[patient.kinetics]/[patient.response] parameters, not both")
        return self


class PumpSection(_Model):
    model: str = "synchromed-ii-20"
    seed: int = Field(default=0, ge=0)
    serial: str = Field(default="SIM-1", min_length=1, max_length=64)
    low_reservoir_alarm_ml: VolumeMl | None = None

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if value not in MODELS:
            raise ValueError("must be one of: " + ", ".join(sorted(MODELS)))
        return value


class ImplantSection(_Model):
    date: UtcTime
    fill_ml: VolumeMl | None = None  # default: the reservoir's capacity
    concentration_mcg_per_ml: Exact
    catheter_volume_ml: VolumeMl = Fraction(11, 100)  # pump default 0.11 mL (unconfirmed)
    prime: bool = True

    @field_validator("concentration_mcg_per_ml")
    @classmethod
    def _conc(cls, value: Fraction) -> Fraction:
        if not 0 < value <= 100_000:
            raise ValueError("must be more than 0 and at most 100000 mcg/mL")
        return value

    @field_validator("catheter_volume_ml")
    @classmethod
    def _catheter(cls, value: Fraction) -> Fraction:
        if not 0 <= value <= 1:
            raise ValueError("must be 0 to 1 mL")
        _ml_to_nl(value)
        return value


class ScreeningSection(_Model):
    """The screening trial: boluses by the labeled protocol, the patient's response simulated."""

    start: UtcTime
    # Doses to give, in order; default: follow the protocol (50, then 75, then 100 mcg, each
    # only if the previous response was inadequate).
    doses_mcg: list[Exact] | None = None
    observe_h: Exact = Fraction(8)
    injection_s: int = Field(default=60, ge=1, le=3600)

    @field_validator("doses_mcg")
    @classmethod
    def _doses(cls, value: list[Fraction] | None) -> list[Fraction] | None:
        if value is None:
            return None
        protocol = [Fraction(50), Fraction(75), Fraction(100)]
        if not value or value != protocol[:len(value)]:
            raise ValueError("must follow the labeled protocol: [50], [50, 75] or "
                             "[50, 75, 100] mcg")
        return value

    @field_validator("observe_h")
    @classmethod
    def _observe(cls, value: Fraction) -> Fraction:
        # Label: observe for 4 to 8 hours; longer is allowed (the initial dose needs to
        # know whether the effect lasted more than 8 h).
        if not 4 <= value <= 24:
            raise ValueError("must be 4 to 24 hours (the label observes 4 to 8 hours)")
        return value


class FlexStepSpec(_Model):
    start: str
    dose_mcg_per_day: Exact

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError("must be a local time HH:MM (24-hour clock)")
        return value

    @property
    def start_s(self) -> int:
        hh, mm = self.start.split(":")
        return int(hh) * 3600 + int(mm) * 60


class ProgramSpec(_Model):
    """A program as the clinician enters it: simple continuous or a daily flex schedule."""

    type: Literal["simple", "flex"] = "simple"
    daily_dose_mcg: Exact | None = None
    steps: list[FlexStepSpec] | None = None
    # The flex clock: an IANA zone (the canonical flex key, as in itb.therapy's flex files),
    # whose UTC offset is taken when the program is entered, or a fixed offset; not both.
    timezone: str | None = None
    utc_offset: str | None = None
    max_daily_dose_mcg: Exact | None = None  # default: see docs/sim.md
    max_bolus_mcg: Exact = Fraction(100)

    @field_validator("utc_offset")
    @classmethod
    def _offset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        m = _OFFSET.match(value)
        if not m or int(m.group(2)) > 14 or int(m.group(3)) > 59:
            raise ValueError('must be a UTC offset such as "+01:00" or "-05:00"')
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone_of(value, "program")
            except InvalidInput:
                raise ValueError("must be an IANA time zone name such as UTC or "
                                 "Europe/Paris") from None
        return value

    def utc_offset_minutes_at(self, entered_s: int) -> int:
        """The flex clock's offset when the program is entered: the pump clock does not
        follow daylight saving, so a zone's offset at that moment holds until reprogrammed."""
        if self.utc_offset is not None:
            m = _OFFSET.match(self.utc_offset)
            assert m is not None
            minutes = int(m.group(2)) * 60 + int(m.group(3))
            return minutes if m.group(1) == "+" else -minutes
        if self.timezone is not None:
            moment = datetime.fromtimestamp(entered_s, tz=zone_of(self.timezone, "program"))
            offset = moment.utcoffset()
            assert offset is not None
            return int(offset.total_seconds()) // 60
        return 0

    @model_validator(mode="after")
    def _shape(self) -> ProgramSpec:
        if self.timezone is not None and self.utc_offset is not None:
            raise ValueError("give the flex clock as timezone or as utc_offset, not both")
        if self.type == "simple":
            if self.daily_dose_mcg is None or self.steps is not None:
                raise ValueError("a simple program needs daily_dose_mcg and no steps")
            if self.daily_dose_mcg <= 0:
                raise ValueError("daily_dose_mcg must be more than 0")
        else:
            if not self.steps or self.daily_dose_mcg is not None:
                raise ValueError("a flex program needs steps (and no daily_dose_mcg)")
            starts = [s.start for s in self.steps]
            for i in range(1, len(starts)):  # "HH:MM" text sorts as time
                if starts[i] <= starts[i - 1]:
                    # The same words as itb.therapy.flex's refusal (one flex format).
                    raise ValueError(f"steps[{i}] (start {starts[i]}) overlaps steps[{i - 1}] "
                                     f"(start {starts[i - 1]}): a step runs until the next one "
                                     "starts, so starts must be in time order and distinct")
            if any(s.dose_mcg_per_day <= 0 for s in self.steps):
                raise ValueError("every flex step needs a dose rate of more than 0 mcg/day")
        return self


# ---------------------------------------------------------------------- timeline
class _Event(_Model):
    day: Exact | None = None
    at: UtcTime | None = None
    note: str = ""

    @model_validator(mode="after")
    def _when(self) -> _Event:
        if (self.day is None) == (self.at is None):
            raise ValueError("give exactly one of day (days after the scenario start) or at "
                             "(a date-time)")
        if self.day is not None:
            if self.day < 0:
                raise ValueError("day must be 0 or more")
            if (self.day * SECONDS_PER_DAY).denominator != 1:
                raise ValueError("day must come to a whole number of seconds")
        return self


class ProgramEvent(_Event):
    event: Literal["program"]
    program: ProgramSpec
    phase: Literal["titration", "maintenance"] = "titration"
    titration_check: bool = True
    override_reason: str | None = None


class RefillEvent(_Event):
    event: Literal["refill"]
    fill_ml: VolumeMl | None = None  # default: the reservoir's capacity
    concentration_mcg_per_ml: Exact | None = None  # default: the concentration in use
    bridge_bolus: bool = False
    error: Literal["none", "pocket_fill", "wrong_concentration", "missed"] = "none"
    pocket_fill_ml: VolumeMl | None = None  # default: the whole fill goes into the pocket
    true_concentration_mcg_per_ml: Exact | None = None
    override_discrepancy: bool = False

    @model_validator(mode="after")
    def _error_fields(self) -> RefillEvent:
        if self.error == "wrong_concentration" and self.true_concentration_mcg_per_ml is None:
            raise ValueError("a wrong_concentration refill needs true_concentration_mcg_per_ml")
        if self.error != "wrong_concentration" and self.true_concentration_mcg_per_ml is not None:
            raise ValueError("true_concentration_mcg_per_ml is only for error = "
                             "\"wrong_concentration\"")
        if self.error != "pocket_fill" and self.pocket_fill_ml is not None:
            raise ValueError("pocket_fill_ml is only for error = \"pocket_fill\"")
        if self.bridge_bolus and self.concentration_mcg_per_ml is None:
            raise ValueError("a bridge bolus needs a new concentration_mcg_per_ml")
        for name in ("fill_ml", "concentration_mcg_per_ml", "pocket_fill_ml",
                     "true_concentration_mcg_per_ml"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be more than 0")
        return self


class BolusEvent(_Event):
    event: Literal["bolus"]
    dose_mcg: Exact
    duration_min: int = Field(default=60, ge=1, le=1440)


class FaultEvent(_Event):
    event: Literal["fault"]
    fault: Literal["catheter_occlusion", "catheter_disconnection", "catheter_leak",
                   "motor_stall", "memory_error", "low_battery_reset"]
    flow_fraction: Exact = Fraction(0)  # occlusion: share of each stroke still getting through
    leak_fraction: Exact | None = None  # leak: share of the outflow lost before the tip
    cause: Literal["mri", "mechanical", "corrosion"] = "mri"  # motor stall
    duration_h: Exact | None = None  # motor stall: clears after this long (MRI scan)

    @model_validator(mode="after")
    def _fields(self) -> FaultEvent:
        if not 0 <= self.flow_fraction < 1:
            raise ValueError("flow_fraction must be 0 (full occlusion) to less than 1")
        if self.fault == "catheter_leak":
            if self.leak_fraction is None or not 0 < self.leak_fraction < 1:
                raise ValueError("a catheter_leak needs leak_fraction more than 0 and less "
                                 "than 1 (use catheter_disconnection for all of it)")
        elif self.leak_fraction is not None:
            raise ValueError("leak_fraction is only for fault = \"catheter_leak\"")
        if self.duration_h is not None:
            if self.fault != "motor_stall":
                raise ValueError("duration_h is only for fault = \"motor_stall\"")
            if not 0 < self.duration_h <= 24 * 365:
                raise ValueError("duration_h must be more than 0 and at most a year")
            if (self.duration_h * 3600).denominator != 1:
                raise ValueError("duration_h must come to a whole number of seconds")
        return self


class CatheterRevisionEvent(_Event):
    event: Literal["catheter_revision"]
    catheter_volume_ml: VolumeMl | None = None  # default: the implant's catheter volume


class ReplacePumpEvent(_Event):
    event: Literal["replace_pump"]
    model: str | None = None
    seed: int | None = Field(default=None, ge=0)
    fill_ml: VolumeMl | None = None
    concentration_mcg_per_ml: Exact | None = None

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        if value is not None and value not in MODELS:
            raise ValueError("must be one of: " + ", ".join(sorted(MODELS)))
        return value


class AcknowledgeEvent(_Event):
    event: Literal["acknowledge_alarms"]


class TitrateEvent(_Event):
    """Change every rate of the program in force by `percent` (the clinic's usual way to
    titrate: "+20 %"); each new rate is rounded down to the firmware's resolution."""

    event: Literal["titrate"]
    percent: Exact
    phase: Literal["titration", "maintenance"] = "titration"
    titration_check: bool = True
    override_reason: str | None = None

    @field_validator("percent")
    @classmethod
    def _percent(cls, value: Fraction) -> Fraction:
        if value == 0 or not -100 < value <= 100:
            raise ValueError("must be more than -100 and at most 100 percent, and not 0")
        return value


class StopEvent(_Event):
    """Stop the pump (it runs at the minimum rate): an emergency act or a drug holiday."""

    event: Literal["stop"]


class ResumeEvent(_Event):
    """Resume the program after `stop`. After a long gap the simulated clinic re-titrates
    (`retitrate = "auto"`, see docs/sim.md); "yes" always, "no" restarts the old dose."""

    event: Literal["resume"]
    retitrate: Literal["auto", "yes", "no"] = "auto"
    program: ProgramSpec | None = None  # the dose to restart (default: the one in force)


class EmptyReservoirEvent(_Event):
    """Withdraw and discard all the drug in the reservoir (labeling, overdose: residual
    solution is removed from the pump as soon as possible)."""

    event: Literal["empty_reservoir"]


class AccessPortBolusEvent(_Event):
    """An intrathecal bolus injected through the catheter access port, straight into the
    CSF (restoring intrathecal baclofen in withdrawal)."""

    event: Literal["access_port_bolus"]
    dose_mcg: Exact

    @field_validator("dose_mcg")
    @classmethod
    def _dose(cls, value: Fraction) -> Fraction:
        if not 0 < value <= 2000:
            raise ValueError("must be more than 0 and at most 2000 mcg")
        return value


class PatientCallEvent(_Event):
    """The patient or carer calls with symptoms; the run triages them (with the pump facts
    and whatever the simulated patient feels at that moment)."""

    event: Literal["patient_call"]
    symptoms: list[str] = Field(min_length=1, max_length=20)

    @field_validator("symptoms")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        try:
            return [symptom(name).name for name in value]
        except InvalidInput as error:
            raise ValueError(str(error)) from None


TimelineEvent = Annotated[
    ProgramEvent | TitrateEvent | RefillEvent | BolusEvent | FaultEvent
    | CatheterRevisionEvent | ReplacePumpEvent | AcknowledgeEvent | StopEvent | ResumeEvent
    | EmptyReservoirEvent | AccessPortBolusEvent | PatientCallEvent,
    Field(discriminator="event"),
]

EVENT_KINDS = ("program", "titrate", "refill", "bolus", "fault", "catheter_revision",
               "replace_pump", "acknowledge_alarms", "stop", "resume", "empty_reservoir",
               "access_port_bolus", "patient_call")


class AutoRefillSection(_Model):
    """Refills on the date itb.therapy.plan_refill gives (refill_by), to `fill_ml`."""

    enabled: bool = True
    fill_ml: VolumeMl | None = None
    safety_margin_days: Exact = Fraction(7)

    @field_validator("safety_margin_days")
    @classmethod
    def _margin(cls, value: Fraction) -> Fraction:
        if not 0 <= value <= 60:
            raise ValueError("must be 0 to 60 days")
        return value


class ScenarioFile(_Model):
    scenario: ScenarioInfo
    patient: PatientSection = PatientSection()
    pump: PumpSection = PumpSection()
    implant: ImplantSection
    program: ProgramSpec | None = None
    screening: ScreeningSection | None = None
    auto_refill: AutoRefillSection | None = None
    timeline: list[TimelineEvent] = []


# ---------------------------------------------------------------------- the result
@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the parsed file plus its resolved absolute times."""

    source: str
    spec: ScenarioFile
    start_s: int
    end_s: int
    implant_s: int
    # Timeline events with their absolute times (UTC seconds), in time order (file order
    # for equal times); each with its index in the file's [[timeline]] list.
    events: tuple[tuple[int, int, Any], ...]
    parameters: Any  # itb.physiology.PatientParameters, built (and checked) at validation

    @property
    def name(self) -> str:
        return self.spec.scenario.name

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_s, tz=UTC)

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.end_s, tz=UTC)

    @property
    def established(self) -> bool:
        return self.spec.patient.days_on_therapy is not None


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


# ---------------------------------------------------------------------- line finding
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"]+)\s*=")


def key_lines(text: str) -> dict[tuple[Any, ...], int]:
    """Line numbers of tables and keys, addressed like pydantic locations.

    `[[timeline]]` number i is ("timeline", i); `[patient.kinetics]` is
    ("patient", "kinetics"); a key under it adds its name. Values spanning several
    lines (inline arrays) are found by their key's line.
    """
    lines: dict[tuple[Any, ...], int] = {}
    counters: dict[tuple[str, ...], int] = {}
    path: tuple[Any, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            names = tuple(p.strip().strip('"') for p in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counters.get(names, -1) + 1
                counters[names] = index
                path = (*names, index)
            else:
                # A sub-table of the last array table ([timeline.program]) belongs to it.
                parent = names[:-1]
                path = (*parent, counters[parent], names[-1]) if parent in counters else names
            lines.setdefault(path, number)
            continue
        key = _KEY.match(raw)
        if key:
            parts = tuple(p.strip('"') for p in key.group(1).split("."))
            lines.setdefault((*path, *parts), number)
    return lines


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _key_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the discriminator tag pydantic puts after a timeline index."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        if i >= 2 and loc[0] == "timeline" and i == 2 and part in EVENT_KINDS:
            continue
        out.append(part)
    return tuple(out)


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (see docs/sim.md for the keys of this table)"
    if kind == "missing":
        return "missing: this key is required"
    if kind == "union_tag_invalid":
        return "event must be one of: " + ", ".join(EVENT_KINDS)
    if kind == "union_tag_not_found":
        return "each [[timeline]] entry needs event = one of: " + ", ".join(EVENT_KINDS)
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


# ---------------------------------------------------------------------- parsing
def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate a scenario's TOML text; raises ScenarioError with file, line, key, reason."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        line = int(match.group(1)) if match else None
        raise ScenarioError(source, [(line, "", f"not valid TOML ({error})")]) from None
    except ValueError as error:
        # tomllib hands integers to int(), whose guard against huge digit strings (over
        # 4300 digits) raises a plain ValueError, not a TOMLDecodeError.
        reason = str(error).split(";")[0]  # drop int()'s advice about set_int_max_str_digits
        raise ScenarioError(source, [(None, "", f"not valid TOML ({reason})")]) from None
    except RecursionError:
        # tomllib recurses once per nested array or inline table; a hostile file of
        # thousands of '[' would otherwise end in a traceback, not a refusal.
        raise ScenarioError(source, [(None, "", "not valid TOML (arrays or inline tables "
                                                "nested too deeply)")]) from None
    lines = key_lines(text)
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            loc = _clean_loc(tuple(item["loc"]))
            if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, "event")  # the tag's own key and line
            problems.append((_line_for(loc, lines), _key_text(loc), _reason(item)))
        raise ScenarioError(source, problems) from None
    return _resolve(spec, source, lines)


def _resolve(spec: ScenarioFile, source: str, lines: dict[tuple[Any, ...], int]) -> Scenario:
    """Cross-section checks that need more than one table; absolute event times."""
    problems: list[tuple[int | None, str, str]] = []

    def problem(loc: tuple[Any, ...], reason: str) -> None:
        problems.append((_line_for(loc, lines), _key_text(loc), reason))

    info = spec.scenario
    start_s = seconds(info.start)
    end_s = start_s + int(info.duration_days * SECONDS_PER_DAY)
    implant_s = seconds(spec.implant.date)
    model = MODELS[spec.pump.model]
    established = spec.patient.days_on_therapy is not None
    if spec.implant.fill_ml is not None:
        if not 0 <= spec.implant.fill_ml * NL_PER_ML <= model.reservoir_capacity_nl:
            problem(("implant", "fill_ml"),
                    f"must be 0 to the {model.name} reservoir's "
                    f"{model.reservoir_capacity_nl // NL_PER_ML} mL")
        elif (spec.implant.fill_ml * NL_PER_ML).denominator != 1:
            problem(("implant", "fill_ml"), "must be in whole nanolitres")
    if spec.pump.low_reservoir_alarm_ml is not None:
        alarm_nl = spec.pump.low_reservoir_alarm_ml * NL_PER_ML
        if not model.low_reservoir_alarm_min_nl <= alarm_nl <= model.low_reservoir_alarm_max_nl:
            problem(("pump", "low_reservoir_alarm_ml"),
                    f"must be {Fraction(model.low_reservoir_alarm_min_nl, NL_PER_ML)} to "
                    f"{Fraction(model.low_reservoir_alarm_max_nl, NL_PER_ML)} mL for "
                    f"{model.name}")
    if implant_s > end_s:
        problem(("implant", "date"), "must be no later than the scenario's end")
    fill_nl = model.reservoir_capacity_nl if spec.implant.fill_ml is None else \
        spec.implant.fill_ml * NL_PER_ML
    if fill_nl <= 0:
        problem(("implant", "fill_ml"), "must be more than 0 mL: the pump is filled at implant "
                "(the priming bolus needs drug)")
    if implant_s < start_s:
        alarm = model.low_reservoir_alarm_default_nl if spec.pump.low_reservoir_alarm_ml is None \
            else spec.pump.low_reservoir_alarm_ml * NL_PER_ML
        if implant_s < start_s - model.automatic_shutoff_s:
            problem(("implant", "date"), f"a pump implanted before scenario.start must still be "
                    f"in service at the start: at most {model.automatic_shutoff_s // 86_400} "
                    "days (its automatic shut-off, devices.md: 7 years) before it")
        if fill_nl <= alarm:
            problem(("implant", "fill_ml"), "a pump history is refilled on the planned dates to "
                    "this volume, so it must be more than the low-reservoir alarm volume")
    if established:
        if spec.screening is not None:
            problem(("screening",), "an established patient (patient.days_on_therapy) has no "
                    "screening trial: drop one of them")
        if spec.program is None:
            problem(("program",), "an established patient needs the [program] in force")
        if implant_s > start_s:
            problem(("implant", "date"), "for an established patient the pump is implanted at "
                    "or before scenario.start (a pump history before the start is simulated)")
    else:
        if implant_s < start_s:
            problem(("implant", "date"), "must be at or after scenario.start for a new "
                    "patient (or give patient.days_on_therapy for an established one)")
        if spec.program is None and spec.screening is None:
            problem(("program",), "give a [program], or a [screening] trial whose initial "
                    "dose starts the pump")
    if spec.screening is not None:
        first = seconds(spec.screening.start)
        if first < start_s:
            problem(("screening", "start"), "must be at or after scenario.start")
        doses = spec.screening.doses_mcg
        count = len(doses) if doses is not None else 3
        # Each escalation comes 24 h after the previous bolus (label).
        last_end = first + (count - 1) * 86_400 + int(spec.screening.observe_h * 3600)
        if doses is not None and last_end > implant_s:
            problem(("screening", "doses_mcg"), "the trial must end (24 h between boluses, then "
                    "the observation) before implant.date")
        if first >= implant_s:
            problem(("screening", "start"), "must be before implant.date")
    auto = spec.auto_refill
    if auto is not None and auto.fill_ml is not None and \
            not 0 < auto.fill_ml * NL_PER_ML <= model.reservoir_capacity_nl:
        problem(("auto_refill", "fill_ml"),
                f"must be more than 0 to {model.reservoir_capacity_nl // NL_PER_ML} mL")
    events: list[tuple[int, int, Any]] = []
    for index, event in enumerate(spec.timeline):
        if event.day is not None:
            when = start_s + int(event.day * SECONDS_PER_DAY)
        else:
            assert event.at is not None
            when = seconds(event.at)
        key = ("timeline", index, "day" if event.day is not None else "at")
        if not start_s <= when <= end_s:
            problem(key, f"must fall within the scenario ({info.start.isoformat()} to "
                    f"{datetime.fromtimestamp(end_s, tz=UTC).isoformat()})")
        if when < implant_s:
            problem(key, "must be at or after implant.date (the pump acts need the pump)")
        if isinstance(event, ReplacePumpEvent):
            new_model = MODELS[event.model or spec.pump.model]
            if event.fill_ml is not None and event.fill_ml == 0:
                problem(("timeline", index, "fill_ml"), "must be more than 0 mL: the new pump "
                        "is filled and primed")
            if event.fill_ml is not None and \
                    event.fill_ml * NL_PER_ML > new_model.reservoir_capacity_nl:
                problem(("timeline", index, "fill_ml"),
                        f"must be at most the {new_model.reservoir_capacity_nl // NL_PER_ML} mL "
                        f"reservoir of {new_model.name}")
            if event.concentration_mcg_per_ml is not None and \
                    not 0 < event.concentration_mcg_per_ml <= 100_000:
                problem(("timeline", index, "concentration_mcg_per_ml"),
                        "must be more than 0 and at most 100000 mcg/mL")
        if isinstance(event, RefillEvent):
            if event.fill_ml is not None and \
                    event.fill_ml * NL_PER_ML > model.reservoir_capacity_nl:
                problem(("timeline", index, "fill_ml"),
                        f"must be at most the {model.reservoir_capacity_nl // NL_PER_ML} mL "
                        "reservoir")
            if event.pocket_fill_ml is not None and event.fill_ml is not None and \
                    event.pocket_fill_ml > event.fill_ml:
                problem(("timeline", index, "pocket_fill_ml"), "must be at most fill_ml")
        events.append((when, index, event))
    from itb.sim.patients import build_patient, parameter_key

    parameters = None
    try:
        parameters = build_patient(spec.patient)
    except InvalidInput as error:
        problem(parameter_key(error.field), str(error))
    if problems:
        raise ScenarioError(source, problems)
    events.sort(key=lambda item: (item[0], item[1]))
    scenario = Scenario(source, spec, start_s, end_s, implant_s, tuple(events), parameters)
    _check_programs(scenario, lines)
    return scenario


def _check_programs(scenario: Scenario, lines: dict[tuple[Any, ...], int]) -> None:
    """Every program must fit the pump at the concentration in force when it is entered, and
    every dose change must follow the labeled titration steps (itb.therapy), unless waived."""
    from itb.sim.programs import build_program, check_dose_change, scaled_program

    problems: list[tuple[int | None, str, str]] = []
    spec = scenario.spec
    model = MODELS[spec.pump.model]
    conc = spec.implant.concentration_mcg_per_ml
    program = None
    if spec.program is not None:
        try:
            program = build_program(spec.program, model, conc, scenario.implant_s)
        except InvalidInput as error:
            problems.append((_line_for(("program",), lines), "program", str(error)))
    last_change_s = scenario.implant_s
    for when, index, event in scenario.events:
        if isinstance(event, RefillEvent) and event.error != "missed" and \
                event.concentration_mcg_per_ml is not None:
            conc = event.concentration_mcg_per_ml
            if program is not None:
                try:
                    build_program(program.spec, model, conc, program.entered_s)
                except InvalidInput as error:
                    problems.append((_line_for(("timeline", index, "concentration_mcg_per_ml"),
                                               lines), f"timeline[{index}]",
                                     f"the program in force does not fit the new "
                                     f"concentration: {error}"))
        elif isinstance(event, ReplacePumpEvent) and event.concentration_mcg_per_ml is not None:
            conc = event.concentration_mcg_per_ml
        elif isinstance(event, ProgramEvent | TitrateEvent):
            loc = ("timeline", index, "program" if isinstance(event, ProgramEvent)
                   else "percent")
            if isinstance(event, TitrateEvent) and program is None:
                continue  # the dose before it comes from the screening trial: checked at run
            try:
                new_spec = event.program if isinstance(event, ProgramEvent) else \
                    scaled_program(program.spec, event.percent, conc)  # type: ignore[union-attr]
                new = build_program(new_spec, model, conc, when)
            except InvalidInput as error:
                problems.append((_line_for(loc, lines), _key_text(loc), str(error)))
                continue
            if program is not None and event.titration_check:
                try:
                    check_dose_change(program.daily_dose_mcg, new.daily_dose_mcg,
                                      spec.patient, event.phase, last_change_s, when,
                                      event.override_reason)
                except InvalidInput as error:
                    problems.append((_line_for(loc, lines), _key_text(loc),
                                     f"the dose change breaks the titration rules: {error} "
                                     "(set titration_check = false to simulate it anyway)"))
            program = new
            last_change_s = when
    if problems:
        raise ScenarioError(scenario.source, problems)

