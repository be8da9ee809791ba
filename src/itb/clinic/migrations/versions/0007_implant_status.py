"""The worklist's per-implant summary (`implant_status`, itb.clinic.implant_status): each
patient's current implant with its newest live interrogation, last refill, stability limit
and the values the worklist lists it by; backfilled here from the existing records.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from itb.clinic.migrations.shared import UTC_TIME, create_indexes, drop_indexes

revision = "0007"
down_revision = "0006"

# each list's most urgent rows are the first entries of one index (worklist.LISTS)
INDEXES = tuple((f"ix_implant_status_{name}", "implant_status", (due, "mrn")) for name, due in (
    ("refill", "refill_due_on"), ("replacement", "replacement_due_on"), ("seen", "seen_on"),
    ("not_seen", "not_seen_due_on")))


def upgrade() -> None:
    table = op.create_table(
        "implant_status",
        sa.Column("implant_id", sa.Integer(), sa.ForeignKey("implants.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False,
                  unique=True),
        sa.Column("mrn", sa.String(32), nullable=False),
        sa.Column("interrogation_id", sa.Integer(), sa.ForeignKey("interrogations.id"),
                  nullable=True),
        sa.Column("last_refill_at", UTC_TIME(), nullable=True),
        sa.Column("stability_days", sa.Integer(), nullable=True),
        sa.Column("refill_due_on", sa.Date(), nullable=False),
        sa.Column("eri", sa.Boolean(), nullable=False),
        sa.Column("replacement_due_on", sa.Date(), nullable=True),
        sa.Column("critical_alarms", sa.Integer(), nullable=False),
        sa.Column("seen_on", sa.Date(), nullable=True),
        sa.Column("not_seen_due_on", sa.Date(), nullable=False))
    create_indexes(INDEXES)
    # the backfill uses the module that keeps the table, given the table as this revision
    # made it (it fills the columns this table has; 0008 adds the worklist's words)
    from itb.clinic import implant_status

    implant_status.rebuild(op.get_bind(), table)


def downgrade() -> None:
    drop_indexes(INDEXES)
    op.drop_table("implant_status")
