"""What several revisions spell the same way: the column types as the database holds them,
the columns of every clinical record, and adding or dropping a list of indexes or columns.

Frozen: shipped revisions call these, so what they make must never change (a database
migrated before and after must end the same). A new schema is a new revision; a new shape
of helper is a new function here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

EXACT = sa.BigInteger  # ExactDecimal: an integer of millionths
UTC_TIME = sa.DateTime  # UTCDateTime: naive in the database, always UTC

# (index name, table, columns), created in this order and dropped in the reverse
Indexes = Sequence[tuple[str, str, Sequence[str]]]


def versioned() -> list[sa.Column[object]]:
    """The columns of every clinical record (models.Versioned)."""
    return [sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("created_at", UTC_TIME(), nullable=False),
            sa.Column("deleted_at", UTC_TIME(), nullable=True)]


def create_indexes(indexes: Indexes) -> None:
    for name, table, columns in indexes:
        op.create_index(name, table, list(columns))


def drop_indexes(indexes: Indexes) -> None:
    for name, table, _columns in reversed(indexes):
        op.drop_index(name, table_name=table)


def add_columns(table: str, columns: Callable[[], list[sa.Column[object]]],
                foreign_keys: Sequence[tuple[str, str, str]] = ()) -> None:
    """Add the columns (and foreign keys: name, column, referred table) in a batch: SQLite
    cannot add a foreign key to a table in place (Alembic copies it)."""
    with op.batch_alter_table(table) as batch:
        for column in columns():
            batch.add_column(column)
        for name, column_name, referred in foreign_keys:
            batch.create_foreign_key(name, referred, [column_name], ["id"])


def drop_columns(table: str, columns: Callable[[], list[sa.Column[object]]],
                 foreign_keys: Sequence[tuple[str, str, str]] = ()) -> None:
    """Undo `add_columns`: the foreign keys first, then the columns, newest first."""
    with op.batch_alter_table(table) as batch:
        for name, _column, _referred in foreign_keys:
            batch.drop_constraint(name, type_="foreignkey")
        for column in reversed(columns()):
            batch.drop_column(column.name)
