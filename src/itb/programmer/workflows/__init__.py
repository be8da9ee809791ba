"""The programmer's clinical workflows as a library, for every front end.

Each workflow takes a `Visit` (how to open a wand session to the pump, and the session
journal) and the clinician's answers, and returns typed results; a refusal is raised as an
`ItbError`, which `itb.programmer.refusals.explain` turns into a sentence and a next step.
No workflow prints, prompts or exits: the command line (`itb.programmer.cli`) and a later web
clinic only ask, show and word the refusals.

- `reading`: interrogate into a view, alarms and their acknowledgement, the event log, the
  session report's data;
- `program_change`: review → confirm → send → verify a new program;
- `refill_wizard`: the refill as explicit steps with typed results and a stop reason;
- `infusion`: a clinician bolus, stop and resume;
- `settings`: alarm volume, catheter volume, clock;
- `emergency_acts`: overdose, withdrawal, a catheter access port bolus.
"""

from itb.programmer.workflows.emergency_acts import (
    cap_bolus,
    overdose,
    withdrawal_resume,
    withdrawal_running,
)
from itb.programmer.workflows.infusion import (
    BolusRequest,
    BolusReview,
    give_bolus,
    resume_infusion,
    review_bolus,
    stop_infusion,
)
from itb.programmer.workflows.program_change import (
    ProgramChange,
    ProgramRequest,
    ProgramReview,
    ProgramSent,
)
from itb.programmer.workflows.reading import (
    Alarms,
    Interrogation,
    LogPage,
    LogQuery,
    ReportData,
    alarms,
    interrogate,
    read_log,
    report_data,
)
from itb.programmer.workflows.refill_wizard import (
    DrugAnswers,
    DrugPut,
    RefillStop,
    RefillUpdated,
    RefillWizard,
    Residual,
    StopReason,
)
from itb.programmer.workflows.settings import (
    review_alarm_volume,
    set_alarm_volume,
    set_catheter_volume,
    set_clock,
)
from itb.programmer.workflows.visit import Visit

__all__ = [
    "Alarms", "BolusRequest", "BolusReview", "DrugAnswers", "DrugPut", "Interrogation",
    "LogPage", "LogQuery", "ProgramChange", "ProgramRequest", "ProgramReview", "ProgramSent",
    "RefillStop", "RefillUpdated", "RefillWizard", "ReportData", "Residual", "StopReason",
    "Visit", "alarms", "cap_bolus", "give_bolus", "interrogate", "overdose", "read_log",
    "report_data", "resume_infusion", "review_alarm_volume", "review_bolus",
    "set_alarm_volume", "set_catheter_volume", "set_clock", "stop_infusion",
    "withdrawal_resume", "withdrawal_running",
]
