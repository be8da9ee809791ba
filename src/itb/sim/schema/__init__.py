"""The scenario file's schema: what a scenario may say, as frozen pydantic models.

    values.py            exact numbers, UTC times, volumes; the base model
    sections.py          the tables: [scenario], [patient], [pump], [implant], ...
    timeline_entries.py  the [[timeline]] entries (acts and faults)

The schema is pure data: it knows the pump models' names (to refuse an unknown one) and
the symptom names, and nothing of how pumps and patients are built or run. Reading a
file into these models, with line numbers for every refusal, is `itb.sim.parser`;
the checks across tables are `itb.sim.checks`.
"""

from __future__ import annotations

from pydantic import Field

from itb.sim.schema.sections import (
    EARLIEST_START,
    LATEST_START,
    MAX_DURATION_DAYS,
    AutoRefillSection,
    FlexStepSpec,
    ImplantSection,
    KineticsParameters,
    PatientSection,
    ProgramSpec,
    PumpSection,
    ResponseParameters,
    ScenarioInfo,
    ScreeningSection,
)
from itb.sim.schema.timeline_entries import (
    EVENT_KINDS,
    AccessPortBolusEvent,
    AcknowledgeEvent,
    BolusEvent,
    CatheterRevisionEvent,
    EmptyReservoirEvent,
    FaultEvent,
    PatientCallEvent,
    ProgramEvent,
    RefillEvent,
    ReplacePumpEvent,
    ResumeEvent,
    StopEvent,
    TimelineEvent,
    TitrateEvent,
)
from itb.sim.schema.values import Exact, ModelFloat, SchemaModel, UtcTime, VolumeMl


class ScenarioFile(SchemaModel):
    """A whole scenario file, each table validated alone."""

    scenario: ScenarioInfo
    patient: PatientSection = PatientSection()
    pump: PumpSection = PumpSection()
    implant: ImplantSection
    program: ProgramSpec | None = None
    screening: ScreeningSection | None = None
    auto_refill: AutoRefillSection | None = None
    timeline: list[TimelineEvent] = Field(default_factory=list)


__all__ = [
    "EARLIEST_START",
    "EVENT_KINDS",
    "LATEST_START",
    "MAX_DURATION_DAYS",
    "AccessPortBolusEvent",
    "AcknowledgeEvent",
    "AutoRefillSection",
    "BolusEvent",
    "CatheterRevisionEvent",
    "EmptyReservoirEvent",
    "Exact",
    "FaultEvent",
    "FlexStepSpec",
    "ImplantSection",
    "KineticsParameters",
    "ModelFloat",
    "PatientCallEvent",
    "PatientSection",
    "ProgramEvent",
    "ProgramSpec",
    "PumpSection",
    "RefillEvent",
    "ReplacePumpEvent",
    "ResponseParameters",
    "ResumeEvent",
    "ScenarioFile",
    "ScenarioInfo",
    "SchemaModel",
    "ScreeningSection",
    "StopEvent",
    "TimelineEvent",
    "TitrateEvent",
    "UtcTime",
    "VolumeMl",
]
