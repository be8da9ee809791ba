"""`itb clinic worklist` and `itb clinic export-fhir`: the shell over itb.clinic.worklist
and itb.clinic.fhir. It opens the database, acts as the local operator (role admin, the
name of the OS user, audited like anyone), and prints; refusals are `Error:`/`Next:`."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from itb.cli_errors import refuse, refuse_error
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB, database_url
from itb.clinic.errors import ClinicError, RecordNotFound
from itb.clinic.worklist import DEFAULT_HORIZON_DAYS, KINDS, WorkEntry

DB_HELP = "The clinic database URL (default sqlite:///itb-clinic.db; env ITB_CLINIC_DB)."


def local_operator() -> Actor:
    """Whoever runs the command on the clinic's machine: an admin, named after the OS user."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(user_id=None, username=f"cli:{name}"[:64], role="admin")


@contextmanager
def clinic_session(db: str | None) -> Iterator[Session]:
    """One transaction on the named database; refusals as `Error:`/`Next:` (exit 2)."""
    url = database_url(db)
    try:
        parsed = make_url(url)
    except Exception:
        raise refuse(f"--db {url!r} is not a database URL",
                     "Give --db as sqlite:///FILE or postgresql://user@host/dbname.") from None
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).exists():
        raise refuse(f"--db {url!r}: there is no clinic database at {parsed.database}",
                     f"Create it with `itb clinic init --db {url}`, or correct --db.")
    try:
        clinic = ClinicDB(url)
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    try:
        with clinic.session() as session:
            yield session
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    except SQLAlchemyError as error:
        raise refuse(f"--db {url!r} could not be read ({type(error).__name__})",
                     f"Check that the database is up and initialised (`itb clinic init --db "
                     f"{url}`).") from None
    finally:
        clinic.dispose()


def _table(entries: list[WorkEntry]) -> Table:
    table = Table(title=f"Worklist: {len(entries)} entries", show_lines=False)
    for column in ("due", "kind", "mrn", "patient", "pump", "why"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(e.due.isoformat(), e.kind, e.mrn, e.name, e.pump_serial or "", e.reason)
    return table


def worklist_command(
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        as_json: bool = typer.Option(False, "--json", help="One JSON list on stdout."),
        kind: str | None = typer.Option(None, "--kind", help="Only one kind: "
                                        + ", ".join(KINDS) + "."),
        horizon: int = typer.Option(DEFAULT_HORIZON_DAYS, "--horizon-days",
                                    help="List refills due within this many days (0-365)."),
) -> None:
    """What the care team must do: refills due and overdue, replacements, critical alarms,
    patients not seen; each with the date and why (from each pump's last interrogation)."""
    from datetime import UTC, datetime

    from itb.clinic.worklist import HORIZON_DAYS, worklist

    if kind is not None and kind not in KINDS:
        raise refuse(f"--kind {kind!r} is not a kind of work",
                     "Give --kind as one of: " + ", ".join(KINDS) + ".")
    if not HORIZON_DAYS[0] <= horizon <= HORIZON_DAYS[1]:
        raise refuse(f"--horizon-days {horizon} is outside {HORIZON_DAYS[0]} to "
                     f"{HORIZON_DAYS[1]} days",
                     f"Give --horizon-days as a whole number of days from {HORIZON_DAYS[0]} "
                     f"to {HORIZON_DAYS[1]}.")
    with clinic_session(db) as session:
        entries = worklist(session, local_operator(), now=datetime.now(UTC), kind=kind,
                           horizon_days=horizon)
    if as_json:
        typer.echo(json.dumps([e.to_json() for e in entries], indent=2))
    else:
        Console(width=160).print(_table(entries))


def export_fhir_command(
        patient: str = typer.Option(..., "--patient", help="The patient's record number."),
        out: Path = typer.Option(..., "--out", help="The file to write the Bundle to."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write one patient's record as a FHIR R4B Bundle (JSON), validated before writing."""
    from datetime import UTC, datetime

    from itb.clinic.fhir import export_patient_by_mrn

    if out.is_dir() or not out.parent.is_dir():
        raise refuse(f"--out {str(out)!r} is not a file in an existing folder",
                     "Give --out as a new file's path in a folder that exists.")
    with clinic_session(db) as session:
        try:
            text = export_patient_by_mrn(session, local_operator(), patient.strip(),
                                         now=datetime.now(UTC))
        except RecordNotFound:
            raise refuse(f"--patient {patient!r}: no live patient has this record number",
                         "Give --patient as the record number of a patient in this clinic "
                         "database (`itb clinic worklist` lists them).") from None
    out.write_text(text, encoding="utf-8")
    typer.echo(f"FHIR R4B Bundle for {patient.strip()} written to {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("worklist")(worklist_command)
    app.command("export-fhir")(export_fhir_command)
