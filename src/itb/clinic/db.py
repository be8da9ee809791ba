"""Engines and sessions: SQLite in a file by default, PostgreSQL by URL.

SQLite runs in WAL mode with `synchronous=FULL`, so a committed transaction is on disk
before the commit returns: a process killed mid-write loses only the transaction it had
not committed. Foreign keys are enforced on both back ends. The schema is made and
migrated by Alembic (`migrate`); nothing else creates tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from itb.clinic import implant_status
from itb.clinic.errors import InvalidRecord

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

DEFAULT_URL = "sqlite:///itb-clinic.db"
URL_ENV = "ITB_CLINIC_DB"


def database_url(given: str | None = None) -> str:
    """--db, else ITB_CLINIC_DB, else a SQLite file in the working folder."""
    return given or os.environ.get(URL_ENV) or DEFAULT_URL


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def shown_url(url: str) -> str:
    """`url` as a message may show it: a PostgreSQL password is masked."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgresql://` means psycopg 3. Refuses what is not a DB URL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidRecord("--db", url, "a database URL such as sqlite:///itb-clinic.db or "
                            "postgresql://user@host/dbname") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:" and not Path(path).parent.is_dir():
            raise InvalidRecord("--db", url, "a SQLite file in a folder that exists")
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise InvalidRecord("--db", url, "a sqlite:/// or postgresql:// URL")
    return create_engine(parsed, pool_pre_ping=True)


def alembic_config(connection: Connection) -> Any:
    """Alembic's configuration without an alembic.ini: the revisions shipped in the package,
    run on `connection` (migrations/env.py takes it from `attributes`)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "itb.clinic:migrations")
    config.attributes["connection"] = connection
    return config


def _shipped() -> ScriptDirectory:
    """The package's Alembic revisions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None))  # type: ignore[arg-type]


def head_revision() -> str:
    """The newest revision shipped in the package."""
    head = _shipped().get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision shipped in the package."""
    return {script.revision for script in _shipped().walk_revisions()}


@dataclass
class ClinicDB:
    """One database: its engine and a session factory."""

    url: str
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # the worklist's summary is written in the same transaction as the records it sums
        event.listen(self.sessions, "after_flush", implant_status.after_flush)

    @property
    def shown_url(self) -> str:
        """The URL as a message may show it: a PostgreSQL password is masked."""
        return shown_url(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on any error."""
        with self.sessions() as session, session.begin():
            yield session

    def migrate(self, revision: str = "head") -> None:
        """Create the schema, or bring it up to `revision` (Alembic, from the package)."""
        from alembic import command

        with self.engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)

    def revision(self) -> str | None:
        """The schema revision the database is at (None: not made by Alembic yet)."""
        from alembic.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()
