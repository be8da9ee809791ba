"""The refill wizard through the real CLI against an in-process pump: each step and refusal."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from tests.programmer.conftest import Cli

from itb.therapy.units import to_exact_str


def syringe(cli: Cli) -> str:
    """What the nurse withdraws: the true reservoir volume (the simulator's truth)."""
    return to_exact_str(Fraction(cli.wand.pump.physical.reservoir_nl, 1_000_000))


def last_entry(cli: Cli) -> dict:
    return json.loads(cli.session_file.read_text().splitlines()[-1])


def test_scripted_refill_updates_the_pump_and_writes_the_record(cli: Cli) -> None:
    withdrawn = syringe(cli)
    result = cli("refill", "--withdrawn-ml", withdrawn, "--concentration", "500",
                 "--added-ml", "20", "--yes")
    assert result.exit_code == 0, result.output
    for step in range(1, 8):
        assert f"Step {step} of 7" in result.stdout
    pump = cli.wand.pump
    assert pump.reservoir_estimate_nl == 20_000_000
    assert pump.concentration_mcg_per_ml == 500
    entry = last_entry(cli)
    assert entry["kind"] == "refill" and entry["outcome"] == "done"
    record = entry["details"]["refill"]
    assert record["withdrawn_ml"] == withdrawn and record["added_ml"] == "20"
    assert record["drug"] == "Lioresal Intrathecal" and record["bridge_bolus"] is None
    # 18 mL above the 2 mL alarm at 0.6 mL/day: 30 days from the refill, less one stroke
    # (36 s: the pump may be a stroke ahead of its estimate, so the dates stay early).
    assert record["low_reservoir_alarm_at"].startswith("2026-03-01T07:59:24")
    assert record["refill_by"].startswith("2026-02-22T07:59:24")


def test_interactive_refill_answers_every_prompt(cli: Cli) -> None:
    answers = "\n".join(["y", syringe(cli), "Gablofen", "1000", "1000", "20", "50", "y"]) + "\n"
    result = cli("refill", input=answers)
    assert result.exit_code == 0, result.output
    assert "Implanted catheter length (cm)" in result.stdout
    # Bridge: pump tubing 0.222 mL (device library) + 50 cm x 0.0026 mL/cm = 0.352 mL.
    assert "pushes 0.352 mL of old drug" in result.stdout
    assert cli.wand.pump.concentration_mcg_per_ml == 1000
    record = last_entry(cli)["details"]["refill"]
    assert record["bridge_bolus"]["dead_volume_ml"] == "0.352"
    # The pump pushes its own stored dead volume (tubing + its 0.11 mL catheter), not the
    # clinic's 50 cm figure, and the wizard says the two differ.
    assert record["bridge_bolus"]["pump_volume_ml"] == "0.332"
    assert "Note: the pump's bridge bolus is 0.332 mL, the clinic's dead volume 0.352 mL" \
        in result.stdout
    assert record["previous_concentration_mcg_per_ml"] == "500"


@pytest.mark.req("REQ-PRG-REFILL-DISCREPANCY")
def test_discrepancy_stops_the_wizard_with_its_causes(cli: Cli) -> None:
    before = cli.wand.pump.reservoir_estimate_nl
    short = to_exact_str(Fraction(before, 1_000_000) - 3)
    result = cli("refill", "--withdrawn-ml", short, "--concentration", "500", "--added-ml", "20",
                 "--yes")
    assert result.exit_code == 2
    assert "Refill stopped" in result.stderr and "3 mL less than expected" in result.stderr
    assert "pocket fill" in result.stderr and "needle" in result.stderr
    assert "Step 3 of 7" not in result.stdout
    assert cli.wand.pump.reservoir_estimate_nl == before
    entry = last_entry(cli)
    assert entry["outcome"] == "stopped"
    assert entry["details"]["refill"]["discrepancy_ml"] == "-3"


@pytest.mark.req("REQ-PRG-REFILL-DISCREPANCY")
def test_more_withdrawn_than_expected_lists_under_delivery_causes(cli: Cli) -> None:
    more = to_exact_str(Fraction(cli.wand.pump.reservoir_estimate_nl, 1_000_000) + 3)
    result = cli("refill", "--withdrawn-ml", more, "--yes", "--added-ml", "20")
    assert result.exit_code == 2 and "motor stall" in result.stderr


@pytest.mark.req("REQ-PRG-REFILL-OVERFILL")
def test_overfill_is_refused_and_nothing_is_sent(cli: Cli) -> None:
    before = cli.wand.pump.reservoir_estimate_nl
    result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "500",
                 "--added-ml", "21", "--yes")
    assert result.exit_code == 2
    assert "Overfill refused" in result.stderr and "20 mL" in result.stderr
    assert cli.wand.pump.reservoir_estimate_nl == before


@pytest.mark.req("REQ-PRG-REFILL-STRENGTH")
def test_concentration_not_matching_the_prescription_is_refused(cli: Cli) -> None:
    result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "2000",
                 "--added-ml", "20", "--yes")
    assert result.exit_code == 2
    assert "Wrong concentration" in result.stderr and "prescribed 500 mcg/mL" in result.stderr
    assert cli.wand.pump.concentration_mcg_per_ml == 500


@pytest.mark.req("REQ-PRG-REFILL-STRENGTH")
def test_screening_strength_and_unknown_strengths_are_refused(cli: Cli) -> None:
    screening = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "50",
                    "--prescribed-concentration", "50", "--added-ml", "20", "--yes")
    assert screening.exit_code == 2 and "screening trial only" in screening.stderr
    odd = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "750",
              "--prescribed-concentration", "750", "--added-ml", "20", "--yes")
    assert odd.exit_code == 2 and "one of: 50, 500, 2000 mcg/mL" in odd.stderr


STRONGER = "new prescription: 2000 mcg/mL for longer refill intervals"


@pytest.mark.req("REQ-PRG-BRIDGE")
def test_concentration_change_needs_the_catheter_volume_in_a_script(cli: Cli) -> None:
    # 500 -> 2000 mcg/mL is beyond the strength guardrail's block: a recorded reason lifts it.
    result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "2000",
                 "--prescribed-concentration", "2000", "--added-ml", "20", "--yes",
                 "--override-reason", STRONGER)
    assert result.exit_code == 2 and "--catheter-ml" in result.stderr
    assert cli.wand.pump.concentration_mcg_per_ml == 500


@pytest.mark.req("REQ-PRG-BRIDGE")
def test_concentration_change_with_bridge_bolus(cli: Cli) -> None:
    result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "2000",
                 "--prescribed-concentration", "2000", "--added-ml", "20",
                 "--catheter-ml", "0.11", "--yes", "--override-reason", STRONGER)
    assert result.exit_code == 0, result.output
    pump = cli.wand.pump
    assert pump.concentration_mcg_per_ml == 2000
    assert pump.overlay is not None and pump.overlay.kind == "bridge"
    # Dead volume 0.222 + 0.11 = 0.332 mL at the old 0.6 mL/day: 13.28 h.
    assert "for 13.28 h" in result.stdout
    record = last_entry(cli)["details"]["refill"]
    assert record["bridge_bolus"]["rate_ml_per_day"] == "0.6"
    # The refill is at 08:00 pump time; 0.332 mL at 0.6 mL/day ends 13 h 16 min 48 s later.
    assert record["bridge_bolus"]["until"] == "2026-01-30T21:16:48+00:00"
    assert record["bridge_bolus"]["pump_volume_ml"] == "0.332"
    assert pump.overlay.volume_nl == 332_000


@pytest.mark.req("REQ-PRG-IDENTITY")
def test_declining_the_pump_identity_stops_at_step_one(cli: Cli) -> None:
    result = cli("refill", input="n\n")
    assert result.exit_code == 1
    assert "Step 2 of 7" not in result.stdout
    assert last_entry(cli)["details"]["refill"]["outcome"] == "stopped: pump not confirmed"


@pytest.mark.req("REQ-PRG-IDENTITY")
def test_wrong_serial_is_refused_before_any_step(cli: Cli) -> None:
    result = cli("refill", "--serial", "T-999", "--yes")
    assert result.exit_code == 2
    assert "different pump answered" in result.stderr
