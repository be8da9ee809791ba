"""The records-only demo (bulk inserts past the ORM) keeps the worklist's summary in step
with what it inserted, and leaves a clinic the services can go on writing to."""

from __future__ import annotations

from sqlalchemy import select
from tests.clinic.conftest import NOW, NewDB, actor
from tests.clinic.test_implant_status import fresh_worklist

from itb.clinic import demo, recording
from itb.clinic.db import ClinicDB
from itb.clinic.models import Implant, Visit
from itb.clinic.worklist import worklist

NURSE = actor("nurse")


def test_a_records_only_demo_has_its_summary_and_takes_new_records(new_db_url: NewDB
                                                                   ) -> None:
    db = ClinicDB(new_db_url())
    demo.write_records_only(db, demo.plan_patients(30, 5, NOW), NOW, batch=7)
    with db.session() as s:
        listed = worklist(s, NURSE, now=NOW)
        assert listed and [e.to_json() for e in listed] == [
            e.to_json() for e in fresh_worklist(s, NOW, 14)]
        serial = s.scalars(select(Implant.pump_serial).order_by(Implant.id)).first()
    entry = {"at": NOW.isoformat(), "kind": "interrogation", "serial": serial,
             "pump_time": None, "outcome": "done", "summary": "interrogated",
             "details": {"interrogation": {"battery_status": "elective_replacement"}},
             "session": "after-the-demo", "seq": 1}
    with db.session() as s:  # a new visit and interrogation get ids after the demo's
        filed = recording.record_entry(s, NURSE, entry, now=NOW)
        assert filed.new and s.get(Visit, filed.visit_id) is not None
    with db.session() as s:
        after = worklist(s, NURSE, now=NOW)
        assert [e.to_json() for e in after] == [e.to_json() for e in fresh_worklist(s, NOW, 14)]
        assert any(e.kind == "replacement_due" and e.pump_serial == serial for e in after)
    db.dispose()
