"""Revision 0003_recording_results: recordings made before it keep their rows (the new
result columns empty), and the upgraded schema records and answers repeats."""

from __future__ import annotations

from sqlalchemy import text
from tests.clinic.conftest import NOW, NewDB, actor
from tests.clinic.feedkit import add_patient
from tests.clinic.test_recording import BASE

from itb.clinic import recording
from itb.clinic.db import ClinicDB, head_revision


def test_an_upgrade_keeps_earlier_recordings_and_then_records(new_db_url: NewDB) -> None:
    db = ClinicDB(new_db_url(migrated=False))
    db.migrate("0002")
    with db.engine.begin() as connection:  # a recording as the 0002 schema held it
        connection.execute(text(
            "INSERT INTO recordings (session_id, seq, serial, kind, received_at, entry) "
            "VALUES ('old-session', 1, 'T-100', 'bolus', :at, '{}')"),
            {"at": NOW.replace(tzinfo=None)})
    db.migrate()
    assert db.revision() == head_revision()
    with db.engine.connect() as connection:
        kept = connection.execute(text(
            "SELECT session_id, visit_id, entity, record_id FROM recordings")).one()
    assert tuple(kept) == ("old-session", None, None, None)
    add_patient(db)
    with db.session() as s:
        first = recording.record_entry(s, actor("nurse"), BASE, now=NOW)
    with db.session() as s:
        again = recording.record_entry(s, actor("nurse"), BASE, now=NOW)
    assert first.new and not again.new and again.record_id == first.record_id
    db.dispose()
