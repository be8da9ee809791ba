"""A patient's visits and symptom calls by time: indexes on (patient_id, at), so the record
page and its timeline read a patient's history newest first in one index range instead of
sorting every row of the patient.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_visits_patient_at", "visits", ["patient_id", "at"])
    op.create_index("ix_symptom_calls_patient_at", "symptom_calls", ["patient_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_symptom_calls_patient_at", table_name="symptom_calls")
    op.drop_index("ix_visits_patient_at", table_name="visits")
