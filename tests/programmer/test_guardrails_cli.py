"""The two-tier guardrails in the programmer (issue 14): the real CLI against an in-process pump
over the real wand link. A warning is listed and needs the confirmation; a block needs
--override-reason (recorded), and without it nothing is sent."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from tests.programmer.conftest import Cli, make_pump

from itb.programmer.programming import patient_facts
from itb.programmer.refusals import explain
from itb.programmer.workflows import infusion
from itb.programmer.workflows.infusion import BolusRequest
from itb.programmer.workflows.program_change import ProgramChange, ProgramRequest
from itb.programmer.workflows.visit import Visit
from itb.therapy.errors import GuardrailBlocked
from itb.therapy.guardrails import Limit, Tier
from itb.therapy.units import to_exact_str

SPINAL_ADULT = ("--origin", "spinal", "--age-years", "45")
REASON = "intrathecal bolus ordered by the physician for severe spasms"


def entries(cli: Cli) -> list[dict]:
    return [json.loads(line) for line in cli.session_file.read_text().splitlines()]


@pytest.fixture
def roomy(tmp_path: Path) -> Cli:
    """300 mcg/day at 500 mcg/mL, hard limits 1000 mcg per 24 h and a 200 mcg bolus, so the
    guardrails, not the pump's hard limits, are what a 150 mcg bolus meets."""
    return Cli(make_pump(max_daily=1000, max_bolus=200), tmp_path)


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_a_bolus_warning_is_listed_and_needs_the_confirmation(roomy: Cli) -> None:
    declined = roomy("bolus", "--dose", "60", "--duration-min", "10", input="n\n")
    assert declined.exit_code == 1
    assert "Warning: bolus size 60 mcg is above 50 mcg" in declined.stdout
    assert "Confirm the 1 warning above and give this bolus now" in declined.stdout
    assert roomy.wand.pump.overlay is None
    done = roomy("bolus", "--dose", "60", "--duration-min", "10", "--yes")
    assert done.exit_code == 0, done.output
    entry = entries(roomy)[-1]
    assert entry["outcome"] == "done"
    assert entry["details"]["guardrails"][0]["tier"] == "warning"


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_a_bolus_block_needs_an_override_reason_which_is_recorded(roomy: Cli) -> None:
    refused = roomy("bolus", "--dose", "150", "--duration-min", "10", "--yes")
    assert refused.exit_code == 2
    assert "Blocked by a guardrail: bolus size = 150 mcg" in refused.stderr
    assert "--override-reason" in refused.stderr and "Nothing was sent" in refused.stderr
    assert roomy.wand.pump.overlay is None
    assert entries(roomy)[-1]["outcome"] == "refused"
    assert entries(roomy)[-1]["summary"] == "bolus 150 mcg refused: blocked by a guardrail"
    done = roomy("bolus", "--dose", "150", "--duration-min", "20", "--override-reason", REASON,
                 "--yes")
    assert done.exit_code == 0, done.output
    assert roomy.wand.pump.overlay is not None
    details = entries(roomy)[-1]["details"]
    assert entries(roomy)[-1]["outcome"] == "overridden"
    assert details["guardrail_override_reason"] == REASON
    found = details["guardrails"][0]
    assert (found["tier"], found["value"], found["threshold"]) == ("block", "150", "100")


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_the_hard_maximum_bolus_is_not_lifted_by_a_reason(cli: Cli) -> None:
    refused = cli("bolus", "--dose", "150", "--duration-min", "20", "--override-reason", REASON,
                  "--yes")
    assert refused.exit_code == 2 and "maximum bolus" in refused.stderr
    assert cli.wand.pump.overlay is None


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_an_increase_in_the_upper_half_of_the_step_warns_and_is_recorded(cli: Cli) -> None:
    done = cli("program", "--daily-dose", "370", *SPINAL_ADULT, "--yes")  # +23.3% of 10-30%
    assert done.exit_code == 0, done.output
    assert "Warning: dose increase per step" in done.stdout
    details = entries(cli)[-1]["details"]
    assert details["warnings_confirmed"] is True
    assert details["guardrails"][0]["limit"] == "dose increase per step"


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_a_flex_step_above_the_reported_maximum_is_blocked_without_a_reason(cli: Cli,
                                                                            tmp_path: Path
                                                                            ) -> None:
    flex = tmp_path / "flex.toml"
    # 1 h at 2040 mcg/day and 23 h at 240: 315 mcg/day in all (+5%), one step beyond 2003.
    flex.write_text('timezone = "UTC"\n[[steps]]\nstart = "00:00"\ndose_mcg_per_day = 240\n'
                    '[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 2040\n'
                    '[[steps]]\nstart = "08:00"\ndose_mcg_per_day = 240\n')
    before = cli.wand.pump.active_program
    refused = cli("program", "--flex", str(flex), *SPINAL_ADULT, "--yes")
    assert refused.exit_code == 2 and cli.wand.pump.active_program == before
    assert "flex step rate (step 07:00) = 2040 mcg/day" in refused.stderr
    assert entries(cli)[-1]["outcome"] == "refused"
    done = cli("program", "--flex", str(flex), *SPINAL_ADULT, "--yes",
               "--override-reason", "night spasms: a short high step, per the physician")
    assert done.exit_code == 0, done.output
    assert cli.wand.pump.active_program != before
    entry = entries(cli)[-1]
    assert entry["outcome"] == "overridden"
    assert entry["details"]["guardrails"][0]["tier"] == "block"


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_alarm_volume_warning_and_block(cli: Cli) -> None:
    warned = cli("set-alarm-volume", "--ml", "1.5", input="n\n")
    assert warned.exit_code == 1 and "Warning: alarm volume 1.5 mL is below 2 mL" in warned.stdout
    blocked = cli("set-alarm-volume", "--ml", "0.8", "--yes")
    assert blocked.exit_code == 2 and "Blocked by a guardrail: alarm volume" in blocked.stderr
    assert cli.wand.pump.low_reservoir_alarm_nl == 2_000_000
    refused = entries(cli)[-1]
    assert (refused["kind"], refused["outcome"]) == ("alarm_volume", "refused")
    assert refused["summary"] == "alarm volume 0.8 mL refused: blocked by a guardrail"
    done = cli("set-alarm-volume", "--ml", "0.8", "--yes", "--override-reason",
               "40 mL reservoir of a child, refills weekly")
    assert done.exit_code == 0, done.output
    assert cli.wand.pump.low_reservoir_alarm_nl == 800_000
    assert entries(cli)[-1]["details"]["guardrails"][0]["value"] == to_exact_str(Fraction(4, 5))


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_a_change_of_strength_warns_and_the_record_keeps_it(cli: Cli) -> None:
    syringe = str(cli.wand.pump.physical.reservoir_nl // 1000 / 1000 - 0.01)
    done = cli("refill", "--withdrawn-ml", syringe, "--drug", "Gablofen", "--concentration",
               "1000", "--prescribed-concentration", "1000", "--added-ml", "18",
               "--catheter-ml", "0.11", "--yes")
    assert done.exit_code == 0, done.output
    assert "Warning: strength 1000 mcg/mL is above 500 mcg/mL" in done.stdout
    record = entries(cli)[-1]["details"]["refill"]
    assert record["guardrails"][0]["tier"] == "warning"


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_the_session_report_shows_the_guardrails_and_the_override_reason(roomy: Cli,
                                                                        tmp_path: Path) -> None:
    done = roomy("bolus", "--dose", "150", "--duration-min", "20", "--override-reason", REASON,
                 "--yes")
    assert done.exit_code == 0, done.output
    out = tmp_path / "report.html"
    pdf = tmp_path / "report.pdf"
    made = roomy("report", "--out", str(out), "--pdf", str(pdf))
    assert made.exit_code == 0, made.output
    html = out.read_text(encoding="utf-8")
    assert "Guardrail block: bolus size 150 mcg is above 100 mcg" in html
    assert f"Override reason: {REASON}" in html


@pytest.mark.req("REQ-PRG-GUARDRAILS")
def test_a_second_front_end_gets_the_same_findings_from_the_workflows(tmp_path: Path) -> None:
    # The web clinic drives the workflows without the CLI: same findings, same refusal.
    wand = make_pump(max_daily=1000, max_bolus=200)
    visit = Visit(wand.open_session, tmp_path / "session.jsonl")
    review = infusion.review_bolus(visit, BolusRequest(Fraction(150), Fraction(20)))
    assert [(f.limit, f.tier) for f in review.findings] == [(Limit.BOLUS, Tier.BLOCK)]
    with pytest.raises(GuardrailBlocked) as blocked:
        infusion.give_bolus(visit, review, confirmed=True)
    sentence, next_step = explain(blocked.value)
    assert sentence.startswith("Blocked by a guardrail") and "--override-reason" in next_step
    assert wand.pump.overlay is None
    change = ProgramChange(visit, ProgramRequest(patient_facts("spinal", "45"),
                                                 daily_dose_mcg=Fraction(370)))
    program = change.review()
    assert [(f.limit, f.tier) for f in program.findings] == [
        (Limit.DOSE_INCREASE, Tier.WARNING)]
    assert program.refusal is None


@pytest.mark.req("REQ-PRG-GUARDRAILS")
@pytest.mark.parametrize("command", [("bolus", "--dose", "150", "--duration-min", "10"),
                                     ("set-alarm-volume", "--ml", "0.8")])
def test_a_blank_override_reason_is_refused_and_nothing_is_sent(roomy: Cli,
                                                                command: tuple[str, ...]) -> None:
    refused = roomy(*command, "--override-reason", " ", "--yes")
    assert refused.exit_code == 2
    assert "override_reason = ' ' is not allowed: allowed is a non-empty reason" in refused.stderr
    assert roomy.wand.pump.overlay is None
    assert roomy.wand.pump.low_reservoir_alarm_nl == 2_000_000
