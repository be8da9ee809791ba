"""`itb calc` against hostile input: every option of every subcommand, through the real CLI.

Odd text (NaN, an exponent of a billion, empty, Unicode digits, a naive or out-of-calendar
time) must end in exit status 2 with one sentence on stderr naming the field, nothing on
stdout and no traceback; huge or tiny numbers may be accepted or refused, but never crash
or hang.
"""

import time

import pytest
from typer.testing import CliRunner

from itb.cli import app

runner = CliRunner()
NOW = "2026-01-01T08:00:00Z"

# A valid call per subcommand; each test swaps one option's value.
VALID: dict[str, dict[str, str]] = {
    "rate": {"--concentration": "500", "--daily-dose": "300"},
    "refill": {"--reservoir-ml": "20", "--concentration": "500", "--daily-dose": "300",
               "--alarm-ml": "2", "--now": NOW, "--margin-days": "7", "--stability-days": "180",
               "--filled-at": NOW, "--capacity-ml": "20"},
    "refill-check": {"--expected-ml": "2", "--withdrawn-ml": "2", "--fill-ml": "20",
                     "--capacity-ml": "20", "--threshold-ml": "2"},
    "bridge": {"--old-concentration": "500", "--new-concentration": "2000",
               "--daily-dose": "300", "--new-daily-dose": "300", "--pump-tubing-ml": "0.2",
               "--catheter-length-cm": "50", "--catheter-ml-per-cm": "0.0026"},
    "titrate": {"--current": "400", "--proposed": "450", "--origin": "spinal",
                "--age-years": "40", "--last-change": "2025-12-30T08:00:00Z", "--now": NOW},
    "initial-dose": {"--screening-dose": "50", "--effect-hours": "10", "--start": NOW},
    "candidate": {"--weight-kg": "40", "--age-years": "30", "--days-since-brain-injury": "400"},
    "dilution": {"--target": "1000", "--total-ml": "20", "--stock": "2000"},
    "battery": {"--remaining-nc": "1000000000000", "--flow-ml-per-day": "0.6",
                "--idle-na": "8000", "--stroke-nc": "43200", "--stroke-nl": "250",
                "--eri-warning-days": "90", "--implanted-at": "2025-01-01T00:00:00Z",
                "--shutoff-days": "2557", "--now": NOW},
    "screening": {"--min-ashworth-decrease": "1"},
}
FLAGS = {"candidate": ["--severe", "--oral-inadequate"]}
TIME_OPTIONS = {"--now", "--filled-at", "--last-change", "--start", "--implanted-at"}
WORD_OPTIONS = {"--origin"}

# Every option gets the first three; the rest rotate over the options (keeps the run short).
ODD_NUMBERS = ["NaN", "1e999999999", "\u0665\u0660"]
ODD_NUMBERS_ROTATING = ["", "-inf", "1e999", "1_0", "0x10", "\uff11\uff12"]
ODD_TIMES = ["2026-01-01T08:00:00", "", "yesterday"]
ODD_TIMES_ROTATING = ["2026-02-30T00:00:00Z", "\u0968\u0966\u0968\u096c-01-01T00:00:00Z"]
EDGE_NUMBERS_ROTATING = ["-0", "9" * 60, "1e-999999999", "-" + "9" * 60, "1e-99"]
EDGE_TIMES_ROTATING = ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]

CASES = [(cmd, opt) for cmd, opts in VALID.items() for opt in opts if opt not in WORD_OPTIONS]
ROTATION = {case: index for index, case in enumerate(CASES)}


def odd_values(case: tuple[str, str]) -> list[str]:
    index = ROTATION[case]
    if case[1] in TIME_OPTIONS:
        return [*ODD_TIMES, ODD_TIMES_ROTATING[index % len(ODD_TIMES_ROTATING)]]
    return [*ODD_NUMBERS, ODD_NUMBERS_ROTATING[index % len(ODD_NUMBERS_ROTATING)]]


def edge_values(case: tuple[str, str]) -> list[str]:
    pool = EDGE_TIMES_ROTATING if case[1] in TIME_OPTIONS else EDGE_NUMBERS_ROTATING
    return [pool[ROTATION[case] % len(pool)]]


def invoke(command: str, option: str, value: str):
    args = ["calc", command]
    for name, valid in VALID[command].items():
        args += [name, value if name == option else valid]
    started = time.perf_counter()
    result = runner.invoke(app, args + FLAGS.get(command, []) + ["--json"])
    return result, time.perf_counter() - started


def test_every_valid_call_succeeds() -> None:
    for command in VALID:
        result, _ = invoke(command, "", "")
        assert result.exit_code == 0, (command, result.output)


@pytest.mark.parametrize(("command", "option"), CASES)
def test_odd_text_is_refused_with_one_sentence_naming_the_field(command: str, option: str
                                                                ) -> None:
    for value in odd_values((command, option)):
        result, _ = invoke(command, option, value)
        assert result.exit_code == 2, (option, value, result.output, result.exception)
        assert result.stdout == "", (option, value)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 2 and lines[0].startswith("Error: "), (option, value, lines)
        assert lines[1].startswith("Next: "), (option, value, lines)
        assert " is not allowed: allowed is " in lines[0], (option, value, lines)


@pytest.mark.parametrize(("command", "option"), CASES)
def test_huge_tiny_signed_zero_and_calendar_edges_never_crash_or_hang(command: str, option: str
                                                                      ) -> None:
    for value in edge_values((command, option)):
        result, seconds = invoke(command, option, value)
        assert result.exit_code in (0, 2), (option, value, result.exception)
        assert seconds < 5, (option, value, seconds)
        if result.exit_code == 2:
            assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 2


def test_screening_criterion_is_checked_even_without_a_trial_file() -> None:
    result = runner.invoke(app, ["calc", "screening", "--min-ashworth-decrease", "5"])
    assert result.exit_code == 2
    assert "min_ashworth_decrease" in result.stderr and "at most 4" in result.stderr


def test_missing_required_option_is_a_usage_error_not_a_traceback() -> None:
    result = runner.invoke(app, ["calc", "refill", "--reservoir-ml", "20"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and result.stdout == ""
