"""The one titration rule through `itb programmer program` (issues 9.7, 9.8, 16.1).

An in-process pump at 300 mcg/day, 25 days after implant (see conftest).
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from tests.programmer.conftest import Cli

from itb.pump import ContinuousTherapy

SPINAL_ADULT = ("--origin", "spinal", "--age-years", "45")


def last_entry(cli: Cli) -> dict:
    return json.loads(cli.session_file.read_text().splitlines()[-1])


def test_an_increase_smaller_than_the_usual_step_is_sent_with_a_note(cli: Cli) -> None:
    result = cli("program", "--daily-dose", "305", *SPINAL_ADULT, "--yes")
    assert result.exit_code == 0, result.output
    assert "smaller than the usual step" in result.stdout
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(305))


def test_a_second_increase_within_24_hours_names_the_reason_and_the_next_time(cli: Cli
                                                                              ) -> None:
    assert cli("program", "--daily-dose", "330", *SPINAL_ADULT, "--yes").exit_code == 0
    result = cli("program", "--daily-dose", "360", *SPINAL_ADULT, "--yes")
    assert result.exit_code == 2
    error, next_step = result.stderr.strip().splitlines()[:2]
    assert "too soon" in error and "once every 24 hours" in error
    assert "increase = 360 mcg/day now" in error
    assert "choose a dose" not in result.stderr.lower()
    assert next_step.startswith("Next: Wait until 2026-")
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(330))


def test_a_decrease_right_after_a_change_is_allowed(cli: Cli) -> None:
    assert cli("program", "--daily-dose", "330", *SPINAL_ADULT, "--yes").exit_code == 0
    result = cli("program", "--daily-dose", "297", *SPINAL_ADULT, "--yes")  # -10%
    assert result.exit_code == 0, result.output
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(297))


@pytest.mark.req("REQ-THER-LARGE-CUT")
def test_a_large_cut_needs_its_own_confirmation_not_only_yes(cli: Cli) -> None:
    refused = cli("program", "--daily-dose", "150", *SPINAL_ADULT, "--yes")
    assert refused.exit_code == 2
    assert "withdrawal" in refused.stderr and "--confirm-large-decrease" in refused.stderr
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))
    assert last_entry(cli)["outcome"] == "cancelled"
    declined = cli("program", "--daily-dose", "150", *SPINAL_ADULT, input="n\n")
    assert declined.exit_code == 1
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(300))
    done = cli("program", "--daily-dose", "150", *SPINAL_ADULT, "--confirm-large-decrease",
               "--yes")
    assert done.exit_code == 0, done.output
    assert "Warning:" in done.stdout and "withdrawal" in done.stdout
    assert cli.wand.pump.active_program.therapy == ContinuousTherapy(Fraction(150))
    assert last_entry(cli)["details"]["large_decrease_confirmed"] is True
