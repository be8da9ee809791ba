"""`itb clinic worklist` and `itb clinic export-fhir`: the shell over itb.clinic.worklist
and itb.clinic.fhir. It opens the database, acts as the local operator (role admin, the
name of the OS user, audited like anyone), and prints; refusals are `Error:`/`Next:`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from itb.cli_errors import refuse
from itb.clinic.commands.clinic_db import DB_HELP, clinic_session, local_operator
from itb.clinic.errors import RecordNotFound
from itb.clinic.worklist import DEFAULT_HORIZON_DAYS, KINDS, WorkEntry


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
