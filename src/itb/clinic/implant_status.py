"""The per-implant summary the worklist reads (`implant_status`), kept in step with the
records in the same transaction as every write that changes it.

One row per patient's current implant (live patient; live implant not explanted; the newest
if a record lists two): its newest live interrogation, the patient's last live refill that
filled the reservoir, the current prescription's stability limit, and the values the
worklist's rules list it by (`worklist.listing_keys`). The worklist is then one plain read
of this table joined by primary key, instead of correlated sub-selects per implant.

How it stays in step: `after_flush` (a listener on every `ClinicDB` session factory) sees
each patient, implant, interrogation, refill and prescription the flush wrote (created,
changed, soft-deleted, deleted) and recomputes those patients' rows from the records, in
the same transaction, so a commit never leaves the summary behind and a rollback takes it
back too. A soft-deleted newest interrogation falls back to the one before, because the
rows are recomputed, never patched. Bulk inserts that bypass the ORM (the records-only
demo) call `refresh` themselves; revisions 0007 and 0008 call `rebuild`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Connection, Row, Table, delete, func, insert, select
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.attributes import get_history

from itb.clinic.models import (
    Implant,
    ImplantStatus,
    Interrogation,
    Patient,
    Prescription,
    RefillRecord,
)
from itb.clinic.worklist import REFILLED, listing_keys

BATCH = 2000  # rows per INSERT when rebuilding a whole clinic
_TABLE: Table = ImplantStatus.__table__  # type: ignore[assignment]


def _fresh_rows(connection: Connection, patient_ids: Collection[int] | None) -> list[Row[Any]]:
    """The current implants of these patients (all, if None) with their newest live
    interrogation, last refill and stability, computed from the records."""
    g = Interrogation
    latest_id = (select(g.id).where(g.implant_id == Implant.id, g.deleted_at.is_(None))
                 .order_by(g.at.desc(), g.id.desc()).limit(1).correlate(Implant)
                 .scalar_subquery())
    last_refill = (select(func.max(RefillRecord.at))
                   .where(RefillRecord.patient_id == Patient.id,
                          RefillRecord.deleted_at.is_(None), RefillRecord.outcome == REFILLED)
                   .correlate(Patient).scalar_subquery())
    stability = (select(Prescription.stability_days)
                 .where(Prescription.patient_id == Patient.id,
                        Prescription.deleted_at.is_(None), Prescription.ended_on.is_(None))
                 .order_by(Prescription.started_on.desc(), Prescription.id.desc())
                 .limit(1).correlate(Patient).scalar_subquery())
    query = (select(Patient.id.label("patient_id"), Patient.mrn, Patient.name,
                    Patient.refill_interval_days, Implant.id.label("implant_id"),
                    Implant.pump_serial, Implant.implanted_on,
                    g.id.label("interrogation_id"), g.at, g.refill_by, g.low_alarm_at, g.eri,
                    g.eri_at, g.end_of_service_at, g.alarms,
                    last_refill.label("last_refill"), stability.label("stability"))
             .select_from(Implant)
             .join(Patient, Patient.id == Implant.patient_id)
             .outerjoin(g, g.id == latest_id)
             .where(Patient.deleted_at.is_(None), Implant.deleted_at.is_(None),
                    Implant.explanted_on.is_(None)))
    if patient_ids is not None:
        query = query.where(Implant.patient_id.in_(patient_ids))
    newest: dict[int, Row[Any]] = {}
    for row in connection.execute(query):
        kept = newest.get(row.patient_id)
        if kept is None or (row.implanted_on, row.implant_id) > (kept.implanted_on,
                                                                  kept.implant_id):
            newest[row.patient_id] = row
    return list(newest.values())


def _summary(row: Row[Any]) -> dict[str, Any]:
    return {"implant_id": row.implant_id, "patient_id": row.patient_id, "mrn": row.mrn,
            "interrogation_id": row.interrogation_id, "last_refill_at": row.last_refill,
            "stability_days": row.stability, **listing_keys(row)}


def _write(connection: Connection, rows: list[Row[Any]], table: Table) -> None:
    """Insert the rows' summaries into `table`: the model's, or the one an older revision
    made (it gets the columns it has)."""
    columns = set(table.c.keys())
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(table), [
            {key: value for key, value in _summary(row).items() if key in columns}
            for row in rows[start:start + BATCH]])


def refresh(connection: Connection, patient_ids: Collection[int]) -> None:
    """Recompute these patients' rows from their records (on the caller's transaction)."""
    ids = sorted(set(patient_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        connection.execute(delete(ImplantStatus).where(ImplantStatus.patient_id.in_(chunk)))
        _write(connection, _fresh_rows(connection, chunk), _TABLE)


def rebuild(connection: Connection, table: Table | None = None) -> int:
    """Recompute every row (revisions 0007 and 0008, each with the table as it made it);
    returns the number of rows."""
    table = _TABLE if table is None else table
    connection.execute(delete(table))
    rows = _fresh_rows(connection, None)
    _write(connection, rows, table)
    return len(rows)


def _ids(record: Any, attribute: str) -> Iterable[int]:
    """The attribute's value, and the one it had before this flush (a record moved)."""
    history = get_history(record, attribute)
    for value in (*history.added, *history.unchanged, *history.deleted):
        if value is not None:
            yield int(value)


def _patients_touched(session: Session) -> set[int]:
    patients: set[int] = set()
    implants: set[int] = set()
    for record in (*session.new, *session.dirty, *session.deleted):
        if isinstance(record, Patient):
            if record not in session.new:  # a new patient has no implant yet
                patients.add(record.id)
        elif isinstance(record, Implant | RefillRecord | Prescription | Interrogation):
            patients.update(_ids(record, "patient_id"))
            if isinstance(record, Interrogation):  # listed by its implant's patient
                implants.update(_ids(record, "implant_id"))
    if implants:
        patients.update(session.connection().scalars(
            select(Implant.patient_id).where(Implant.id.in_(implants))))
    return patients


def after_flush(session: Session, _flush: UOWTransaction) -> None:
    """The `after_flush` listener: refresh the patients this flush touched."""
    patients = _patients_touched(session)
    if patients:
        refresh(session.connection(), patients)
