"""Login tokens expire (api_tokens.expires_at), and the worklist's indexes: the latest live
interrogation of each implant, and each patient's last refill.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.create_index("ix_interrogations_latest", "interrogations",
                    ["implant_id", "deleted_at", "at", "id"])
    op.create_index("ix_refills_last", "refills", ["patient_id", "deleted_at", "outcome", "at"])
    op.create_index("ix_refills_recent", "refills",
                    ["deleted_at", "outcome", "at", "patient_id"])


def downgrade() -> None:
    op.drop_index("ix_refills_recent", table_name="refills")
    op.drop_index("ix_refills_last", table_name="refills")
    op.drop_index("ix_interrogations_latest", table_name="interrogations")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
