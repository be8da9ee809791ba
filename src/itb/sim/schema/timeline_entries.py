"""The scenario's [[timeline]] entries: one model per kind of act or fault, told apart by
their `event` key. Each entry is at a `day` after the start or `at` a date-time."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from itb.errors import InvalidInput
from itb.physiology.symptoms import symptom
from itb.pump.catalogue import MODELS
from itb.sim.schema.sections import ProgramSpec
from itb.sim.schema.values import Exact, SchemaModel, UtcTime, VolumeMl, within
from itb.therapy.units import SECONDS_PER_DAY


class _Event(SchemaModel):
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
    dose_mcg: Annotated[Exact, within(0, 2000, "mcg", above_low=True)]


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

