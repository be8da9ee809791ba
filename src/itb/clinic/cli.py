"""`itb clinic ...`: a thin Typer shell over the clinic's services.

Each group of commands lives in its own module and registers itself here; the command
names are fixed by the clinic issue (docs/clinic.md).
"""

from __future__ import annotations

import typer

from itb.cli_errors import RefusingGroup
from itb.clinic.commands import accounts, admin, demo, feed, serve, work
from itb.clinic.commands import appointments as appointment_commands

app = typer.Typer(name="clinic", cls=RefusingGroup, no_args_is_help=True,
                  help="The clinic's records: patients, pumps, visits, worklists, FHIR, the "
                  "API and the web app (simulated pumps only).")
for module in (admin, accounts, serve, feed, work, demo, appointment_commands):
    module.register(app)


@app.callback()
def clinic() -> None:
    """The clinic's records: patients, pumps, visits, worklists, FHIR, the API and web app."""
