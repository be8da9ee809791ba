"""`itb calc titrate` follows the one titration rule (issues 9.7, 16.1, 16.13)."""

import json

import pytest
from typer.testing import CliRunner

from itb.cli import app

runner = CliRunner()
NOW = "2026-01-02T08:00:00Z"
HALF_A_DAY_AGO = "2026-01-01T20:00:00Z"


def titrate(current: str, proposed: str, *extra: str):
    return runner.invoke(app, ["calc", "titrate", "--current", current, "--proposed", proposed,
                               "--origin", "spinal", "--age-years", "45", "--now", NOW,
                               "--json", *extra])


def test_a_small_increase_is_accepted_with_a_note() -> None:
    result = titrate("400", "405")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["notes"] and "smaller than the usual step" in data["notes"][0]
    assert (data["usual_step_low_mcg_per_day"], data["allowed_high_mcg_per_day"]) == ("440",
                                                                                       "520")


def test_a_decrease_12_hours_after_a_change_is_accepted() -> None:
    result = titrate("500", "495", "--last-change", HALF_A_DAY_AGO)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["large_decrease"] is False


def test_a_large_cut_needs_the_confirm_flag_and_an_override_reason_does_not_do() -> None:
    for extra in ((), ("--override-reason", "undo a fourfold error")):
        refused = titrate("2000", "500", "--last-change", HALF_A_DAY_AGO, *extra)
        assert refused.exit_code == 2
        assert "withdrawal" in refused.output and "Traceback" not in refused.output
    done = titrate("2000", "500", "--last-change", HALF_A_DAY_AGO, "--confirm-large-decrease")
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["large_decrease"] is True and "withdrawal" in data["withdrawal_warning"]


@pytest.mark.req("REQ-THER-LARGE-CUT")
def test_a_stop_is_a_large_decrease() -> None:
    assert titrate("300", "0").exit_code == 2
    assert titrate("300", "0", "--confirm-large-decrease").exit_code == 0


def test_a_teenager_follows_the_pediatric_step() -> None:
    result = runner.invoke(app, ["calc", "titrate", "--current", "200", "--proposed", "240",
                                 "--origin", "spinal", "--age-years", "14", "--now", NOW])
    assert result.exit_code == 2
    assert "more than 200 up to 230 mcg/day" in result.output
