"""The worklist's indexes: the newest live interrogation of an implant is one seek on
(implant_id, deleted_at, at, id); a patient's last live refill one seek on (patient_id,
deleted_at, outcome, at); the patients refilled since a day one range of (deleted_at,
outcome, at, patient_id). See itb.clinic.worklist and docs/clinic-worklists-fhir.md.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_interrogations_latest", "interrogations",
                    ["implant_id", "deleted_at", "at", "id"])
    op.create_index("ix_refills_last", "refills", ["patient_id", "deleted_at", "outcome", "at"])
    op.create_index("ix_refills_recent", "refills",
                    ["deleted_at", "outcome", "at", "patient_id"])


def downgrade() -> None:
    op.drop_index("ix_refills_recent", table_name="refills")
    op.drop_index("ix_refills_last", table_name="refills")
    op.drop_index("ix_interrogations_latest", table_name="interrogations")
