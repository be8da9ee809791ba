"""A patient's visits and symptom calls by time: indexes on (patient_id, at), so the record
page and its timeline read a patient's history newest first in one index range instead of
sorting every row of the patient.
"""

from __future__ import annotations

from itb.clinic.migrations.shared import create_indexes, drop_indexes

revision = "0002"
down_revision = "0001"

INDEXES = (("ix_visits_patient_at", "visits", ("patient_id", "at")),
           ("ix_symptom_calls_patient_at", "symptom_calls", ("patient_id", "at")))


def upgrade() -> None:
    create_indexes(INDEXES)


def downgrade() -> None:
    drop_indexes(INDEXES)
