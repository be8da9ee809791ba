"""A poor response to rising doses holds the next increase until the catheter and the pump
are checked (issue 16.15), through the real CLI against an in-process pump."""

from __future__ import annotations

import json
from datetime import timedelta
from fractions import Fraction

import pytest
from tests.programmer.conftest import IMPLANTED, Cli

from itb.pump import ContinuousTherapy

SPINAL_ADULT = ("--origin", "spinal", "--age-years", "45")


def raise_twice(cli: Cli) -> None:
    """300 (implant, 25 days ago) -> 360 -> 430 mcg/day, two days apart."""
    pump = cli.wand.pump
    for day, dose in ((27, "360"), (29, "430")):
        result = cli("program", "--daily-dose", dose, *SPINAL_ADULT, "--yes")
        assert result.exit_code == 0, result.output
        pump.advance(IMPLANTED + timedelta(days=day))


@pytest.mark.req("REQ-PRG-POOR-RESPONSE")
def test_an_increase_after_a_poor_response_waits_for_a_catheter_check(cli: Cli) -> None:
    raise_twice(cli)
    held = cli("program", "--daily-dose", "480", *SPINAL_ADULT, "--response", "unchanged",
               "--yes")
    assert held.exit_code == 2
    assert "Increase held: poor response" in held.stderr
    assert "rose 2 time(s)" in held.stderr and "from 300 to 430 mcg/day" in held.stderr
    assert "Next: Check the catheter and the pump" in held.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(430))
    done = cli("program", "--daily-dose", "480", *SPINAL_ADULT, "--response", "unchanged",
               "--catheter-checked", "CAP aspiration and dye study normal", "--yes")
    assert done.exit_code == 0, done.output
    entry = json.loads(cli.session_file.read_text().splitlines()[-1])
    assert entry["details"]["catheter_checked"] == "CAP aspiration and dye study normal"
    assert "poor response" in entry["details"]["poor_response"]


def test_a_decrease_or_an_improving_patient_is_not_held(cli: Cli) -> None:
    raise_twice(cli)
    assert cli("program", "--daily-dose", "470", *SPINAL_ADULT, "--response", "improved",
               "--yes").exit_code == 0
    assert cli("program", "--daily-dose", "400", *SPINAL_ADULT, "--response", "worse",
               "--yes").exit_code == 0


def test_without_a_judgement_a_steep_rise_gives_a_note(cli: Cli) -> None:
    raise_twice(cli)
    result = cli("program", "--daily-dose", "470", *SPINAL_ADULT, "--yes")
    assert result.exit_code == 0, result.output
    assert "check the catheter and the" in result.stdout
