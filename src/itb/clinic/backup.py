"""A portable logical backup of the clinic: every table through SQLAlchemy, so a SQLite
backup restores into PostgreSQL and back.

The file is gzip'd JSON lines: a header (format, schema revision, time, source back end),
then for each table (in foreign-key order) a line naming its columns and one line per row,
then a trailer with the row counts and the SHA-256 of every line before it. A restore first
reads the whole file and checks the trailer, so a damaged or cut-off file changes nothing;
then it loads into an empty database at the backup's revision (made so if the database
is new) in one transaction, resets PostgreSQL's id sequences and migrates to the newest
revision. It refuses a non-empty database unless told to replace it (`replace=True`:
the database's tables are dropped and made again; the audit goes with them).

Values are written as the clinic reads them (exact decimals as text, UTC times in ISO-8601)
and read back by each column's type, so nothing passes through a binary float.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Column, Connection, Date, MetaData, Table, inspect, select, text

from itb.clinic.audit import plain
from itb.clinic.columns import ExactDecimal, UTCDateTime
from itb.clinic.db import ClinicDB, head_revision, known_revisions
from itb.clinic.errors import ClinicError, InvalidRecord
from itb.clinic.models import Base

FORMAT = "itb-clinic-backup"
FORMAT_VERSION = 1
BATCH = 2000


class NotEmpty(ClinicError):
    """The restore target holds records; restoring over them needs --replace."""

    status = 409
    next_step = ("Restore into a new, empty database, or add --replace to drop this "
                 "database's records (and its audit) and put the backup's in their place.")


@dataclass(frozen=True)
class Summary:
    revision: str
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _typed(table: Table, row: list[Any]) -> dict[str, Any]:
    """A row of the file as the column types want it."""
    out: dict[str, Any] = {}
    for column, value in zip(table.columns, row, strict=True):
        if value is not None:
            kind = column.type
            if isinstance(kind, ExactDecimal):
                value = Decimal(value)
            elif isinstance(kind, UTCDateTime):
                value = datetime.fromisoformat(value).astimezone(UTC)
            elif isinstance(kind, Date):
                value = date.fromisoformat(value)
        out[column.key] = value
    return out


class _Writer:
    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()

    def line(self, obj: object) -> None:
        data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        self.digest.update(data)
        self.stream.write(data)


def _dump(connection: Connection, writer: _Writer, revision: str, source: str) -> Summary:
    writer.line({"format": FORMAT, "format_version": FORMAT_VERSION, "revision": revision,
                 "made_at": datetime.now(UTC).isoformat(), "source": source})
    rows: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        writer.line({"table": table.name, "columns": [c.key for c in table.columns]})
        count = 0
        query = select(table).order_by(*table.primary_key.columns)
        for row in connection.execution_options(yield_per=BATCH).execute(query):
            writer.line([plain(v) for v in row])
            count += 1
        rows[table.name] = count
    writer.stream.write(json.dumps({"end": True, "rows": rows,
                                    "sha256": writer.digest.hexdigest()}).encode() + b"\n")
    return Summary(revision, rows)


def backup(db: ClinicDB, out: Path) -> Summary:
    """Write every table of `db` to `out` (one consistent snapshot)."""
    revision = db.revision()
    if revision != head_revision():
        raise InvalidRecord("--db", db.url, "a clinic database at the newest schema revision "
                            f"({head_revision()}; `itb clinic init` migrates it)",
                            f"it is at {revision or 'no revision: not a clinic database'}")
    partial = out.with_name(out.name + ".partial")
    with gzip.open(partial, "wb") as stream:
        if db.engine.dialect.name == "sqlite":
            summary = _dump_sqlite_snapshot(db, _Writer(stream), revision)
        else:  # one snapshot of every table, however long the dump takes
            with db.engine.connect().execution_options(
                    isolation_level="REPEATABLE READ") as connection, connection.begin():
                summary = _dump(connection, _Writer(stream), revision, "postgresql")
    partial.replace(out)  # a backup cut off half-way never looks finished
    return summary


def _dump_sqlite_snapshot(db: ClinicDB, writer: _Writer, revision: str) -> Summary:
    """SQLite: copy the file with SQLite's online backup (a consistent snapshot even while
    the clinic writes), then dump the copy."""
    database = db.engine.url.database
    assert database is not None
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "snapshot.db"
        with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        source.close()
        target.close()
        snapshot = ClinicDB(f"sqlite:///{copy}")
        try:
            with snapshot.engine.connect() as connection:
                return _dump(connection, writer, revision, "sqlite")
        finally:
            snapshot.dispose()


def _lines(path: Path) -> Iterator[bytes]:
    with gzip.open(path, "rb") as stream:
        yield from stream


def verify(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Read the whole file and check it: its header and its trailer's checksum."""
    if not path.is_file():
        raise InvalidRecord("--from", str(path), "a backup file made by itb clinic backup")
    digest = hashlib.sha256()
    header: dict[str, Any] | None = None
    trailer: dict[str, Any] | None = None
    try:
        for line in _lines(path):
            if trailer is not None:
                trailer = None  # something after the trailer: damaged
                break
            if header is None:
                header = json.loads(line)
            if line.startswith(b'{"end":'):
                trailer = json.loads(line)
            else:
                digest.update(line)
    except (OSError, EOFError, ValueError):
        trailer = None
    if (header is None or header.get("format") != FORMAT
            or header.get("format_version") != FORMAT_VERSION):
        raise InvalidRecord("--from", str(path), "a backup file made by itb clinic backup",
                            "it is not one")
    if trailer is None or trailer.get("sha256") != digest.hexdigest():
        raise InvalidRecord("--from", str(path), "a complete, undamaged backup file",
                            "it is cut off or damaged: its checksum does not match")
    return header, trailer["rows"]


def _row_count(connection: Connection) -> int:
    """Rows in the clinic's tables, whatever revision the database is at."""
    names = set(inspect(connection).get_table_names()) - {"alembic_version"}
    return sum(connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
               for name in names)


def restore(db: ClinicDB, path: Path, *, replace: bool = False) -> Summary:
    """Load the backup at `path` into `db` (checked first; see the module's docstring)."""
    header, rows = verify(path)
    revision = str(header["revision"])
    if revision not in known_revisions():
        raise InvalidRecord("--from", str(path), "a backup of a schema revision this itb knows",
                            f"it is at revision {revision}; this itb knows up to "
                            f"{head_revision()}")
    current = db.revision()
    if current is not None:
        if current not in known_revisions():
            raise InvalidRecord("--db", db.url, "a database at a schema revision this itb "
                                f"knows (up to {head_revision()})", f"it is at {current}")
        with db.engine.connect() as connection:
            held = _row_count(connection)
        if held and not replace:
            raise NotEmpty(f"The database {db.shown_url} already holds {held} rows.")
        _drop_everything(db)  # empty (or replaced): made again at the backup's revision
    db.migrate(revision)
    with db.engine.begin() as connection:
        _load(connection, path)
    db.migrate("head")
    return Summary(revision, rows)


def _drop_everything(db: ClinicDB) -> None:
    """Every table, down through the revisions (dropping the audit's table drops its
    triggers with it: this is the one way its entries go, and only on --replace)."""
    from alembic import command

    from itb.clinic.db import alembic_config

    with db.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")


def _file_table(name: str, columns: list[str]) -> Table:
    """The table as the backup has it: its columns (with the models' types, for the exact
    values), and no others, so a backup of an older revision loads at that revision."""
    model = Base.metadata.tables.get(name)
    if model is None or any(c not in model.c for c in columns):
        raise InvalidRecord("--from", name, "a backup whose tables this itb knows")
    return Table(name, MetaData(), *[Column(c, model.c[c].type) for c in columns])


def _load(connection: Connection, path: Path) -> None:
    table: Table | None = None
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(_lines(path)):
        item = json.loads(line)
        if number == 0 or (isinstance(item, dict) and item.get("end")):
            continue
        if isinstance(item, dict):
            _flush(connection, table, batch)
            table = _file_table(item["table"], item["columns"])
            continue
        assert table is not None
        batch.append(_typed(table, item))
        if len(batch) >= BATCH:
            _flush(connection, table, batch)
    _flush(connection, table, batch)
    if connection.dialect.name == "postgresql":  # ids were given: move the sequences on
        for name in set(inspect(connection).get_table_names()) - {"alembic_version"}:
            if name == "implant_status":  # keyed by the implant's id: no sequence of its own
                continue
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))


def _flush(connection: Connection, table: Table | None, batch: list[dict[str, Any]]) -> None:
    if table is not None and batch:
        connection.execute(table.insert(), batch)
    batch.clear()
