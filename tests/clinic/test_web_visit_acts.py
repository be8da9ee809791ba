"""The visit in the browser, below the pages: its acts on the programmer's workflows over the
real (in-memory) wand link to an in-process pump, recorded to a real clinic database.

The pages and the browser are tested in tests/browser/test_visit_*.py; here each act's
result, its wording (the programmer's refusal table, as the CLI says it) and what reaches
the clinic's record are checked directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.clinic.conftest import actor
from tests.programmer.conftest import SERIAL, InProcessPump, make_pump

from itb.cli_errors import _sentence
from itb.clinic import patients
from itb.clinic.db import ClinicDB
from itb.clinic.models import (
    AuditEntry,
    Interrogation,
    ProgramChange,
    Recording,
    RefillRecord,
    SessionAct,
)
from itb.clinic.models import Visit as VisitRecord
from itb.clinic.recording import record_entry
from itb.clinic.web import visit_acts as acts
from itb.clinic.web.visit_recording import ClinicRecorder
from itb.clinic.web.visit_state import RecordedVisit, Refill, VisitStore, WebVisit, recorded_visit
from itb.programmer.clinic_feed import entry_body
from itb.programmer.journal import Journal
from itb.programmer.refusals import explain
from itb.programmer.wand import ConnectionOptions
from itb.programmer.workflows.refill_wizard import DrugAnswers
from itb.therapy.errors import RefillDiscrepancy
from itb.therapy.units import to_exact_str


def _now() -> datetime:
    return datetime.now(UTC)


def _patient(db: ClinicDB, born: date = date(1980, 3, 1)) -> tuple[int, int]:
    with db.session() as session:
        nurse = actor("nurse")
        patient = patients.create_patient(session, nurse, {
            "mrn": "MRN-1", "name": "Test Patient", "date_of_birth": born,
            "weight_kg": "70", "origin": "spinal"}, now=_now())
        implant = patients.add_implant(session, nurse, patient.id, {
            "pump_serial": SERIAL, "pump_model": "synchromed-ii-20",
            "implanted_on": date(2026, 1, 5), "pump_host": "127.0.0.1", "pump_port": 7400},
            now=_now())
        return patient.id, implant.id


def _web(db: ClinicDB, wand: InProcessPump, tmp: Path, role: str = "nurse",
         recorder: Callable[..., None] | None = None) -> WebVisit:
    patient_id, implant_id = _patient(db)
    record = recorder or ClinicRecorder(db, actor(role), patient_id, _now)
    visit = recorded_visit(wand.open_session, tmp / "visit.jsonl", SERIAL, _now, record)
    options = ConnectionOptions("127.0.0.1", 7400, None, SERIAL)
    return WebVisit(patient_id, implant_id, SERIAL, options, visit)


def _syringe(wand: InProcessPump) -> str:
    return to_exact_str(Fraction(wand.pump.physical.reservoir_nl, 1_000_000))


def _rows(db: ClinicDB, model: type) -> list:
    with db.session() as session:
        return list(session.scalars(select(model)))


@pytest.fixture
def wand() -> InProcessPump:
    return make_pump(days=5)


def _refill_to_update(web: WebVisit, wand: InProcessPump) -> Refill:
    assert acts.refill_start(web).ok
    refill = web.refill
    assert refill is not None and refill.step == 1
    assert acts.refill_confirm(refill, web, True).ok and refill.step == 2
    assert acts.refill_residual(refill, web, _syringe(wand)).ok and refill.step == 3
    said = acts.refill_drug(refill, web, DrugAnswers("Lioresal Intrathecal", "500", "500", "18"))
    assert said.ok and refill.step == 5, said
    return refill


def test_a_refill_in_the_browser_reaches_the_clinic_record_with_its_new_alarm_date(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    web = _web(clinic_db, wand, tmp_path)
    assert acts.interrogate(web).ok
    refill = _refill_to_update(web, wand)
    said = acts.refill_update(refill, web, True)
    assert said.ok and refill.step == 7 and refill.recorded, said
    assert any(line.startswith("Low-reservoir alarm projected") for line in said.lines)
    refills = _rows(clinic_db, RefillRecord)
    assert len(refills) == 1 and refills[0].added_ml == Decimal("18")
    assert refills[0].details["outcome"] == "refilled"
    newest = max(_rows(clinic_db, Interrogation), key=lambda row: row.id)
    assert web.view is not None
    assert newest.low_alarm_at == web.view.projection.low_reservoir_alarm_at
    assert newest.reservoir_ml is not None and newest.reservoir_ml > 17
    assert [v.kind for v in _rows(clinic_db, VisitRecord)] == ["refill"]
    audited = {(a.action, a.entity) for a in _rows(clinic_db, AuditEntry)}
    assert ("create", "refills") in audited and ("create", "interrogations") in audited
    # every journal entry of the visit is in the clinic, once
    assert len(_rows(clinic_db, Recording)) == len(Journal(web.visit.journal).entries())


@pytest.mark.req("REQ-PRG-REFILL-DISCREPANCY")
def test_a_discrepancy_stops_the_refill_with_the_cli_sentence_and_is_recorded(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    web = _web(clinic_db, wand, tmp_path)
    assert acts.refill_start(web).ok
    refill = web.refill
    assert refill is not None and acts.refill_confirm(refill, web, True).ok
    said = acts.refill_residual(refill, web, "2")
    assert not said.ok and refill.step == 0
    stop = refill.wizard.stopped
    assert stop is not None and isinstance(stop.cause, RefillDiscrepancy)
    sentence, next_step = explain(stop.cause)
    assert (said.text, said.next_step) == (_sentence(sentence), _sentence(next_step))
    assert "Possible causes:" in said.text
    [record] = _rows(clinic_db, RefillRecord)
    assert record.outcome == "stopped" and record.withdrawn_ml == Decimal("2")
    assert wand.sent_changes == []


def test_the_refill_update_is_offered_once_even_when_it_fails(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    web = _web(clinic_db, wand, tmp_path)
    refill = _refill_to_update(web, wand)
    wand.refuse_sessions_after = wand.sessions  # the pump is out of reach from now on
    said = acts.refill_update(refill, web, True)
    assert not said.ok and refill.step == 0
    assert said.text.startswith("Cannot reach the pump at 127.0.0.1:7400")
    assert wand.sent_changes == []


@pytest.mark.req("REQ-PRG-UNCERTAIN", "REQ-WEB-VISIT-ONCE")
@pytest.mark.parametrize(("cut", "delivery"), [("request", "not carried out"),
                                              ("acted", "carried out")])
def test_a_bolus_whose_link_is_lost_says_what_the_pump_log_shows(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path, cut: str,
        delivery: str) -> None:
    web = _web(clinic_db, wand, tmp_path, role="clinician")
    assert acts.bolus_review(web, "10", "5").ok
    wand.cut_change = [cut]
    said = acts.bolus_give(web, True)
    assert not said.ok and said.delivery == delivery
    assert len(wand.sent_changes) == 1  # never resent
    assert web.bolus is None  # the review is used once
    assert not acts.bolus_give(web, True).ok and len(wand.sent_changes) == 1
    [act] = [a for a in _rows(clinic_db, SessionAct) if a.kind == "bolus"]
    assert act.outcome == ("not done" if cut == "request" else "done")
    assert delivery in act.summary


@pytest.mark.req("REQ-PRG-REVIEW")
def test_an_over_limit_titration_is_refused_without_a_reason_and_sent_with_one(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    web = _web(clinic_db, wand, tmp_path, role="clinician")
    born, today = date(1980, 3, 1), date(2026, 11, 30)
    said, preview = acts.program_review(web, {"daily_dose": "450"}, "spinal", born, today)
    assert not said.ok and said.text.startswith("Dose change refused:")
    assert preview is not None and "Titration check" in preview
    assert web.program_review is None
    assert not acts.program_send(web, True, False).ok and wand.sent_changes == []
    said, _ = acts.program_review(web, {"daily_dose": "450", "override_reason": "severe spasms"},
                                  "spinal", born, today)
    assert said.ok, said
    sent = acts.program_send(web, True, False)
    assert sent.ok and sent.text.startswith("Program sent and verified"), sent
    changes = _rows(clinic_db, ProgramChange)
    assert [c.outcome for c in changes] == ["refused", "done"]
    assert changes[-1].details["outcome_words"] == "overridden"
    assert changes[-1].override_reason == "severe spasms"
    assert changes[-1].daily_dose_after_mcg == Decimal("450")


@pytest.mark.req("REQ-WEB-VISIT-RECORD")
def test_a_recording_failure_never_hides_the_act_and_is_caught_up_once(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    failing = [True]
    patient_id, implant_id = _patient(clinic_db)
    clinic = ClinicRecorder(clinic_db, actor("nurse"), patient_id, _now)

    def flaky(entry):  # type: ignore[no-untyped-def]
        if failing[0]:
            raise ConnectionError("clinic database unreachable")
        clinic(entry)

    visit = recorded_visit(wand.open_session, tmp_path / "v.jsonl", SERIAL, _now, flaky)
    web = WebVisit(patient_id, implant_id, SERIAL, ConnectionOptions("h", 1, None, SERIAL),
                   visit)
    assert acts.interrogate(web).ok
    assert visit.recording.error is not None and visit.recording.recorded == 0
    failing[0] = False
    assert acts.interrogate(web).ok
    assert visit.recording.error is None and visit.recording.recorded == 2
    assert len(_rows(clinic_db, Interrogation)) == 2


@pytest.mark.req("REQ-WEB-VISIT-RECORD")
def test_recording_is_idempotent_on_session_and_sequence(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    web = _web(clinic_db, wand, tmp_path)
    assert acts.interrogate(web).ok
    [entry] = Journal(web.visit.journal).entries()
    with clinic_db.session() as session:  # the same entry again, as a retry would send it
        again = record_entry(session, actor("nurse"), entry_body(entry), now=_now())
    assert not again.new and again.patient_id == web.patient_id
    assert len(_rows(clinic_db, Interrogation)) == 1


def test_the_store_forgets_an_idle_visit(tmp_path: Path) -> None:
    clock = [0.0]
    store = VisitStore(tmp_path, idle_s=10, monotonic=lambda: clock[0])
    web = WebVisit(1, 1, "S", ConnectionOptions("h", 1, None, "S"),
                   RecordedVisit(lambda: None, tmp_path / "j", "S"))  # type: ignore[arg-type,return-value]
    store.put(("login", 1), web)
    clock[0] = 5
    assert store.get(("login", 1)) is web
    clock[0] = 16
    assert store.get(("login", 1)) is None


def test_an_alarm_is_acknowledged_and_recorded_and_an_unknown_kind_is_refused_as_the_cli(
        clinic_db: ClinicDB, tmp_path: Path) -> None:
    wand = make_pump(days=31)  # past the low-reservoir alarm
    web = _web(clinic_db, wand, tmp_path)
    assert acts.interrogate(web).ok
    assert web.view is not None and [a.code for a in web.view.report.alarms] == ["low_reservoir"]
    refused = acts.acknowledge(web, "occlusion")
    assert not refused.ok and refused.text.startswith("--ack = occlusion is not allowed")
    said = acts.acknowledge(web, "low_reservoir")
    assert said.ok and said.text.startswith("1 sounding alarm(s) silenced")
    assert web.view.report.alarms[0].acknowledged
    [ack] = [a for a in _rows(clinic_db, SessionAct) if a.kind == "alarm_ack"]
    assert ack.outcome == "done" and ack.details["silenced"] == 1


@pytest.mark.req("REQ-WEB-VISIT-ONCE")
def test_stop_and_resume_are_read_then_confirmed_once_each(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    web = _web(clinic_db, wand, tmp_path, role="clinician")
    warning = acts.infusion_review(web, "stop")
    assert warning.ok and warning.text.startswith("Warning: stopping intrathecal baclofen")
    crossed = acts.infusion_change(web, "resume", True)  # a stop was read, not a resume
    assert not crossed.ok and not wand.sent_changes
    assert acts.infusion_review(web, "stop").ok
    stopped = acts.infusion_change(web, "stop", True)
    assert stopped.ok and "minimum_rate" in stopped.text, stopped
    assert not acts.infusion_change(web, "stop", True).ok  # used once
    assert acts.infusion_review(web, "resume").ok
    assert acts.infusion_change(web, "resume", True).ok
    assert [type(c).__name__ for c in wand.sent_changes] == ["Stop", "Resume"]
    assert [a.kind for a in _rows(clinic_db, SessionAct)] == ["stop", "resume"]


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_a_guardrail_warning_is_listed_and_its_confirmation_asked_as_the_cli_does(
        clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path) -> None:
    web = _web(clinic_db, wand, tmp_path, role="clinician")
    said = acts.bolus_review(web, "60", "10")  # above the first screening bolus: a warning
    assert said.ok and web.bolus is not None
    assert [line for line in said.lines if line.startswith("Warning: ")], said.lines
    question = acts.confirm_question(web)["bolus_question"]
    assert question == f"Confirm the 1 warning above and give this bolus now on pump {SERIAL}?"
    assert acts.bolus_give(web, True).ok
    [bolus] = [a for a in _rows(clinic_db, SessionAct) if a.kind == "bolus"]
    assert bolus.details["guardrails"][0]["tier"] == "warning"
