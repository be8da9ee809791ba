"""What a recorded journal entry became: `recordings` gains the visit, the table and the id
of the record it was filed as, so a repeat of the entry (a retry, a second sync) is answered
with the first result (itb.clinic.recording, docs/clinic-feed.md). Existing rows keep NULL.

Revision ID: 0003_recording_results (its own id: the worklist's 0003 is being made beside
it; whichever lands second is re-chained after the other)
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_recording_results"
down_revision = "0003"  # re-chained after the worklist's 0003 (both landed on main)
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite cannot add a foreign key to a table in place (Alembic copies it)
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("entity", sa.String(32), nullable=True))
        batch.add_column(sa.Column("record_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_recordings_visit_id", "visits", ["visit_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        batch.drop_constraint("fk_recordings_visit_id", type_="foreignkey")
        batch.drop_column("record_id")
        batch.drop_column("entity")
        batch.drop_column("visit_id")
