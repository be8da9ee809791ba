"""What the clinic's commands share: the `--db` option's help, the local operator, and
opening the clinic database with every refusal as `Error:`/`Next:` (exit code 2)."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from itb.cli_errors import refuse, refuse_error
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB, database_url, head_revision, known_revisions
from itb.clinic.errors import ClinicError

DB_HELP = "The clinic database URL (default sqlite:///itb-clinic.db; env ITB_CLINIC_DB)."


def local_operator() -> Actor:
    """Whoever runs the command on the clinic's machine: an admin, named after the OS user."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor(user_id=None, username=f"cli:{name}"[:64], role="admin")


def _checked_url(db: str | None) -> str:
    """The URL of `--db` (or ITB_CLINIC_DB); a SQLite file must exist (a typo would
    otherwise create an empty database)."""
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
    return url


def open_clinic(db: str | None) -> ClinicDB:
    """The initialised clinic database `--db` names (the caller disposes of it)."""
    url = _checked_url(db)
    try:
        clinic = ClinicDB(url)
        ready = inspect(clinic.engine).has_table("users")
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    except SQLAlchemyError as error:
        raise refuse(f"The clinic database could not be opened ({type(error).__name__}).",
                     "Check --db and that the database is running.") from None
    if not ready:
        clinic.dispose()
        raise refuse(f"The database {clinic.shown_url} has no clinic records yet.",
                     f"Run `itb clinic init --db {clinic.shown_url}` first.")
    _check_revision(clinic)
    return clinic


def _check_revision(clinic: ClinicDB) -> None:
    """Refuse a database this itb's tables do not match (after an upgrade of itb, before
    `itb clinic init` has migrated it; or made by a newer itb), before any command reads
    it: otherwise a list or a page would fail half-way on a column that is not there."""
    at, head = clinic.revision(), head_revision()
    if at == head:
        return
    clinic.dispose()
    if at in known_revisions():
        raise refuse(f"The clinic database {clinic.shown_url} is at schema revision {at}; "
                     f"this itb needs revision {head}.",
                     f"Run `itb clinic init --db {clinic.shown_url}` to migrate it (every "
                     "record is kept).")
    raise refuse(f"The clinic database {clinic.shown_url} is at schema revision {at}, "
                 f"which this itb does not know (it knows up to {head}).",
                 "Use the itb that made it, or a newer one.")


@contextmanager
def clinic_session(db: str | None) -> Iterator[Session]:
    """One transaction on the clinic database `--db` names, committed at the end."""
    clinic = open_clinic(db)
    try:
        with clinic.session() as session:
            yield session
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    except SQLAlchemyError as error:
        raise refuse(f"The clinic database {clinic.shown_url} could not be used "
                     f"({type(error).__name__}).", "Check that the database is up and "
                     f"initialised (`itb clinic init --db {clinic.shown_url}`).") from None
    finally:
        clinic.dispose()
