"""The study file's tables: [study], [cohort], [care] and [hazards.*] (docs/fleet.md).

Each table validates itself; checks across tables (the alarm volume within the chosen
pump's range) are in `study.py`. Rates are probabilities or events per patient-year, read
as plain floats: they are statistical parameters, not doses. Every hazard states its
`source`, or says `unconfirmed`. Doses and volumes stay exact (`Fraction`).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from itb.physiology.population import ORIGINS
from itb.sim.schema.values import Exact, SchemaModel, VolumeMl

MAX_YEARS = 20  # a pump lives 7 years at most (devices.md); 20 covers three pumps
MAX_PATIENTS = 1_000_000


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    return float(value)


Rate = Annotated[float, BeforeValidator(_float), Field(ge=0)]
Share = Annotated[float, BeforeValidator(_float), Field(ge=0, le=1)]
Positive = Annotated[float, BeforeValidator(_float), Field(gt=0)]
# a factor that may shrink a value but never grow it or make it zero
Ratio = Annotated[float, BeforeValidator(_float), Field(gt=0, le=1)]


class StudyTable(SchemaModel):
    name: str = Field(min_length=1, max_length=200)
    years: Exact
    seed: int = Field(ge=0, le=2**63 - 1)
    daily: bool = False  # also write daily.parquet: one row per patient-day

    @field_validator("years")
    @classmethod
    def _years(cls, value: Fraction) -> Fraction:
        if not 0 < value <= MAX_YEARS:
            raise ValueError(f"must be more than 0 and at most {MAX_YEARS} years")
        if (value * 365 * 24).denominator != 1:
            raise ValueError("must be a whole number of hours (years × 365 × 24), e.g. 6.5")
        return value


class CohortTable(SchemaModel):
    patients: int = Field(ge=1, le=MAX_PATIENTS)
    origin: dict[str, Share] = Field(default_factory=lambda: {"spinal": 1.0})
    days_on_therapy: int = Field(default=365, ge=30, le=36_500)
    unapproved_drug_share: Share = 0.0
    pump_model: str = "synchromed-ii-20"
    concentration_mcg_per_ml: Exact = Fraction(2000)

    @field_validator("origin")
    @classmethod
    def _mix(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(ORIGINS))
        if unknown:
            raise ValueError(f"unknown origin {unknown[0]!r}: one of " + ", ".join(ORIGINS))
        if abs(sum(value.values()) - 1) > 1e-9:
            raise ValueError("the shares must add up to 1")
        return value

    @field_validator("concentration_mcg_per_ml")
    @classmethod
    def _strength(cls, value: Fraction) -> Fraction:
        from itb.therapy.catalogue import DRUG_PRODUCTS

        strengths = sorted({p.concentration_mcg_per_ml for p in DRUG_PRODUCTS
                            if not p.screening_only})
        if value not in strengths:
            raise ValueError("must be a marketed pump-refill strength: "
                             + ", ".join(str(s) for s in strengths) + " mcg/mL")
        return value


class Attendance(SchemaModel):
    """The chance that a patient misses a booked refill, given the reminders they got:
    `miss_share` with none, times `reminder_relative_risk` for each reminder got, times
    `portal_relative_risk` when they also went to the portal. Parameters of the study, not
    facts: `source` says where they come from, or `unconfirmed`."""

    source: str = Field(min_length=1, max_length=400)
    miss_share: Share
    reminder_relative_risk: Ratio = 1.0
    portal_relative_risk: Ratio = 1.0


class AppointmentsTable(SchemaModel):
    """Refill visits booked, reminded and chased by the clinic's rules
    (`itb.therapy.appointments`; docs/fleet.md, "Adherence from the appointment rules")."""

    booking: Literal["latest_safe", "interval"] = "latest_safe"
    days_before_safe: int = Field(default=7, ge=0, le=60)
    reminder_days: list[Annotated[int, Field(ge=1, le=60)]] = Field(default_factory=list,
                                                                    max_length=5)
    portal: bool = False
    rebook_within_days: int = Field(default=7, ge=0, le=60)
    attendance: Attendance

    @field_validator("reminder_days")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("each offset at most once")
        return sorted(value, reverse=True)


class CareTable(SchemaModel):
    refill_interval_days: int = Field(default=90, ge=7, le=180)
    refill_margin_days: int = Field(default=7, ge=0, le=60)
    low_reservoir_alarm_ml: VolumeMl | None = None
    residual_check: bool = True
    titration_every_days: int = Field(default=0, ge=0, le=3650)
    eri_policy: Literal["replace", "run_to_eos"] = "replace"
    eri_replacement_days: int = Field(default=30, ge=0, le=90)
    late_refill_share: Share = 0.0
    late_refill_mean_days: Positive = 7.0
    missed_refill_share: Share = 0.0
    missed_rebook_days: int = Field(default=14, ge=1, le=180)
    low_alarm_response_mean_days: Positive = 3.0
    critical_alarm_response_hours: Positive = 12.0
    symptom_response_hours: Positive = 24.0
    revision_delay_days: int = Field(default=1, ge=0, le=60)
    adherence: Literal["shares", "appointments"] = "shares"
    appointments: AppointmentsTable | None = None


class Hazard(SchemaModel):
    source: str = Field(min_length=1, max_length=400)

    @property
    def unconfirmed(self) -> bool:
        return "unconfirmed" in self.source.lower()


class MotorStall(Hazard):
    approved_cumulative: Share
    unapproved_cumulative: Share
    at_months: int = Field(ge=1, le=240)
    weibull_shape: Positive = 1.0


class Overinfusion(Hazard):
    share_of_pumps: Share
    over_years: Positive = 7.0
    earliest_months: int = Field(default=5, ge=0, le=120)
    initial_excess: Ratio = 0.15
    excess_growth_per_month: Annotated[float, BeforeValidator(_float), Field(ge=0, le=1)] = 0.05
    max_excess: Annotated[float, BeforeValidator(_float), Field(gt=0, le=3)] = 1.0


class PerPatientYear(Hazard):
    per_patient_year: Rate = Field(le=50)


class CatheterOcclusion(PerPatientYear):
    # The share of the programmed flow that still gets through is drawn uniformly from 0
    # (a full occlusion) to this (a partial, "silent" one); 0 = always full.
    remaining_flow_max: Annotated[float, BeforeValidator(_float), Field(ge=0, lt=1)] = 0.0


class CatheterLeak(PerPatientYear):
    leak_fraction: Annotated[float, BeforeValidator(_float), Field(gt=0, lt=1)] = 0.5


class PerRefill(Hazard):
    per_refill: Share


class PumpHazards(SchemaModel):
    """The pump's own faults, drawn per pump (a new pump draws again)."""

    motor_stall: MotorStall | None = None
    overinfusion: Overinfusion | None = None


class CatheterHazards(SchemaModel):
    """The catheter's faults, at a rate per patient-year, drawn again after a revision."""

    catheter_occlusion: CatheterOcclusion | None = None
    catheter_disconnection: PerPatientYear | None = None
    catheter_leak: CatheterLeak | None = None


class RefillHazards(SchemaModel):
    """Errors made at a refill, a chance per refill."""

    pocket_fill: PerRefill | None = None
    wrong_strength: PerRefill | None = None


class Hazards(RefillHazards, CatheterHazards, PumpHazards):
    """Every [hazards.*] table (docs/fleet.md); one left out is a hazard that does not happen.
    (Bases in this order keep the fields in the order pump, catheter, refill.)"""


class StudyFile(SchemaModel):
    study: StudyTable
    cohort: CohortTable
    care: CareTable = Field(default_factory=CareTable)
    hazards: Hazards = Field(default_factory=Hazards)
    # arms of one study: each name's table overrides keys of [care] (study.py)
    arms: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")],
               dict[str, Any]] = Field(default_factory=dict, max_length=8)
