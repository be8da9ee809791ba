"""`itb calc`: the therapy calculators on the command line.

A thin shell (the commands are in `itb.therapy.calc`, one module per group): it
parses text into exact numbers and UTC instants, calls the pure functions, and prints
either a readable Rich table or JSON (`--json`). Every result is computed before
anything is printed, so a refusal prints one sentence on stderr and exits with status 2,
with no partial output.

JSON number format: every exact quantity is a string, either a terminating
decimal ("0.6", "30") or, when the decimal would not terminate, an exact fraction
("100/3"). Fields ending in `_display` are rounded half-to-even to 3 decimals for
people. Instants are ISO-8601 UTC, floored to the microsecond (the safe, earlier side).
"""

from __future__ import annotations

import typer

from itb.therapy.calc import doses, reservoir, supplies, trial

app = typer.Typer(
    help="Therapy calculators: flow rate, refill planning and check, bridge bolus, titration, "
    "initial dose, screening trial, candidate check, dilution, battery ERI. Exact arithmetic; "
    "rounding only for display. Simulation and education only: not medical advice.",
    no_args_is_help=True,
)

# The commands, in the order `itb calc --help` lists them (each module in itb.therapy.calc).
for _name, _command in (
    ("rate", reservoir.rate),
    ("refill", reservoir.refill),
    ("refill-check", reservoir.refill_check),
    ("bridge", reservoir.bridge),
    ("titrate", doses.titrate),
    ("taper", doses.taper),
    ("initial-dose", doses.initial_dose),
    ("screening", trial.screening),
    ("candidate", trial.candidate),
    ("dilution", supplies.dilution),
    ("battery", supplies.battery),
    ("drugs", supplies.drugs),
):
    app.command(_name)(_command)
