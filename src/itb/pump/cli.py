"""`itb pump ...`: run one simulated pump from the command line.

The shell only parses, calls the pure core (`itb.pump.simulate`) and prints. Everything is
computed before anything is printed, so a refusal leaves no partial output.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from itb.cli_errors import refuse_value
from itb.errors import InvalidInput, ItbError
from itb.pump.catalogue import MODELS
from itb.pump.pump import DEFAULT_CATHETER_VOLUME_NL
from itb.pump.serve_cli import register_pump_commands
from itb.pump.simulate import MAX_SEED, MAX_SIMULATED_DAYS, SimulationResult, simulate_pump
from itb.therapy.units import NL_PER_ML, display, to_decimal_str

app = typer.Typer(name="pump", help="The implanted pump model: simulate a pump over days.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

# The pump clock counts whole seconds from 1970 (itb.pump.pump.to_datetime); the
# latest start leaves room for the longest run inside Python's datetime range.
EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9989, 1, 1, tzinfo=UTC)


def _fail(message: str) -> typer.Exit:
    return refuse_value(message)


def _start_time(start: str | None) -> datetime:
    """The implant time of --start (default: now), in whole UTC seconds."""
    if start is None:
        return datetime.now(tz=UTC).replace(microsecond=0)
    try:
        begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("start", start or '""', "an ISO-8601 time such as "
                           "2026-01-05T08:00:00Z") from None
    if begin.tzinfo is None:
        raise InvalidInput("start", start, "an ISO-8601 time with a zone (Z or +01:00)")
    try:
        begin = begin.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59-05:00 is past year 9999 in UTC
        begin = datetime.max.replace(tzinfo=UTC)
    if not EARLIEST_START <= begin <= LATEST_START:
        raise InvalidInput("start", start, f"a time from {EARLIEST_START:%Y-%m-%d} "
                           f"(the pump clock's epoch) to {LATEST_START:%Y-%m-%d} UTC "
                           f"(a run of up to {MAX_SIMULATED_DAYS} days must end "
                           "before year 10000)")
    if begin.microsecond:
        raise InvalidInput("start", start, "a time in whole seconds")
    return begin


def _render(result: SimulationResult) -> None:
    console = Console()
    table = Table(title=f"{result.model}: {result.start:%Y-%m-%d %H:%M} to "
                  f"{result.end:%Y-%m-%d %H:%M} UTC", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("Programmed daily dose" + (" (flex mean)" if result.flex_time_zone else ""),
                  f"{display(result.programmed_daily_dose_mcg)} mcg/day")
    table.add_row("Drug into the spinal fluid (true)", f"{display(result.delivered_mcg)} mcg")
    table.add_row("Drug the firmware counted", f"{display(result.commanded_mcg)} mcg")
    table.add_row("Drug lost to a leak", f"{display(result.leaked_mcg)} mcg")
    table.add_row("Drug injected into the pocket", f"{display(result.pocket_mcg)} mcg")
    table.add_row("Reservoir (true)",
                  f"{display(Fraction(result.reservoir_nl, NL_PER_ML))} mL")
    table.add_row("Reservoir (firmware estimate)",
                  f"{display(Fraction(result.reservoir_estimate_nl, NL_PER_ML))} mL")
    table.add_row("Battery", result.battery_state)
    table.add_row("Log events", str(result.events))
    table.add_row("Log entries overwritten (ring full)", str(result.log_overflowed))
    console.print(table)
    if result.flex_clock_note:
        console.print(f"Flex clock: {result.flex_clock_note}.")
    if result.alarms:
        alarms = Table(title="Alarms raised")
        alarms.add_column("time")
        alarms.add_column("alarm")
        alarms.add_column("critical")
        for alarm in result.alarms:
            alarms.add_row(alarm["time"], alarm["kind"], "yes" if alarm["critical"] else "no")
        console.print(alarms)
    else:
        console.print("No alarms.")
    for refill in result.refills:
        console.print(f"Refill {refill['time']}: expected residual {refill['expected_residual_ml']}"
                      f" mL, found {refill['withdrawn_ml']} mL"
                      + (" (POCKET FILL)" if refill["pocket_fill"] else ""))
    for note in result.notes:
        console.print(f"Note: {note}")
    console.print("Figures are rounded half-to-even for display; --json gives exact values. "
                  "A simulation, not a medical device.")


@app.command()
def simulate(
    model: str = typer.Option("synchromed-ii-20", help="Pump model: " + ", ".join(sorted(MODELS))),
    fill_ml: str | None = typer.Option(None, help="Initial fill in mL (default: full)."),
    concentration: str = typer.Option("500", help="Drug concentration, mcg/mL."),
    daily_dose: str | None = typer.Option(None, help="Simple continuous dose, mcg/day."),
    flex: Path | None = typer.Option(None, help="Flex schedule TOML file (docs/therapy.md, "
                                     "'Flex file'); its zone runs at its UTC offset at --start."),
    alarm_ml: str | None = typer.Option(None, help="Low-reservoir alarm volume, mL "
                                        "(default: the model's, 2 mL)."),
    days: str = typer.Option("30", help="Days to simulate."),
    start: str | None = typer.Option(None, help="Implant time, ISO-8601 with zone (default now)."),
    seed: str = typer.Option("0", help="Seed for this pump's stroke calibration and drift "
                             f"(0 to {MAX_SEED})."),
    refill_every_days: str | None = typer.Option(
        None, help="Empty and refill to full at the same concentration every N days."),
    max_daily_dose: str | None = typer.Option(
        None, help="Clinician's maximum daily dose, mcg (default: programmed 24 h dose + 25%, "
        "at most what the pump can deliver in 24 h)."),
    max_bolus: str = typer.Option("100", help="Clinician's maximum bolus, mcg (at most a day "
                                   "at the model's maximum flow)."),
    catheter_ml: str = typer.Option(
        to_decimal_str(Fraction(DEFAULT_CATHETER_VOLUME_NL, NL_PER_ML)),
        help="Catheter volume, mL (tubing to tip)."),
    prime: bool = typer.Option(True, help="Give the priming bolus at implant."),
    occlusion_at: list[str] = typer.Option([], help="Fully occlude the catheter at DAYS."),
    disconnect_at: list[str] = typer.Option([], help="Disconnect the catheter at DAYS."),
    stall: list[str] = typer.Option([], help="Motor stall DAYS:HOURS (e.g. MRI at day 10, 2 h)."),
    pocket_fill_refill: list[str] = typer.Option(
        [], help="Make the Nth scheduled refill a pocket fill (1 = first)."),
    memory_corruption_at: list[str] = typer.Option(
        [], help="Flip a bit in the active program slot at DAYS."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Simulate one implanted pump: true delivery vs the firmware's count, alarms, refills."""
    try:
        result = simulate_pump(
            model=model, fill_ml=fill_ml, concentration=concentration, daily_dose=daily_dose,
            flex=flex, alarm_ml=alarm_ml, days=days, start=_start_time(start), seed=seed,
            refill_every_days=refill_every_days, max_daily_dose=max_daily_dose,
            max_bolus=max_bolus, catheter_ml=catheter_ml, prime=prime,
            occlusion_at=occlusion_at, disconnect_at=disconnect_at, stall=stall,
            pocket_fill_refill=pocket_fill_refill, memory_corruption_at=memory_corruption_at)
    except ItbError as error:
        raise _fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        _render(result)


# `itb pump new`, `serve` and `list` (simulated pumps on the wand link) come after simulate.
register_pump_commands(app)
