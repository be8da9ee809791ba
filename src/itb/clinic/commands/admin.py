"""`itb clinic init` (and, being built: user add, token create); backup and restore are in
commands/backup.py, registered from here."""

from __future__ import annotations

import typer

from itb.clinic.commands import backup
from itb.clinic.commands.clinic_db import DB_HELP
from itb.clinic.db import ClinicDB, database_url


def init(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
    """Create the clinic database, or migrate it to the current schema."""
    clinic = ClinicDB(database_url(db))
    try:
        clinic.migrate()
        revision = clinic.revision()
    finally:
        clinic.dispose()
    shown = clinic.shown_url
    typer.echo(f"Clinic database ready: {shown} (at schema revision {revision})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("init")(init)
    backup.register(app)  # backup, restore
