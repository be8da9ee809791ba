"""Emergency acts at the programmer (issue 16.17, programmer part), through the real CLI
against an in-process pump."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from tests.programmer.conftest import Cli

from itb.pump import ContinuousTherapy
from itb.therapy.units import to_exact_str


def last_entry(cli: Cli) -> dict:
    return json.loads(cli.session_file.read_text().splitlines()[-1])


@pytest.mark.req("REQ-PRG-EMERGENCY")
def test_overdose_stops_the_pump_and_records_the_reservoir_emptied(cli: Cli) -> None:
    pump = cli.wand.pump
    withdrawn = to_exact_str(Fraction(pump.physical.reservoir_nl, 1_000_000))
    result = cli("emergency", "overdose", "--withdrawn-ml", withdrawn, "--yes")
    assert result.exit_code == 0, result.output
    assert "no specific antidote" in result.stdout and "Empty the reservoir" in result.stdout
    assert "now counts 0 mL in its reservoir" in result.stdout
    after = json.loads(cli("interrogate", "--json").stdout)
    assert after["infusion_state"].startswith("minimum_rate")
    # Issue 16.17: the pump is told the reservoir was emptied (its estimate is 0, and the
    # physical reservoir holds nothing: all of it was withdrawn).
    assert Fraction(after["reservoir_estimate_ml"]) == 0 and pump.physical.reservoir_nl == 0
    assert last_entry(cli)["kind"] == "interrogation"
    entries = [json.loads(line) for line in cli.session_file.read_text().splitlines()]
    assert any(e["kind"] == "emergency" and e["details"]["act"] == "overdose" for e in entries)


@pytest.mark.req("REQ-PRG-EMERGENCY")
def test_withdrawal_resumes_a_stopped_pump_at_the_previous_dose(cli: Cli) -> None:
    assert cli("stop", "--yes").exit_code == 0
    result = cli("emergency", "withdrawal", "--yes")
    assert result.exit_code == 0, result.output
    assert "at or near the previous dose" in result.stdout and "300 mcg/day" in result.stdout
    assert "oral baclofen alone is unreliable" in result.stdout
    state = json.loads(cli("interrogate", "--json").stdout)["infusion_state"]
    assert not state.startswith("minimum_rate")
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))


@pytest.mark.req("REQ-PRG-EMERGENCY")
def test_withdrawal_on_a_running_pump_points_at_the_catheter(cli: Cli) -> None:
    result = cli("emergency", "withdrawal", "--yes")
    assert result.exit_code == 0, result.output
    assert "suspect the catheter" in result.stdout
    assert last_entry(cli)["details"] == {"act": "withdrawal", "resumed": False}


@pytest.mark.req("REQ-PRG-EMERGENCY")
def test_a_cap_bolus_aspirates_the_catheter_dead_volume_before_injecting(cli: Cli) -> None:
    result = cli("emergency", "cap-bolus", "--dose", "50", "--catheter-length-cm", "50",
                 "--yes")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # 50 cm x 0.0026 mL/cm = 0.13 mL, holding 65 mcg of the pump's 500 mcg/mL drug.
    assert out.index("aspirate at least 0.13 mL") < out.index("inject 50 mcg")
    assert "push 65 mcg" in out and "1 mL of 50 mcg/mL" in out
    assert last_entry(cli)["details"]["aspirated_ml"] == "0.13"
    refused = cli("emergency", "cap-bolus", "--dose", "150", "--catheter-ml", "0.13", "--yes")
    assert refused.exit_code == 2 and "Traceback" not in refused.output
