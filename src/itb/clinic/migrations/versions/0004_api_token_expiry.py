"""API tokens' expiry (`api_tokens.expires_at`): the column the API slice added to the models
after 0001 was written, without a revision of its own (main failed its migration test:
the migrated schema must equal the models). If the API slice brings its own revision for
it, keep one of the two.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        # UTCDateTime: naive in the database, always UTC (as 0001 spells it)
        table.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.drop_column("expires_at")
