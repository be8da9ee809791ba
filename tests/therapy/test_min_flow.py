"""Flows below the pump's minimum are flagged (issue 16.14)."""

import json
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from itb.cli import app
from itb.therapy.refill import below_minimum_flow

runner = CliRunner()


@pytest.mark.req("REQ-THER-MIN-FLOW")
def test_flow_below_the_minimum_is_flagged_with_the_strongest_usable_strength() -> None:
    flag = below_minimum_flow(50, 2000)  # 0.025 mL/day < 0.048 mL/day
    assert flag is not None and flag.flow_ml_per_day == Fraction(1, 40)
    assert flag.highest_strength_mcg_per_ml == Fraction(50) / Fraction("0.048")
    assert below_minimum_flow(24, 500) is None  # exactly 0.048 mL/day


@pytest.mark.req("REQ-THER-MIN-FLOW")
def test_calc_rate_and_refill_flag_a_flow_below_the_minimum() -> None:
    rate = runner.invoke(app, ["calc", "rate", "--concentration", "2000", "--daily-dose", "50",
                               "--json"])
    assert rate.exit_code == 0, rate.output
    data = json.loads(rate.stdout)
    assert data["below_pump_minimum"] is True and "minimum flow" in data["below_pump_minimum_note"]
    ok = runner.invoke(app, ["calc", "rate", "--concentration", "500", "--daily-dose", "300",
                             "--json"])
    assert json.loads(ok.stdout)["below_pump_minimum"] is False
    refill = runner.invoke(app, ["calc", "refill", "--reservoir-ml", "20", "--concentration",
                                 "500", "--daily-dose", "20", "--alarm-ml", "2", "--now",
                                 "2026-01-01T00:00:00Z"])
    assert refill.exit_code == 0, refill.output
    assert "WARNING" in refill.stdout
    as_json = runner.invoke(app, ["calc", "refill", "--reservoir-ml", "20", "--concentration",
                                  "500", "--daily-dose", "20", "--alarm-ml", "2", "--now",
                                  "2026-01-01T00:00:00Z", "--json"])
    assert json.loads(as_json.stdout)["below_pump_minimum"] is True
