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
