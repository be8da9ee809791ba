"""`itb clinic backup` and `itb clinic restore`: a portable logical backup (itb.clinic.backup)
that moves between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from itb.cli_errors import refuse, refuse_error
from itb.clinic import backup as store
from itb.clinic.commands.clinic_db import DB_HELP
from itb.clinic.db import ClinicDB, database_url, shown_url
from itb.clinic.errors import ClinicError


def _run(url: str | None, act: str, work: Callable[[ClinicDB], store.Summary]) -> store.Summary:
    try:
        clinic = ClinicDB(database_url(url))
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    try:
        return work(clinic)
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    except SQLAlchemyError as error:
        raise refuse(f"The {act} could not use the database {clinic.shown_url} "
                     f"({type(error).__name__}).",
                     "Check --db and that the database server is running.") from None
    finally:
        clinic.dispose()


def backup(
    out: Path = typer.Option(..., "--out", help="The backup file to write (gzip'd JSON lines)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Write every record of the clinic to a file (portable between SQLite and PostgreSQL)."""
    if out.is_dir() or not out.parent.is_dir():
        raise refuse_error(store.InvalidRecord("--out", str(out), "a file in an existing folder"))
    done = _run(db, "backup", lambda clinic: store.backup(clinic, out))
    typer.echo(f"Backed up {done.total} rows of {len(done.rows)} tables "
               f"(schema revision {done.revision}) to {out}")


def restore(
    source: Path = typer.Option(..., "--from", help="A file made by `itb clinic backup`."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    replace: bool = typer.Option(False, "--replace", help="Drop the database's records (and "
                                 "audit) first, if it holds any."),
) -> None:
    """Load a backup into an empty clinic database (checked whole before anything changes)."""
    done = _run(db, "restore",
                lambda clinic: store.restore(clinic, source, replace=replace))
    typer.echo(f"Restored {done.total} rows of {len(done.rows)} tables (schema revision "
               f"{done.revision}, now migrated to the newest) into {shown_url(database_url(db))}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("backup")(backup)
    app.command("restore")(restore)
