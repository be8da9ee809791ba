"""`itb clinic demo`: build a demo clinic (itb.clinic.demo) and say how to log in."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from itb.cli_errors import refuse_error
from itb.clinic import demo as demo_clinic
from itb.clinic.commands.clinic_db import DB_HELP
from itb.clinic.db import ClinicDB, database_url
from itb.clinic.demo_appointments import add_demo_appointments
from itb.clinic.errors import ClinicError, InvalidRecord
from itb.errors import ItbError


def demo(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    state: Path | None = typer.Option(None, "--state", help="Folder for the simulated pumps "
                                      "(served by `itb pump serve --state DIR`)."),
    patients: int = typer.Option(12, "--patients", help="How many patients (1 to 100000)."),
    seed: int = typer.Option(1, "--seed", help="The same seed makes the same clinic."),
    records_only: bool = typer.Option(False, "--records-only", help="Records only, no pumps "
                                      "(bulk inserts, for benchmarks)."),
    pump_port: int | None = typer.Option(None, "--pump-port", help="The port `itb pump serve` "
                                         "will serve the pumps on, filed with each implant."),
    pump_host: str = typer.Option("127.0.0.1", "--pump-host", help="Its loopback address."),
    now: str | None = typer.Option(None, "--now", hidden=True,
                                   help="The demo's present, ISO-8601 with offset (tests)."),
) -> None:
    """Build a demo clinic: synthetic patients with simulated pumps and years of history."""
    started = time.monotonic()
    try:
        moment = demo_clinic.demo_now(now)
        demo_clinic.check_options(patients, moment)
        if not records_only and state is None:
            raise InvalidRecord("--state", None, "a folder for the simulated pumps "
                                "(or --records-only)")
        if pump_port is not None and not 1 <= pump_port <= 65535:
            raise InvalidRecord("--pump-port", pump_port, "1 to 65535")
        if state is not None and not records_only and (state / "pumps").is_dir() and any(
                (state / "pumps").iterdir()):
            raise InvalidRecord("--state", str(state), "a new or empty folder",
                                "it already holds pumps")
        clinic = ClinicDB(database_url(db))
        try:
            clinic.migrate()
            demo_clinic.require_empty(clinic)
            plans = demo_clinic.plan_patients(patients, seed, moment)
            if records_only:
                counts = demo_clinic.write_records_only(clinic, plans, moment)
                made = f"{sum(counts.values())} records"
            else:
                from itb.clinic.demo_pumps import write_with_pumps

                assert state is not None
                with clinic.session() as session:
                    write_with_pumps(session, plans, state, moment, pump_host, pump_port)
                made = f"{len(plans)} simulated pumps in {state}"
            made += f", {add_demo_appointments(clinic, moment)} appointments"
        finally:
            clinic.dispose()
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    except ItbError as error:
        raise refuse_error(error) from None
    shown = clinic.shown_url
    typer.echo(f"Demo clinic ready: {patients} patients, {made}, in {shown} "
               f"({time.monotonic() - started:.1f} s)")
    typer.echo("Demo logins (a demo clinic only):")
    for name, password, role in demo_clinic.LOGINS_SHOWN:
        typer.echo(f"  {role:<9} username {name:<9} password {password}")
    if not records_only:
        typer.echo(f"Serve the pumps: itb pump serve --state {state} --port "
                   f"{pump_port if pump_port is not None else 'PORT'}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("demo")(demo)
