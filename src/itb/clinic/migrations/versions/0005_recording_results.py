"""What a recorded journal entry became: `recordings` gains the visit, the table and the id
of the record it was filed as, so a repeat of the entry (a retry, a second sync) is answered
with the first result (itb.clinic.recording, docs/clinic-feed.md). Existing rows keep NULL.
"""

from __future__ import annotations

import sqlalchemy as sa

from itb.clinic.migrations.shared import add_columns, drop_columns

revision = "0005"
down_revision = "0004"

FOREIGN_KEYS = (("fk_recordings_visit_id", "visit_id", "visits"),)


def _columns() -> list[sa.Column[object]]:
    return [sa.Column("visit_id", sa.Integer(), nullable=True),
            sa.Column("entity", sa.String(32), nullable=True),
            sa.Column("record_id", sa.Integer(), nullable=True)]


def upgrade() -> None:
    add_columns("recordings", _columns, FOREIGN_KEYS)


def downgrade() -> None:
    drop_columns("recordings", _columns, FOREIGN_KEYS)
