"""The one titration rule end to end (issues 9.7, 9.8, 16.1): the real `itb programmer`
against a real `itb pump serve`, aged 20 pump days (300 mcg/day since the implant)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pump_server import ServedPump, serve_pump

SPINAL_ADULT = ("--origin", "spinal", "--age-years", "45")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedPump]:
    yield from serve_pump(tmp_path_factory.mktemp("rule"), days=20)


@pytest.mark.e2e
def test_small_increase_then_too_soon_then_decreases(served: ServedPump) -> None:
    # 9.7: +1.7% is smaller than the usual 10-30% step: allowed, with a note.
    small = served.run("program", "--daily-dose", "305", *SPINAL_ADULT, "--yes")
    assert small.returncode == 0, small.stderr
    assert "smaller than the usual step" in small.stdout
    assert served.interrogate()["daily_dose_mcg"] == "305"
    # 9.8: a second increase at once is refused for the real reason, with the next time.
    soon = served.run("program", "--daily-dose", "330", *SPINAL_ADULT, "--yes")
    assert soon.returncode == 2
    error, next_step = soon.stderr.strip().splitlines()[:2]
    assert "too soon" in error and "next increase is allowed at" in error
    assert "allowed is 330" not in error
    assert next_step.startswith("Next: Wait until ")
    # 16.1: a decrease right after the change is allowed; a large cut needs its own flag.
    assert served.run("program", "--daily-dose", "290", *SPINAL_ADULT,
                      "--yes").returncode == 0
    cut = served.run("program", "--daily-dose", "150", *SPINAL_ADULT, "--yes")
    assert cut.returncode == 2 and "--confirm-large-decrease" in cut.stderr
    assert served.interrogate()["daily_dose_mcg"] == "290"
    done = served.run("program", "--daily-dose", "150", *SPINAL_ADULT,
                      "--confirm-large-decrease", "--yes")
    assert done.returncode == 0, done.stderr
    assert served.interrogate()["daily_dose_mcg"] == "150"
