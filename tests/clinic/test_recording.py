"""Recording the programmer's journal entries at the clinic (itb.clinic.recording): a real
visit driven through the programmer's workflows over the in-process wand link, each entry
filed as it is journaled; then repeats, conflicts, refusals and bad values."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.clinic.conftest import NOW, actor
from tests.clinic.feedkit import add_patient, recorded_visit
from tests.programmer.conftest import SERIAL, InProcessPump, make_pump

from itb.clinic import recording
from itb.clinic.db import ClinicDB
from itb.clinic.errors import DuplicateRecord, InvalidRecord, NotPermitted, RecordNotFound
from itb.clinic.models import (
    AuditEntry,
    Interrogation,
    Patient,
    ProgramChange,
    Recording,
    RefillRecord,
    SessionAct,
    Visit,
)
from itb.programmer.clinic_feed import entry_body
from itb.programmer.journal import Journal
from itb.programmer.programming import patient_facts
from itb.programmer.workflows import infusion, reading
from itb.programmer.workflows.program_change import ProgramChange as ProgramChangeFlow
from itb.programmer.workflows.program_change import ProgramRequest
from itb.programmer.workflows.refill_wizard import DrugAnswers, RefillWizard
from itb.therapy.units import to_exact_str


@pytest.fixture
def wand() -> InProcessPump:
    return make_pump()


def count(db: ClinicDB, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def drive_visit(db: ClinicDB, wand: InProcessPump, journal: Path) -> list[recording.Recorded]:
    """Interrogate, raise the dose, refill, give a bolus: every act recorded as it happens."""
    visit, results = recorded_visit(db, wand, journal)
    reading.interrogate(visit)
    change = ProgramChangeFlow(visit, ProgramRequest(patient_facts("spinal", "40"),
                                                     daily_dose_mcg=Fraction(330)))
    change.send(change.review(), confirmed=True)
    wizard = RefillWizard.start(visit)
    wizard.confirm_pump(True)
    wizard.check_residual(to_exact_str(Fraction(wand.pump.physical.reservoir_nl, 1_000_000)))
    wizard.check_drug(DrugAnswers("Lioresal Intrathecal", "500", "500", "18", lot="LOT-42",
                                  expiry="2027-06-30", second_check_by="RN Two"))
    wizard.plan_bridge(None, None)
    wizard.update(True)
    wizard.write_record()
    infusion.give_bolus(visit, infusion.review_bolus(visit, infusion.BolusRequest.parse(
        "20", "10")), True)
    return results


def test_a_visit_is_recorded_entry_by_entry_with_the_pumps_own_figures(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    patient_id = add_patient(clinic_db)
    results = drive_visit(clinic_db, wand, tmp_path / "session.jsonl")
    entries = Journal(tmp_path / "session.jsonl").entries()
    assert [r.entity for r in results] == ["interrogations", "program_changes", "refills",
                                           "session_acts"]
    assert [r.seq for r in results] == [e.seq for e in entries] == [1, 2, 3, 4]
    assert {r.visit_id for r in results} == {results[0].visit_id}
    assert all(r.new and r.patient_id == patient_id for r in results)
    with clinic_db.session() as s:
        visit = s.get(Visit, results[0].visit_id)
        assert visit is not None and visit.session_id == entries[0].session
        assert visit.kind == "refill"  # raised from interrogation by the session's refill
        first = s.get(Interrogation, results[0].record_id)
        assert first is not None
        shown = entries[0].details["interrogation"]
        # nL in mL: at most 6 places, so the column holds the pump's estimate exactly
        assert first.reservoir_ml == Decimal(shown["reservoir_estimate_ml"])
        assert first.daily_dose_mcg == 300 and first.strength_mcg_per_ml == 500
        assert first.refill_by is not None and first.low_alarm_at is not None
        assert first.refill_by.isoformat() == shown["refill_by"]
        assert first.low_alarm_at.isoformat() == shown["low_reservoir_alarm_at"]
        assert first.empty_at is not None and first.eri_at is not None
        assert first.end_of_service_at is not None and first.eri is False
        assert first.battery == "ok"
        change = s.get(ProgramChange, results[1].record_id)
        assert change is not None and change.outcome == "done"
        assert (change.daily_dose_before_mcg, change.daily_dose_after_mcg) == (300, 330)
        assert change.after["therapy"]["daily_dose_mcg"] == "330"
        refill = s.get(RefillRecord, results[2].record_id)
        assert refill is not None and refill.outcome == "done"
        assert refill.added_ml == 18 and refill.strength_mcg_per_ml == 500
        assert refill.lot == "LOT-42" and refill.expiry is not None
        assert refill.expiry.isoformat() == "2027-06-30" and refill.second_checker == "RN Two"
        assert refill.withdrawn_ml is not None and refill.wasted_ml == refill.withdrawn_ml
        assert refill.discrepancy_ml is not None and refill.pocket_check is None
        # the pump as read after the refill is the newest interrogation, for the worklists
        after = s.scalars(select(Interrogation).where(Interrogation.id != first.id)).one()
        assert after.reservoir_ml == Decimal(refill.details["reservoir_estimate_ml"])
        assert after.refill_by is not None and after.refill_by > first.refill_by
        assert after.visit_id == visit.id
        bolus = s.get(SessionAct, results[3].record_id)
        assert bolus is not None and bolus.kind == "bolus" and bolus.outcome == "done"


@pytest.mark.req("REQ-CLINIC-RECORD-ONCE")
def test_sending_an_entry_again_returns_the_first_result_and_writes_nothing(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    add_patient(clinic_db)
    first = drive_visit(clinic_db, wand, tmp_path / "session.jsonl")
    audit_before = count(clinic_db, AuditEntry)
    for entry in Journal(tmp_path / "session.jsonl").entries():
        with clinic_db.session() as s:
            again = recording.record_entry(s, actor("clinician"), entry_body(entry), now=NOW)
        assert again == replace(first[entry.seq - 1], new=False)
    assert count(clinic_db, Recording) == 4 and count(clinic_db, SessionAct) == 1
    assert count(clinic_db, Visit) == 1 and count(clinic_db, Interrogation) == 2
    assert count(clinic_db, AuditEntry) == audit_before


@pytest.mark.req("REQ-CLINIC-RECORD-ONCE")
def test_the_same_key_with_other_content_is_refused_and_the_first_kept(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    add_patient(clinic_db)
    drive_visit(clinic_db, wand, tmp_path / "session.jsonl")
    body = entry_body(Journal(tmp_path / "session.jsonl").entries()[3])
    with pytest.raises(DuplicateRecord, match="recorded before with other content"), \
            clinic_db.session() as s:
        recording.record_entry(s, actor("nurse"), {**body, "summary": "another bolus"},
                               now=NOW)
    with clinic_db.session() as s:
        kept = s.scalars(select(SessionAct)).one()
        assert kept.summary == body["summary"]


@pytest.mark.req("REQ-CLINIC-FEED-SERIAL")
def test_an_unknown_serial_is_refused_naming_it_and_nothing_is_written(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    add_patient(clinic_db, serial="OTHER-PUMP")
    with pytest.raises(RecordNotFound, match=f"serial '{SERIAL}'"):
        drive_visit(clinic_db, wand, tmp_path / "session.jsonl")
    assert count(clinic_db, Recording) == 0 and count(clinic_db, Visit) == 0


def test_a_viewer_may_not_record_and_the_denial_is_audited(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    add_patient(clinic_db)
    visit, _ = recorded_visit(clinic_db, wand, tmp_path / "session.jsonl", role="viewer")
    with pytest.raises(NotPermitted):
        reading.interrogate(visit)
    assert count(clinic_db, Recording) == 0
    with clinic_db.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).one()
        assert denied.entity == "recordings"


def nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


BASE = {"at": "2026-11-30T09:00:00+00:00", "kind": "bolus", "serial": SERIAL,
        "pump_time": None, "outcome": "done", "summary": "bolus 20 mcg", "details": {},
        "session": "20261130T090000Z-abc123", "seq": 1}


@pytest.mark.parametrize(("change", "field"), [
    ({"seq": 0}, "seq"), ({"seq": "1"}, "seq"), ({"session": "a b"}, "session"),
    ({"at": "2026-11-30T09:00:00"}, "at"), ({"kind": "Bolus!"}, "kind"),
    ({"serial": ""}, "serial"), ({"details": [1]}, "details"),
    ({"kind": "refill", "details": {"refill": {"withdrawn_ml": "1e3"}}},
     "details.refill.withdrawn_ml"),
    ({"kind": "refill", "details": {"refill": {"expiry": "June"}}}, "details.refill.expiry"),
    ({"kind": "interrogation", "details": {"interrogation": {"refill_by": "soon"}}},
     "details.interrogation.refill_by"),
    ({"details": {"dose": float("nan")}}, "details.dose"),
    ({"details": {"note": ["ok", "lone \ud800"]}}, "details.note[1]"),
    ({"details": {"note": "nul \x00"}}, "details.note"),
    ({"details": {"a": nested(14)}}, "details"),
])
def test_a_bad_value_is_refused_naming_its_field_and_nothing_is_written(
        clinic_db: ClinicDB, change: dict, field: str) -> None:
    add_patient(clinic_db)
    with pytest.raises(InvalidRecord) as refused, clinic_db.session() as s:
        recording.record_entry(s, actor("nurse"), {**BASE, **change}, now=NOW)
    assert refused.value.field == field
    assert count(clinic_db, Recording) == 0 and count(clinic_db, Visit) == 0


def test_a_long_outcome_is_shortened_for_its_column_and_kept_whole_in_the_details(
        clinic_db: ClinicDB) -> None:
    add_patient(clinic_db)
    words = "done (answer lost; confirmed from the pump's log)"
    with clinic_db.session() as s:
        done = recording.record_entry(s, actor("nurse"), {**BASE, "outcome": words}, now=NOW)
    with clinic_db.session() as s:
        act = s.get(SessionAct, done.record_id)
        assert act is not None and act.outcome == "done"
        assert act.details["outcome_words"] == words
        kept = s.get(Recording, done.recording_id)
        assert kept is not None and json.dumps(kept.entry, sort_keys=True) == json.dumps(
            {**BASE, "outcome": words}, sort_keys=True)


@pytest.mark.req("REQ-CLINIC-RECORD-ONCE")
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.lists(st.integers(1, 6), min_size=1, max_size=14))
def test_each_session_and_seq_is_recorded_once_whatever_the_order_and_repeats(
        clinic_db: ClinicDB, order: list[int]) -> None:
    """Property: any order of sends, with any repeats, leaves one recording (and one act) per
    distinct (session, seq), and every send of a key answers with the same ids."""
    session = f"prop-{uuid.uuid4().hex[:12]}"
    if count(clinic_db, Patient) == 0:  # the first example's; the later ones reuse it
        add_patient(clinic_db)
    answers: dict[int, set[tuple[int, int, int]]] = {}
    for seq in order:
        body = {**BASE, "session": session, "seq": seq, "summary": f"act {seq}"}
        with clinic_db.session() as s:
            done = recording.record_entry(s, actor("nurse"), body, now=NOW)
        answers.setdefault(seq, set()).add((done.recording_id, done.visit_id, done.record_id))
    with clinic_db.session() as s:
        kept = s.scalars(select(Recording.seq).where(Recording.session_id == session)).all()
        visits = s.scalars(select(Visit).where(Visit.session_id == session)).all()
    assert sorted(kept) == sorted(set(order))
    assert all(len(ids) == 1 for ids in answers.values()) and len(visits) == 1


@pytest.mark.req("REQ-CLINIC-RECORD-ONCE")
def test_a_concurrent_recording_of_the_same_key_is_503_and_the_retry_gets_the_first(
        clinic_db: ClinicDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another request commits the same (session, seq) between this one's look-up and its
    write: the unique key refuses the second (503, nothing of it kept), and the sender's
    retry gets the first result."""
    add_patient(clinic_db)
    looked_up = recording.implant_for

    def racing(session: object, serial: str) -> object:
        monkeypatch.setattr(recording, "implant_for", looked_up)
        with clinic_db.session() as other:
            recording.record_entry(other, actor("clinician"), BASE, now=NOW)
        return looked_up(session, serial)  # type: ignore[arg-type]

    monkeypatch.setattr(recording, "implant_for", racing)
    with pytest.raises(recording.RecordingBusy), clinic_db.session() as s:
        recording.record_entry(s, actor("nurse"), BASE, now=NOW)
    with clinic_db.session() as s:
        retried = recording.record_entry(s, actor("nurse"), BASE, now=NOW)
    assert not retried.new
    assert count(clinic_db, Recording) == 1 and count(clinic_db, SessionAct) == 1
    assert count(clinic_db, Visit) == 1


@pytest.mark.parametrize(("kind", "words", "model"), [
    ("program", "overridden", ProgramChange),
    ("refill", "refilled", RefillRecord),
    ("bolus", "done (answer lost; confirmed from the pump's log)", SessionAct)])
def test_an_act_carried_out_is_filed_as_done_with_the_programmers_words_kept(
        clinic_db: ClinicDB, kind: str, words: str, model: type) -> None:
    """The worklists and the FHIR export go by "done": a program sent with an override, or a
    refill the pump's log showed carried out after a lost link, is done."""
    add_patient(clinic_db)
    details = {"override_reason": "spasms (team)"} if kind == "program" else {}
    with clinic_db.session() as s:
        done = recording.record_entry(s, actor("clinician"), {
            **BASE, "kind": kind, "outcome": words, "details": details}, now=NOW)
    with clinic_db.session() as s:
        filed = s.get(model, done.record_id)
        assert filed is not None and filed.outcome == "done"
        assert filed.details["outcome_words"] == words
        if kind == "program":
            assert filed.override_reason == "spasms (team)"
