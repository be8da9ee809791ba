"""The clinic's first schema: models.py as of the clinic skeleton (commit ff2478c), written
out, and the triggers that make the audit append-only in the database itself.

Quantities are BIGINT millionths (itb.clinic.columns.ExactDecimal), times naive-UTC
DATETIME/TIMESTAMP (UTCDateTime): the column types are spelled out here as the database
holds them, so this file does not change when the Python types do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from itb.clinic.migrations.shared import EXACT, UTC_TIME, versioned

revision = "0001"
down_revision = None


def _col(name: str, kind: sa.types.TypeEngine[object] | type, null: bool = False,
         fk: str | None = None) -> sa.Column[object]:
    if fk is not None:
        return sa.Column(name, kind, sa.ForeignKey(fk), nullable=null)
    return sa.Column(name, kind, nullable=null)


def _index(table: str, *columns: str) -> None:
    op.create_index(f"ix_{table}_{columns[0]}", table, list(columns), unique=False)


def _audit_users_patients() -> None:
    op.create_table(
        "audit", sa.Column("id", sa.Integer(), primary_key=True),
        _col("at", UTC_TIME()), _col("user_id", sa.Integer(), True),
        _col("username", sa.String(64)), _col("action", sa.String(16)),
        _col("entity", sa.String(32)), _col("entity_id", sa.String(64), True),
        _col("patient_id", sa.Integer(), True), _col("before", sa.JSON(), True),
        _col("after", sa.JSON(), True), _col("detail", sa.Text()))
    _index("audit", "at")
    _index("audit", "patient_id")
    op.create_table(
        "patients", _col("mrn", sa.String(32)), _col("name", sa.String(128)),
        _col("date_of_birth", sa.Date()), _col("weight_kg", EXACT()),
        _col("origin", sa.String(16)), _col("injury_level", sa.String(16), True),
        _col("time_zone", sa.String(64)), _col("refill_interval_days", sa.Integer()),
        _col("phone", sa.String(32), True), _col("email", sa.String(128), True),
        _col("notes", sa.Text()), *versioned(), sa.UniqueConstraint("mrn"))
    op.create_table(
        "users", sa.Column("id", sa.Integer(), primary_key=True),
        _col("username", sa.String(64)), _col("role", sa.String(16)),
        _col("password_hash", sa.String(256)),
        _col("patient_id", sa.Integer(), True, "patients.id"), _col("active", sa.Boolean()),
        _col("created_at", UTC_TIME()), _col("failed_logins", sa.Integer()),
        _col("locked_until", UTC_TIME(), True), sa.UniqueConstraint("username"))
    op.create_table(
        "api_tokens", sa.Column("id", sa.Integer(), primary_key=True),
        _col("user_id", sa.Integer(), False, "users.id"), _col("token_sha256", sa.String(64)),
        _col("name", sa.String(128)), _col("created_at", UTC_TIME()),
        _col("revoked_at", UTC_TIME(), True), sa.UniqueConstraint("token_sha256"))


def _implants_prescriptions_trials() -> None:
    op.create_table(
        "implants", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("pump_serial", sa.String(64)), _col("pump_model", sa.String(64)),
        _col("implanted_on", sa.Date()), _col("catheter_length_cm", EXACT(), True),
        _col("catheter_volume_ml", EXACT(), True), _col("key_file", sa.String(512), True),
        _col("pump_host", sa.String(128), True), _col("pump_port", sa.Integer(), True),
        _col("explanted_on", sa.Date(), True), _col("explant_reason", sa.String(256), True),
        _col("replaces_id", sa.Integer(), True, "implants.id"), *versioned())
    _index("implants", "patient_id")
    _index("implants", "pump_serial")
    op.create_table(
        "prescriptions", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("drug", sa.String(64)), _col("strength_mcg_per_ml", EXACT()),
        _col("daily_dose_mcg", EXACT()), _col("program", sa.JSON()),
        _col("max_daily_dose_mcg", EXACT(), True), _col("patient_bolus_mcg", EXACT(), True),
        _col("patient_bolus_lockout_min", sa.Integer(), True),
        _col("patient_bolus_max_per_day", sa.Integer(), True),
        _col("stability_days", sa.Integer(), True), _col("started_on", sa.Date()),
        _col("ended_on", sa.Date(), True), _col("prescriber_id", sa.Integer(), True, "users.id"),
        *versioned())
    _index("prescriptions", "patient_id")
    op.create_table(
        "screening_trials", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("started_on", sa.Date()), _col("boluses", sa.JSON()),
        _col("decision", sa.String(32)), _col("notes", sa.Text()), *versioned())
    _index("screening_trials", "patient_id")
    op.create_table(
        "symptom_calls", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("at", UTC_TIME()), _col("symptoms", sa.JSON()), _col("disposition", sa.String(32)),
        _col("causes", sa.JSON()), _col("advice", sa.Text()),
        _col("taken_by_id", sa.Integer(), True, "users.id"), *versioned())
    _index("symptom_calls", "patient_id")


def _visits_interrogations() -> None:
    op.create_table(
        "visits", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("implant_id", sa.Integer(), True, "implants.id"), _col("kind", sa.String(32)),
        _col("at", UTC_TIME()), _col("clinician_id", sa.Integer(), True, "users.id"),
        _col("session_id", sa.String(64), True), _col("ashworth", EXACT(), True),
        _col("notes", sa.Text()), *versioned())
    _index("visits", "patient_id")
    _index("visits", "session_id")
    op.create_table(
        "interrogations", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("implant_id", sa.Integer(), True, "implants.id"),
        _col("visit_id", sa.Integer(), True, "visits.id"), _col("at", UTC_TIME()),
        _col("pump_time", UTC_TIME(), True), _col("reservoir_ml", EXACT(), True),
        _col("strength_mcg_per_ml", EXACT(), True), _col("daily_dose_mcg", EXACT(), True),
        _col("alarms", sa.JSON()), _col("battery", sa.String(64), True),
        _col("eri", sa.Boolean()), _col("refill_by", UTC_TIME(), True),
        _col("low_alarm_at", UTC_TIME(), True), _col("empty_at", UTC_TIME(), True),
        _col("eri_at", UTC_TIME(), True), _col("end_of_service_at", UTC_TIME(), True),
        *versioned())
    _index("interrogations", "at")
    _index("interrogations", "implant_id")
    _index("interrogations", "patient_id")


def _session_records() -> None:
    op.create_table(
        "refills", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("visit_id", sa.Integer(), True, "visits.id"), _col("at", UTC_TIME()),
        _col("outcome", sa.String(16)), _col("withdrawn_ml", EXACT(), True),
        _col("expected_ml", EXACT(), True), _col("discrepancy_ml", EXACT(), True),
        _col("added_ml", EXACT(), True), _col("strength_mcg_per_ml", EXACT(), True),
        _col("drug", sa.String(64), True), _col("lot", sa.String(64), True),
        _col("expiry", sa.Date(), True), _col("bridge_bolus_mcg", EXACT(), True),
        _col("wasted_ml", EXACT(), True), _col("second_checker", sa.String(64), True),
        _col("pocket_check", sa.String(128), True), _col("details", sa.JSON()),
        *versioned())
    _index("refills", "patient_id")
    op.create_table(
        "program_changes", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("visit_id", sa.Integer(), True, "visits.id"), _col("at", UTC_TIME()),
        _col("outcome", sa.String(16)), _col("daily_dose_before_mcg", EXACT(), True),
        _col("daily_dose_after_mcg", EXACT(), True), _col("before", sa.JSON()),
        _col("after", sa.JSON()), _col("override_reason", sa.Text(), True),
        _col("details", sa.JSON()), *versioned())
    _index("program_changes", "patient_id")
    op.create_table(
        "session_acts", _col("patient_id", sa.Integer(), False, "patients.id"),
        _col("visit_id", sa.Integer(), True, "visits.id"), _col("at", UTC_TIME()),
        _col("kind", sa.String(32)), _col("outcome", sa.String(16)), _col("summary", sa.Text()),
        _col("details", sa.JSON()), *versioned())
    _index("session_acts", "patient_id")
    op.create_table(
        "recordings", sa.Column("id", sa.Integer(), primary_key=True),
        _col("session_id", sa.String(64)), _col("seq", sa.Integer()),
        _col("serial", sa.String(64)), _col("kind", sa.String(32)),
        _col("received_at", UTC_TIME()), _col("entry", sa.JSON()),
        _col("patient_id", sa.Integer(), True, "patients.id"),
        sa.UniqueConstraint("session_id", "seq"))


APPEND_ONLY = "the audit is append-only: its entries are never changed or removed"


def _audit_triggers() -> None:
    """The database refuses any UPDATE or DELETE of an audit entry (and, on PostgreSQL, a
    TRUNCATE), whoever connects: the service never tries, this catches everyone else."""
    if op.get_bind().dialect.name == "sqlite":
        for act in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_no_{act.lower()} BEFORE {act} ON audit "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
        return
    op.execute("CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$")
    op.execute("CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
               "FOR EACH ROW EXECUTE FUNCTION audit_append_only()")
    op.execute("CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")


def upgrade() -> None:
    _audit_users_patients()
    _implants_prescriptions_trials()
    _visits_interrogations()
    _session_records()
    _audit_triggers()


def downgrade() -> None:
    """Back to an empty database (dropping a table drops its triggers)."""
    for table in ("recordings", "session_acts", "program_changes", "refills", "interrogations",
                  "visits", "symptom_calls", "screening_trials", "prescriptions", "implants",
                  "api_tokens", "users", "patients", "audit"):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION audit_append_only()")
