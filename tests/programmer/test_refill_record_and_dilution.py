"""The refill wizard: prescribed dilutions, the pump's minimum flow and the record fields
(issues 16.14, 16.16), through the real CLI against an in-process pump."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from tests.programmer.conftest import Cli, make_pump

from itb.therapy.units import to_exact_str

SALINE = "preservative-free 0.9% sodium chloride"


def syringe(cli: Cli) -> str:
    return to_exact_str(Fraction(cli.wand.pump.physical.reservoir_nl, 1_000_000))


def last_entry(cli: Cli) -> dict:
    return json.loads(cli.session_file.read_text().splitlines()[-1])


def small_child_pump(tmp_path: Path) -> Cli:
    return Cli(make_pump(dose=30, max_daily=60), tmp_path)  # 30 mcg/day at 500 mcg/mL


@pytest.mark.req("REQ-THER-MIN-FLOW")
def test_a_strength_too_strong_for_the_pumps_minimum_flow_is_refused(tmp_path: Path) -> None:
    cli = small_child_pump(tmp_path)
    result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "2000",
                 "--prescribed-concentration", "2000", "--added-ml", "10", "--catheter-ml",
                 "0.11", "--yes")
    assert result.exit_code == 2
    assert "below the pump's minimum flow" in result.stderr and "625 mcg/mL" in result.stderr
    assert cli.wand.pump.concentration_mcg_per_ml == 500
    assert last_entry(cli)["outcome"] == "stopped"


@pytest.mark.req("REQ-PRG-REFILL-STRENGTH")
def test_a_strength_not_marketed_needs_a_declared_dilution(tmp_path: Path) -> None:
    cli = small_child_pump(tmp_path)
    refused = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "250",
                  "--prescribed-concentration", "250", "--added-ml", "10", "--catheter-ml",
                  "0.11", "--yes")
    assert refused.exit_code == 2 and "--diluted-from and --diluent" in refused.stderr
    done = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "250",
               "--prescribed-concentration", "250", "--diluted-from", "500", "--diluent",
               SALINE, "--added-ml", "10", "--catheter-ml", "0.11", "--yes")
    assert done.exit_code == 0, done.output
    assert "prescribed dilution of 500 mcg/mL" in done.stdout
    assert cli.wand.pump.concentration_mcg_per_ml == 250
    record = last_entry(cli)["details"]["refill"]
    assert record["prescribed_dilution"] == {"concentration_mcg_per_ml": "250",
                                             "stock": "Lioresal Intrathecal",
                                             "stock_mcg_per_ml": "500", "diluent": SALINE}


def test_a_dilution_must_be_of_a_refill_strength_in_saline(tmp_path: Path) -> None:
    cli = small_child_pump(tmp_path)
    for extra, words in ((("--diluted-from", "500"), "both --diluted-from"),
                         (("--diluted-from", "500", "--diluent", "water"), "diluent"),
                         (("--diluted-from", "50", "--diluent", SALINE), "screening-only")):
        result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "25",
                     "--prescribed-concentration", "25", *extra, "--added-ml", "10",
                     "--catheter-ml", "0.11", "--yes")
        assert result.exit_code == 2 and words in result.stderr, result.stderr
    assert cli.wand.pump.concentration_mcg_per_ml == 500


@pytest.mark.req("REQ-PRG-REFILL-RECORD")
def test_the_record_holds_lot_expiry_second_check_waste_and_pocket_check(cli: Cli) -> None:
    withdrawn = syringe(cli)
    result = cli("refill", "--withdrawn-ml", withdrawn, "--concentration", "500",
                 "--added-ml", "20", "--lot", "LT-2291A", "--expiry", "2027-06-30",
                 "--second-check-by", "RN J. Okafor", "--wasted-ml", "5",
                 "--pocket-skin-check", "pocket flat, skin intact", "--yes")
    assert result.exit_code == 0, result.output
    record = last_entry(cli)["details"]["refill"]
    assert record["lot"] == "LT-2291A" and record["expiry"] == "2027-06-30"
    assert record["second_check_of_strength_and_program_by"] == "RN J. Okafor"
    assert record["withdrawn_ml"] == withdrawn and record["wasted_ml"] == "5"
    assert record["pocket_and_skin_check"] == "pocket flat, skin intact"
    out = cli.tmp / "visit.html"
    assert cli("report", "--out", str(out)).exit_code == 0
    html = out.read_text()
    assert "LT-2291A / 2027-06-30" in html and "RN J. Okafor" in html
    assert "pocket flat, skin intact" in html


@pytest.mark.req("REQ-PRG-REFILL-RECORD")
def test_unrecorded_fields_say_so_and_waste_is_at_least_the_residual(cli: Cli) -> None:
    withdrawn = syringe(cli)
    assert cli("refill", "--withdrawn-ml", withdrawn, "--concentration", "500", "--added-ml",
               "20", "--yes").exit_code == 0
    record = last_entry(cli)["details"]["refill"]
    assert record["lot"] == "not recorded" and record["wasted_ml"] == withdrawn


@pytest.mark.req("REQ-PRG-REFILL-STRENGTH")
def test_expired_drug_is_refused_before_the_pump_is_touched(cli: Cli) -> None:
    result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "500",
                 "--added-ml", "20", "--expiry", "2026-01-01", "--yes")
    assert result.exit_code == 2 and "expired drug" in result.stderr
    assert cli.wand.pump.reservoir_estimate_nl < 20_000_000


def test_the_report_still_renders_a_stopped_refill_without_the_new_fields(cli: Cli) -> None:
    stopped = cli("refill", "--withdrawn-ml", "1", "--concentration", "500", "--added-ml", "20",
                  "--yes")  # a discrepancy: the record is written without the new fields
    assert stopped.exit_code == 2
    out = cli.tmp / "visit.html"
    result = cli("report", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Lot / expiry" not in out.read_text()


@pytest.mark.req("REQ-PRG-REFILL-STRENGTH")
def test_a_dilution_not_of_the_prescribed_strength_is_refused(tmp_path: Path) -> None:
    cli = small_child_pump(tmp_path)
    result = cli("refill", "--withdrawn-ml", syringe(cli), "--concentration", "250",
                 "--prescribed-concentration", "200", "--diluted-from", "500", "--diluent",
                 SALINE, "--added-ml", "10", "--catheter-ml", "0.11", "--yes")
    assert result.exit_code == 2
    assert ("Wrong concentration: concentration = 250 mcg/mL is not allowed: allowed is the "
            "prescribed 200 mcg/mL (the dilution does not match the prescription; refill "
            "refused).") in result.stderr
    assert cli.wand.pump.concentration_mcg_per_ml == 500
