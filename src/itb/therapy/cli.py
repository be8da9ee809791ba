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

# The commands, in the order `itb calc --help` lists them, a line per module of
# itb.therapy.calc; Typer names each for its function (refill_check: refill-check).
for _command in (reservoir.rate, reservoir.refill, reservoir.refill_check, reservoir.bridge,
                 doses.titrate, doses.taper, doses.initial_dose,
                 trial.screening, trial.candidate,
                 supplies.dilution, supplies.battery, supplies.drugs):
    app.command()(_command)
