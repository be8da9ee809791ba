"""The `itb` command line: a thin Typer shell over the pure packages.

Each part of the system brings its own sub-command group from its own `cli`
module; this file only gathers them and turns itb's errors into one clear line.
"""

from __future__ import annotations

import typer

import itb

app = typer.Typer(
    name="itb",
    help="itb: an intrathecal baclofen pump system in software. "
    "For simulation, education, research and device-software engineering; "
    "it does not drive a real implanted device.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print itb's version."""
    typer.echo(itb.__version__)


# Sub-command groups, one per part of the system (each adds its own line here).
from itb.therapy.cli import app as calc_app  # noqa: E402

app.add_typer(calc_app, name="calc")
from itb.physiology.cli import triage as triage_command  # noqa: E402

app.command("triage")(triage_command)
from itb.pump.cli import app as pump_app  # noqa: E402

app.add_typer(pump_app, name="pump")
from itb.telemetry.cli import register_pump_commands  # noqa: E402

register_pump_commands(pump_app)
from itb.sim.cli import app as sim_app  # noqa: E402

app.add_typer(sim_app, name="sim")
from itb.programmer.cli import app as programmer_app  # noqa: E402

app.add_typer(programmer_app, name="programmer")
