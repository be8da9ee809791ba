"""What a recorded journal entry became: `recordings` gains the visit, the table and the id
of the record it was filed as, so a repeat of the entry (a retry, a second sync) is answered
with the first result (itb.clinic.recording, docs/clinic-feed.md). Existing rows keep NULL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
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
