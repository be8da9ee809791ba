"""Aspirating the catheter at its access port (issue 16.16) and priming after an emptied
reservoir: the truth draws exactly the catheter's dead volume, CSF takes its place, and
the firmware allows a priming bolus only after its own empty alarm."""

from __future__ import annotations

from fractions import Fraction

import pytest

from itb.pump.errors import PumpError

from .helpers import assert_conserved, at, implant

CATHETER_NL = 110_000  # the pump's default catheter volume (0.11 mL, *unconfirmed*)


@pytest.mark.req("REQ-SIM-ACCESS-PORT")
def test_aspiration_draws_the_catheters_dead_volume_and_csf_takes_its_place() -> None:
    pump = implant()
    initial_dead = pump.physical.dead_volume_nl
    pump.advance(at(days=3))  # the dead volume now holds the pump's drug
    phys = pump.physical
    assert phys.fifo[0][1] == 500
    dead_before, withdrawn_before = phys.dead_volume_nl, phys.withdrawn_nl
    drawn_nl, drawn_mcg = phys.aspirate_catheter(pump.catheter_volume_nl)
    assert pump.catheter_volume_nl == CATHETER_NL
    assert drawn_nl == CATHETER_NL and drawn_mcg == Fraction(CATHETER_NL * 500, 1_000_000)
    assert phys.withdrawn_nl - withdrawn_before == CATHETER_NL
    # Nothing is injected before it: the catheter holds CSF (no drug) when the syringe pushes.
    assert phys.fifo[0] == [CATHETER_NL, 0] and phys.dead_volume_nl == dead_before
    assert_conserved(pump, initial_dead)


@pytest.mark.req("REQ-SIM-ACCESS-PORT")
def test_aspiration_never_draws_the_pump_tubing() -> None:
    pump = implant()
    pump.advance(at(days=3))
    drawn_nl, _mcg = pump.physical.aspirate_catheter(10 * CATHETER_NL)
    assert drawn_nl == CATHETER_NL


@pytest.mark.req("REQ-SIM-ACCESS-PORT")
def test_a_refill_of_an_emptied_reservoir_allows_a_priming_bolus() -> None:
    pump = implant(fill_nl=3_000_000)
    pump.advance(at(days=6))
    assert pump.mode == "minimum_rate (reservoir empty)"
    pump.refill(added_nl=20_000_000, concentration_mcg_per_ml=Fraction(500))
    pump.prime(CATHETER_NL)
    assert pump.mode == "priming_bolus"


@pytest.mark.req("REQ-SIM-ACCESS-PORT")
def test_a_refill_of_a_reservoir_that_was_not_empty_does_not() -> None:
    pump = implant()
    pump.advance(at(days=6))
    pump.refill(added_nl=18_000_000, concentration_mcg_per_ml=Fraction(500))
    with pytest.raises(PumpError, match="already primed"):
        pump.prime(CATHETER_NL)
