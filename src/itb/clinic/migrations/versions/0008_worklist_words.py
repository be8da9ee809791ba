"""The worklist's words in its summary: each `implant_status` row also holds the patient's
name, the pump's serial and the day-independent words of its entries (which date decides
the refill, the replacement sentence, the critical alarms' names, the day last seen), so a
whole list is one read of that table. The summary is derived: it is emptied, widened and
rebuilt from the records.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from itb.clinic.migrations.shared import drop_columns

revision = "0008"
down_revision = "0007"


def _words() -> list[sa.Column[object]]:
    return [sa.Column("name", sa.String(128), nullable=False),
            sa.Column("pump_serial", sa.String(64), nullable=False),
            sa.Column("refill_why", sa.Text(), nullable=False),
            sa.Column("replacement_reason", sa.Text(), nullable=True),
            sa.Column("critical_alarm_names", sa.JSON(none_as_null=True), nullable=True),
            sa.Column("last_seen_on", sa.Date(), nullable=False)]


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM implant_status"))
    # SQLite cannot add a NOT NULL column without a default in place: the table is copied
    with op.batch_alter_table("implant_status", recreate="always") as batch:
        for column in _words():
            batch.add_column(column)
    # the rebuild uses the module that keeps the table: if a later revision changes the
    # table, this revision must pass it the table as it made it (as 0007 does)
    from itb.clinic import implant_status

    implant_status.rebuild(op.get_bind())


def downgrade() -> None:
    drop_columns("implant_status", _words)
