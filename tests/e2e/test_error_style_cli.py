"""One error style in every command group (issue 9.11), through the real `itb` CLI.

Every refusal, whether itb's own (a value out of range) or Typer's (a missing option, an
unknown option or command), is two lines on stderr: `Error: ...` then `Next: ...`, exit
status 2, nothing on stdout and no traceback. A long value is shortened when echoed.
The programmer cases include one refused by a real `itb pump serve`.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pump_server import stop_server

ROOT = Path(__file__).resolve().parents[2]
ITB = str(ROOT / ".venv" / "bin" / "itb")
SERIAL = "ITB-STYLE-1"
HUNDRED_DIGITS = "9" * 100

pytestmark = pytest.mark.e2e


def itb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ITB, *args], capture_output=True, text=True, timeout=60,
                          check=False, stdin=subprocess.DEVNULL)


def assert_one_refusal(done: subprocess.CompletedProcess[str], expected: str, *,
                       preview: bool = False) -> str:
    """The two sentences, exit 2, no output (unless a `preview` was shown before the act
    was refused) and no traceback; returns the Error line."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert preview or done.stdout == "", done.stdout
    assert "Traceback" not in done.stderr and "╭" not in done.stderr, done.stderr
    assert not done.stderr.startswith("Usage:"), done.stderr
    lines = done.stderr.rstrip("\n").split("\n")
    assert len(lines) == 2, done.stderr
    error, next_step = lines
    assert error.startswith("Error: ") and expected in error, (expected, done.stderr)
    assert next_step.startswith("Next: ") and len(next_step) > len("Next: ") + 10, done.stderr
    return error


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A real `itb pump serve` on a free loopback port, with one pump in its folder."""
    state = tmp_path_factory.mktemp("style") / "state"
    made = itb("pump", "new", "--state", str(state), "--model", "synchromed-ii-20",
               "--serial", SERIAL)
    assert made.returncode == 0, made.stderr
    process = subprocess.Popen([ITB, "pump", "serve", "--state", str(state), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    match = re.search(r"on 127\.0\.0\.1:(\d+)", process.stdout.readline())
    try:
        assert match is not None, "pump server did not start"
        yield state, int(match.group(1))
    finally:
        stop_server(process)


# (command group, arguments, text the Error line must contain); "{tmp}" is a fresh folder.
BAD_INPUT = [
    ("calc", ["calc", "rate", "--daily-dose", "abc", "--concentration", "500"],
     "daily_dose_mcg = abc is not allowed"),
    ("calc", ["calc", "titrate"], "Missing option '--current'"),
    ("calc", ["calc", "rate", "--dose", "300"], "No such option: --dose"),
    ("calc", ["calc", "rates"], "No such command 'rates'"),
    ("pump", ["pump", "simulate", "--model", "xyz", "--daily-dose", "300", "--days", "1"],
     "model = xyz is not allowed"),
    ("pump", ["pump", "new", "--state", "{tmp}", "--model", "synchromed-ii-20",
              "--concentration", "0"], "allowed is more than 0 mcg/mL."),
    ("pump", ["pump", "serve", "--port", "0"], "Missing option '--state'"),
    ("pump", ["pump", "serve", "--state", "{tmp}", "--port", "abc"],
     "Invalid value for '--port'"),
    ("triage", ["triage", "--symptom", "no-such-symptom"], "symptom = no-such-symptom"),
    ("triage", ["triage", "-s", "fever", "--days-since-refill", "-1"],
     "days_since_refill = -1 is not allowed"),
    ("triage", ["triage", "--fever"], "No such option: --fever"),
    ("sim", ["sim", "run", "{tmp}/missing.toml"], "cannot read the scenario file"),
    ("sim", ["sim", "run"], "Missing argument 'scenario'"),
    ("sim", ["sim", "check", "x.toml"], "No such command 'check'"),
    ("programmer", ["programmer", "interrogate", "--port", "99999"],
     "--port = '99999' is not allowed"),
    ("programmer", ["programmer", "interrogate", "--serial"],
     "Option '--serial' requires an argument"),
    ("programmer", ["programmer", "interogate"], "No such command 'interogate'"),
    ("itb", ["pumps", "list"], "No such command 'pumps'"),
]


@pytest.mark.parametrize(("group", "args", "expected"), BAD_INPUT,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(BAD_INPUT)])
def test_every_command_group_refuses_with_error_then_next_and_exit_2(
        tmp_path: Path, group: str, args: list[str], expected: str) -> None:
    done = itb(*[arg.replace("{tmp}", str(tmp_path)) for arg in args])
    assert_one_refusal(done, expected)


def visit(state: Path, port: int) -> list[str]:
    return ["--port", str(port), "--key-file", str(state / "keys" / f"{SERIAL}.key"),
            "--serial", SERIAL, "--session", str(state.parent / "session.jsonl")]


def test_a_refusal_by_the_served_pump_comes_in_the_same_style(served: tuple[Path, int]
                                                              ) -> None:
    # Served in real time right after implant, the pump is still giving its priming bolus
    # (about 12 minutes at maximum flow), so it refuses another bolus itself.
    done = itb("programmer", "bolus", "--dose", "10", "--duration-min", "60", "--yes",
               *visit(*served))
    assert_one_refusal(done, "The pump refused: give_bolus refused", preview=True)


def test_a_key_for_another_pump_is_refused_in_the_same_style(served: tuple[Path, int]
                                                             ) -> None:
    state, port = served
    done = itb("programmer", "interrogate", "--port", str(port), "--serial", "ITB-OTHER-9",
               "--key-file", str(state / "keys" / f"{SERIAL}.key"))
    assert_one_refusal(done, "allowed is the key of pump ITB-OTHER-9")


def test_a_served_pump_refusal_shows_no_range_to_no_upper_limit(served: tuple[Path, int]
                                                                ) -> None:
    done = itb("programmer", "bolus", "--dose", "0", "--duration-min", "10", "--yes",
               *visit(*served))
    error = assert_one_refusal(done, "bolus dose = 0 mcg is not allowed")
    assert "no upper limit" not in error and "-inf" not in error


# A 100-digit number given to each group is echoed shortened, never in full.
HUGE_VALUE = [
    ["calc", "rate", "--daily-dose", "-" + HUNDRED_DIGITS, "--concentration", "500"],
    ["pump", "simulate", "--model", "synchromed-ii-20", "--daily-dose", HUNDRED_DIGITS,
     "--days", "1"],
    ["triage", "-s", "fever", "--days-since-refill", HUNDRED_DIGITS],
    ["programmer", "interrogate", "--port", HUNDRED_DIGITS],
    ["sim", HUNDRED_DIGITS],
    ["calc", "rate", "--" + HUNDRED_DIGITS],
]


@pytest.mark.parametrize("args", HUGE_VALUE,
                         ids=[f"{args[0]}-{i}" for i, args in enumerate(HUGE_VALUE)])
def test_a_100_digit_value_is_shortened_when_echoed(args: list[str]) -> None:
    done = itb(*args)
    error = assert_one_refusal(done, "99999999999999999… (1")
    assert re.search(r"9… \(1\d\d characters\)", error), error
    assert "9" * 30 not in done.stderr
