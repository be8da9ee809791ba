"""Appointments, the reminder outbox and no-show escalations (itb.clinic.appointments,
reminders, escalations; docs/clinic-appointments.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from itb.clinic.migrations.shared import UTC_TIME, versioned

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "appointments", *versioned(),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("starts_at", UTC_TIME(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(128), nullable=False),
        sa.Column("clinician_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("window", sa.Text(), nullable=False),
        sa.Column("status_at", UTC_TIME(), nullable=True))
    op.create_index("ix_appointments_clinician_start", "appointments",
                    ["clinician_id", "starts_at"])
    op.create_index("ix_appointments_patient_start", "appointments",
                    ["patient_id", "starts_at"])
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("appointment_id", sa.Integer(), sa.ForeignKey("appointments.id"),
                  nullable=False),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_TIME(), nullable=False),
        sa.Column("to", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TIME(), nullable=False),
        sa.Column("sent_at", UTC_TIME(), nullable=True),
        sa.UniqueConstraint("appointment_id", "channel", "offset_minutes"))
    op.create_index("ix_reminders_due", "reminders", ["status", "due_at"])
    op.create_index("ix_reminders_patient_id", "reminders", ["patient_id"])
    op.create_table(
        "escalations", *versioned(),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("appointment_id", sa.Integer(), sa.ForeignKey("appointments.id"),
                  nullable=False, unique=True),
        sa.Column("raised_at", UTC_TIME(), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("misses_in_a_row", sa.Integer(), nullable=False),
        sa.Column("low_alarm_at", UTC_TIME(), nullable=True),
        sa.Column("empty_at", UTC_TIME(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("resolved_at", UTC_TIME(), nullable=True),
        sa.Column("resolution", sa.String(256), nullable=True))
    op.create_index("ix_escalations_patient_id", "escalations", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_escalations_patient_id", table_name="escalations")
    op.drop_table("escalations")
    op.drop_index("ix_reminders_patient_id", table_name="reminders")
    op.drop_index("ix_reminders_due", table_name="reminders")
    op.drop_table("reminders")
    op.drop_index("ix_appointments_patient_start", table_name="appointments")
    op.drop_index("ix_appointments_clinician_start", table_name="appointments")
    op.drop_table("appointments")
