"""The scenario file's tables: [scenario], [patient], [pump], [implant], [screening],
[program] and [auto_refill] (docs/sim.md lists every key).

Each table validates itself alone; checks that need more than one table (a fill that must
fit the chosen pump, a program that must fit the concentration) are in `itb.sim.checks`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from itb.errors import InvalidInput
from itb.pump.catalogue import MODELS
from itb.sim.schema.values import (
    HHMM,
    UTC_OFFSET,
    Exact,
    ModelFloat,
    SchemaModel,
    UtcTime,
    VolumeMl,
    within,
)
from itb.therapy.flex import zone_of
from itb.therapy.units import SECONDS_PER_DAY

HAZARD_ID = re.compile(r"^HAZ-[A-Z]+-\d{2}$")  # the form of itb.safety.model.HAZARD_ID
MAX_DURATION_DAYS = 3653  # ten years: beyond any pump's service life (devices.md: 7 years)
# The pump counts UTC seconds from 1970; a scenario (and any pump history before it, at most
# a pump's 7-year life) ends well before year 9999, where datetimes end.
EARLIEST_START = datetime(1980, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9000, 1, 1, tzinfo=UTC)

class ScenarioInfo(SchemaModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    start: UtcTime
    duration_days: Annotated[Exact, within(0, MAX_DURATION_DAYS, "days", above_low=True)]
    # The hazards of the safety case (safety/hazards.toml) this scenario exercises; the
    # schema checks only their form, `itb safety trace` that each one exists.
    hazards: tuple[str, ...] = ()

    @field_validator("hazards")
    @classmethod
    def _hazards(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = next((h for h in value if not HAZARD_ID.match(h)), None)
        if bad is not None:
            raise ValueError(f"{bad!r} is not a hazard id such as HAZ-OD-03 (safety/hazards.toml)")
        if len(set(value)) != len(value):
            raise ValueError("names a hazard twice")
        return value

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
        if (value * SECONDS_PER_DAY).denominator != 1:
            raise ValueError("must be a whole number of seconds")
        return value


class KineticsParameters(SchemaModel):
    """Overrides of `itb.physiology.CsfKinetics` (floats: physiological parameters)."""

    clearance_ml_per_h: ModelFloat | None = None
    half_life_h: ModelFloat | None = None
    lumbar_to_cisternal_ratio: ModelFloat | None = None
    effect_site_rate_per_h: ModelFloat | None = None
    weight_kg: ModelFloat | None = None
    dependence_time_constant_h: ModelFloat | None = None
    renal_function: ModelFloat | None = None  # 1 normal kidneys, less when impaired


class ResponseParameters(SchemaModel):
    """Overrides of `itb.physiology.response.SpasticityResponse`."""

    baseline_ashworth: ModelFloat | None = None
    baseline_spasms_per_hour: ModelFloat | None = None
    ec50_initial_mcg_per_ml: ModelFloat | None = None
    hill: ModelFloat | None = None
    max_effect: ModelFloat | None = None
    tolerance_multiplier: ModelFloat | None = None
    tolerance_time_constant_days: ModelFloat | None = None
    refractory_after_days: ModelFloat | None = None


class PatientSection(SchemaModel):
    origin: Literal["spinal", "cerebral", "child"] = "spinal"
    # A population draw: the `draw`-th patient (0 = first) of Population(population_seed).
    population_seed: int | None = Field(default=None, ge=0)
    draw: int = Field(default=0, ge=0, le=999)  # each draw costs ~2 ms
    # An established patient: on the first program's dose, at steady state, this long.
    days_on_therapy: Annotated[Exact, within(0, 36_500, "days")] | None = None
    age_years: Annotated[Exact, within(0, 130, "years")] | None = None
    kinetics: KineticsParameters = KineticsParameters()
    response: ResponseParameters = ResponseParameters()

    @model_validator(mode="after")
    def _draw_or_explicit(self) -> PatientSection:
        explicit = self.kinetics.model_dump(exclude_none=True) or \
            self.response.model_dump(exclude_none=True)
        if self.population_seed is not None and explicit:
            raise ValueError("give either population_seed (a population draw) or explicit "
                             "[patient.kinetics]/[patient.response] parameters, not both")
        return self


class PumpSection(SchemaModel):
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


class ImplantSection(SchemaModel):
    date: UtcTime
    fill_ml: VolumeMl | None = None  # default: the reservoir's capacity
    concentration_mcg_per_ml: Annotated[Exact, within(0, 100_000, "mcg/mL", above_low=True)]
    # The pump's default catheter volume, 0.11 mL (unconfirmed).
    catheter_volume_ml: Annotated[VolumeMl, within(0, 1, "mL")] = Fraction(11, 100)
    prime: bool = True


class ScreeningSection(SchemaModel):
    """The screening trial: boluses by the labeled protocol, the patient's response simulated."""

    start: UtcTime
    # Doses to give, in order; default: follow the protocol (50, then 75, then 100 mcg, each
    # only if the previous response was inadequate).
    doses_mcg: list[Exact] | None = None
    # Label: observe for 4 to 8 hours; longer is allowed (the initial dose needs to know
    # whether the effect lasted more than 8 h).
    observe_h: Annotated[Exact, within(4, 24, "hours",
                                       note=" (the label observes 4 to 8 hours)")] = Fraction(8)
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


class FlexStepSpec(SchemaModel):
    start: str
    dose_mcg_per_day: Exact

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("must be a local time HH:MM (24-hour clock)")
        return value

    @property
    def start_s(self) -> int:
        hh, mm = self.start.split(":")
        return int(hh) * 3600 + int(mm) * 60


class ProgramSpec(SchemaModel):
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
        m = UTC_OFFSET.match(value)
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
            m = UTC_OFFSET.match(self.utc_offset)
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


class AutoRefillSection(SchemaModel):
    """Refills on the date itb.therapy.plan_refill gives (refill_by), to `fill_ml`."""

    enabled: bool = True
    fill_ml: VolumeMl | None = None
    safety_margin_days: Annotated[Exact, within(0, 60, "days")] = Fraction(7)
