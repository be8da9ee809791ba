"""The programmer's workflows as a library: driven without the CLI, over the same in-process
wand link the CLI tests use, as a second front end (the web clinic) would drive them."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from tests.programmer.conftest import InProcessPump

from itb.errors import InvalidInput, ItbError
from itb.programmer.errors import NotConfirmed, ProgrammerError
from itb.programmer.programming import patient_facts
from itb.programmer.refusals import REFUSALS, explain
from itb.programmer.workflows import infusion, reading
from itb.programmer.workflows.program_change import ProgramChange, ProgramRequest
from itb.programmer.workflows.refill_wizard import DrugAnswers, RefillWizard, StopReason
from itb.programmer.workflows.visit import Visit
from itb.pump import ContinuousTherapy
from itb.telemetry.errors import KeyFileError
from itb.therapy.errors import RefillDiscrepancy
from itb.therapy.units import to_exact_str


@pytest.fixture
def visit(wand: InProcessPump, tmp_path: Path) -> Visit:
    return Visit(wand.open_session, tmp_path / "session.jsonl")


def journal(visit: Visit) -> list[dict]:
    return [json.loads(line) for line in visit.journal.read_text().splitlines()]


def syringe(wand: InProcessPump) -> str:
    return to_exact_str(Fraction(wand.pump.physical.reservoir_nl, 1_000_000))


def test_interrogate_returns_the_view_and_journals_it(visit: Visit, wand: InProcessPump) -> None:
    result = reading.interrogate(visit)
    assert result.view.serial == wand.pump.serial
    assert result.data["daily_dose_mcg"] == "300"
    assert [e["kind"] for e in journal(visit)] == ["interrogation"]
    assert wand.sessions == 1


def test_program_review_confirm_send_verify(visit: Visit, wand: InProcessPump) -> None:
    change = ProgramChange(visit, ProgramRequest(patient_facts("spinal", "40"),
                                                 daily_dose_mcg=Fraction(330)))
    review = change.review()
    assert review.refusal is None and not review.large_decrease
    change.check(review)
    sent = change.send(review, confirmed=True)
    assert sent.echo.program == review.spec
    assert wand.pump.active_program.therapy == ContinuousTherapy(Fraction(330))
    assert journal(visit)[-1]["outcome"] == "done"


def test_program_not_confirmed_sends_nothing_and_journals_a_cancel(visit: Visit,
                                                                   wand: InProcessPump) -> None:
    change = ProgramChange(visit, ProgramRequest(patient_facts("spinal", "40"),
                                                 daily_dose_mcg=Fraction(330)))
    review = change.review()
    with pytest.raises(NotConfirmed):
        change.send(review, confirmed=False)
    assert wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))
    assert journal(visit)[-1]["outcome"] == "cancelled"


def test_program_beyond_the_titration_rule_is_a_refusal_journaled_once(visit: Visit) -> None:
    change = ProgramChange(visit, ProgramRequest(patient_facts("spinal", "40"),
                                                 daily_dose_mcg=Fraction(600)))
    review = change.review()
    assert review.refusal is not None
    for _ in range(2):
        with pytest.raises(InvalidInput):
            change.send(review, confirmed=True)
    assert [e["outcome"] for e in journal(visit)] == ["refused"]


def drug(added_ml: str = "20", concentration: str = "500") -> DrugAnswers:
    return DrugAnswers("Lioresal Intrathecal", concentration, concentration, added_ml)


def test_refill_wizard_steps_return_typed_results(visit: Visit, wand: InProcessPump) -> None:
    wizard = RefillWizard.start(visit)
    wizard.confirm_pump(True)
    residual = wizard.check_residual(syringe(wand))
    assert abs(residual.check.discrepancy_nl) <= residual.check.threshold_nl
    put = wizard.check_drug(drug())
    assert put.fill.fill_nl == 20_000_000 and not wizard.needs_bridge
    assert wizard.plan_bridge(None, None) is None
    assert wizard.projection().low_reservoir_alarm_at is not None
    updated = wizard.update(True)
    assert updated.after.reservoir_estimate_nl == 20_000_000
    record = wizard.write_record()
    assert record.outcome == "refilled" and wizard.stopped is None
    assert journal(visit)[-1]["details"]["refill"]["added_ml"] == "20"
    assert wand.sessions == 2  # the read, and the update


def test_refill_wizard_stops_with_a_reason_and_a_stopped_record(visit: Visit,
                                                                wand: InProcessPump) -> None:
    wizard = RefillWizard.start(visit)
    wizard.confirm_pump(True)
    with pytest.raises(RefillDiscrepancy):
        wizard.check_residual("0")
    assert wizard.stopped is not None
    assert wizard.stopped.reason is StopReason.RESIDUAL_DISCREPANCY
    assert wizard.stopped.record.withdrawn_nl == 0
    entry = journal(visit)[-1]
    assert entry["outcome"] == "stopped"
    assert entry["details"]["refill"]["outcome"] == "stopped: residual discrepancy"
    assert wand.pump.reservoir_estimate_nl < 20_000_000  # the pump was not touched


def test_refill_wizard_update_not_confirmed_stops(visit: Visit, wand: InProcessPump) -> None:
    wizard = RefillWizard.start(visit)
    wizard.confirm_pump(True)
    wizard.check_residual(syringe(wand))
    wizard.check_drug(drug())
    wizard.plan_bridge(None, None)
    with pytest.raises(NotConfirmed):
        wizard.update(False)
    assert wizard.stopped is not None
    assert wizard.stopped.reason is StopReason.UPDATE_NOT_CONFIRMED
    assert wizard.stopped.record.added_nl == 20_000_000
    assert wand.sessions == 1


def test_bolus_review_then_give(visit: Visit, wand: InProcessPump) -> None:
    request = infusion.BolusRequest.parse("50", "10")
    review = infusion.review_bolus(visit, request)
    assert review.max_daily_mcg == 600
    with pytest.raises(NotConfirmed):
        infusion.give_bolus(visit, review, confirmed=False)
    echo = infusion.give_bolus(visit, review, confirmed=True)
    assert echo.dose_mcg == 50
    assert journal(visit)[-1]["kind"] == "bolus"


def test_stop_and_resume(visit: Visit, wand: InProcessPump) -> None:
    view = visit.read_closed()
    stopped = infusion.stop_infusion(visit, view, confirmed=True)
    assert infusion.is_stopped(stopped.state)
    resumed = infusion.resume_infusion(visit, visit.read_closed(), confirmed=True)
    assert not infusion.is_stopped(resumed.state)
    assert [e["kind"] for e in journal(visit)] == ["stop", "resume"]


def test_acknowledging_an_alarm_the_pump_does_not_hold_is_refused(visit: Visit) -> None:
    with pytest.raises(InvalidInput, match="--ack"):
        reading.alarms(visit, "battery_eri")
    assert reading.alarms(visit, None).silenced is None


def test_log_pages_newest_first(visit: Visit) -> None:
    page = reading.read_log(visit, reading.LogQuery(page_size=1))
    assert page.pages == page.matching and len(page.entries) == 1
    assert page.entries[0].index == page.view.log[-1].index


# ---- the refusal table -----------------------------------------------------------------------


def test_every_refusal_in_the_table_is_a_sentence_and_a_next_step() -> None:
    assert all(issubclass(kind, ItbError | OSError) for kind in REFUSALS)


def test_an_error_without_a_row_reads_as_its_nearest_parent() -> None:
    key = KeyFileError("k.key", "a readable key file", "missing")
    assert explain(key)[1].startswith("Give this pump's clinic key file")

    class NewRefusal(ItbError):
        pass

    class NewInput(InvalidInput):
        pass

    assert explain(NewRefusal("odd"))[1] == ("Interrogate the pump to see its state before "
                                             "trying again.")
    assert explain(NewInput("dose", "x", "a number"))[1].startswith("Correct the value")
    assert explain(ProgrammerError("Odd.", "Do this.")) == ("Odd.", "Do this.")


def test_an_error_the_table_does_not_know_is_raised_again() -> None:
    with pytest.raises(ZeroDivisionError):
        explain(ZeroDivisionError("bug"))


def test_settings_are_sent_once_confirmed_and_verified(visit: Visit, wand: InProcessPump) -> None:
    from itb.programmer.workflows import settings

    review = settings.review_alarm_volume(visit, 3_000_000)
    with pytest.raises(NotConfirmed):
        settings.set_alarm_volume(visit, review, confirmed=False)
    settings.set_alarm_volume(visit, review, confirmed=True)
    settings.set_catheter_volume(visit, visit.read_closed(), 200_000, confirmed=True)
    assert [e["kind"] for e in journal(visit)] == ["alarm_volume", "catheter_volume"]
    with pytest.raises(InvalidInput, match="--ml"):
        settings.review_alarm_volume(visit, 99_000_000)


def test_overdose_stops_the_pump_and_records_the_emptied_reservoir(visit: Visit) -> None:
    from itb.programmer.workflows import emergency_acts

    state, estimate_nl = emergency_acts.overdose(visit, visit.read_closed(), 5_000_000,
                                                 confirmed=True)
    assert infusion.is_stopped(state) and estimate_nl == 0
    entry = journal(visit)[-1]
    assert entry["details"]["act"] == "overdose" and entry["details"]["withdrawn_ml"] == "5"
    assert entry["details"]["pump_estimate_ml"] == "0"


def test_report_data_is_the_latest_visit_after_a_final_interrogation(visit: Visit) -> None:
    with pytest.raises(ItbError):
        reading.report_data(visit)  # no journal yet
    reading.interrogate(visit)
    data = reading.report_data(visit)
    assert [e.kind for e in data.entries] == ["interrogation", "interrogation"]
