"""`itb programmer ...`: the clinician programmer, a thin Typer shell.

Each command reads its options, drives one workflow of `itb.programmer.workflows` on a visit
to the pump (`shell.open_visit`), asks the clinician's questions and prints the results; every
refusal becomes one sentence and the next step (`itb.programmer.refusals`), exit status 2 and
no traceback. Declining a confirmation exits 1 and sends nothing. No command holds clinical
logic.
"""

from __future__ import annotations

import typer

from itb.cli_errors import RefusingGroup
from itb.programmer.cli import (
    emergency_cmds,
    infusion_cmds,
    program_cmd,
    reading_cmds,
    refill_cmd,
    settings_cmds,
)
from itb.programmer.cli.shell import DEFAULT_HOST, DEFAULT_PORT, pump_port

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "app", "pump_port"]

app = typer.Typer(
    help="The clinician programmer: interrogate, program, refill and look after a pump "
    "through the wand link (itb pump serve, or an in-process pump). Simulation only.",
    no_args_is_help=True,
    cls=RefusingGroup,  # usage errors in the Error/Next style under `python -m` too
)

# In the order `itb programmer --help` lists them.
app.command()(reading_cmds.interrogate)
app.command()(program_cmd.program)
app.command()(refill_cmd.refill)
app.command()(infusion_cmds.bolus)
app.command()(infusion_cmds.stop)
app.command()(infusion_cmds.resume)
app.command()(reading_cmds.alarms)
app.command()(reading_cmds.log)
app.command("set-alarm-volume")(settings_cmds.set_alarm_volume)
app.command("set-catheter-volume")(settings_cmds.set_catheter_volume)
app.command("set-clock")(settings_cmds.set_clock)
app.command()(reading_cmds.report)
app.add_typer(emergency_cmds.emergency_app, name="emergency")
