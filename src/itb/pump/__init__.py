"""itb.pump: the implanted pump's firmware model over an honest physical pump.

Start with `Pump.implant(...)`, then `prime()`, `advance(to)`, and the clinical acts.
See docs/pump.md.
"""

from itb.pump.alarms import AlarmKind
from itb.pump.catalogue import MODELS, PumpModel, get_model
from itb.pump.errors import (
    ActRefused,
    InvalidProgram,
    LimitExceeded,
    ProgramNotCommitted,
    PumpError,
)
from itb.pump.faults import Faults
from itb.pump.memory import WriteFault
from itb.pump.physical import PocketDeposit
from itb.pump.programs import (
    ContinuousTherapy,
    FlexStep,
    FlexTherapy,
    HardLimits,
    PatientBolusSettings,
    PeriodicBolus,
    Program,
)
from itb.pump.pump import (
    AdvanceReport,
    CommandedSegment,
    DeliverySegment,
    PatientBolusOutcome,
    Pump,
    PumpStatus,
    RefillReport,
)

__all__ = [
    "MODELS",
    "ActRefused",
    "AdvanceReport",
    "AlarmKind",
    "CommandedSegment",
    "ContinuousTherapy",
    "DeliverySegment",
    "Faults",
    "FlexStep",
    "FlexTherapy",
    "HardLimits",
    "InvalidProgram",
    "LimitExceeded",
    "PatientBolusOutcome",
    "PatientBolusSettings",
    "PeriodicBolus",
    "PocketDeposit",
    "Program",
    "ProgramNotCommitted",
    "Pump",
    "PumpError",
    "PumpModel",
    "PumpStatus",
    "RefillReport",
    "WriteFault",
    "get_model",
]
