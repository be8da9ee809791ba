"""The worklist's indexes: the newest live interrogation of an implant is one seek on
(implant_id, deleted_at, at, id); a patient's last live refill one seek on (patient_id,
deleted_at, outcome, at); the patients refilled since a day one range of (deleted_at,
outcome, at, patient_id). See itb.clinic.worklist and docs/clinic-worklists-fhir.md (since
revision 0007 the worklist reads implant_status; its upkeep still uses the first two).
"""

from __future__ import annotations

from itb.clinic.migrations.shared import create_indexes, drop_indexes

revision = "0003"
down_revision = "0002"

INDEXES = (("ix_interrogations_latest", "interrogations", ("implant_id", "deleted_at", "at",
                                                           "id")),
           ("ix_refills_last", "refills", ("patient_id", "deleted_at", "outcome", "at")),
           ("ix_refills_recent", "refills", ("deleted_at", "outcome", "at", "patient_id")))


def upgrade() -> None:
    create_indexes(INDEXES)


def downgrade() -> None:
    drop_indexes(INDEXES)
