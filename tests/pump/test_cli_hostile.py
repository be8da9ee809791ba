"""`itb pump simulate` against hostile input: every refusal is exit 2, one sentence
naming the field, nothing on stdout, no traceback, no hang."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from itb.cli import app

runner = CliRunner()
BASE = ["pump", "simulate", "--daily-dose", "500", "--days", "2",
        "--start", "2026-01-05T08:00:00Z", "--json"]


def refused(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    # One refusal: "Error: ..." then "Next: ..." (itb.cli_errors).
    assert len(lines) == 2 and lines[0].startswith("Error: "), result.stderr
    assert lines[1].startswith("Next: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(("content", "named"), [
    (b"\xaf\x00\xff binary junk", "UTF-8"),
    (b'timezone = "UTC"\n\xff\xfe', "UTF-8"),
    (b'timezone = "UTC"\n' + b"#" * (2 << 20), "bytes"),
])
def test_a_binary_non_utf8_or_huge_flex_file_is_refused_by_name(
        tmp_path: Path, content: bytes, named: str) -> None:
    path = tmp_path / "flex.toml"
    path.write_bytes(content)
    line = refused(["pump", "simulate", "--flex", str(path), "--days", "2", "--json"])
    assert "(file)" in line and named in line


def test_an_endless_flex_file_is_refused_without_reading_it_all() -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    line = refused(["pump", "simulate", "--flex", "/dev/zero", "--days", "2", "--json"])
    assert "bytes" in line


@pytest.mark.parametrize("start", [
    "9999-12-31T00:00:00+00:00",   # the run's end is past year 9999 (traceback before)
    "9999-12-31T23:59:59-05:00",   # past year 9999 once in UTC (OverflowError before)
    "1969-12-31T23:59:59Z",        # before the pump clock's epoch
    "0001-01-01T00:00:00Z",
])
def test_a_start_whose_run_leaves_the_calendar_is_refused_by_name(start: str) -> None:
    args = [a if a != "2026-01-05T08:00:00Z" else start for a in BASE]
    line = refused(args)
    assert line.startswith(f"Error: start = {start}") and "1970-01-01" in line


def test_the_latest_allowed_start_runs_the_longest_run() -> None:
    result = runner.invoke(app, ["pump", "simulate", "--daily-dose", "500", "--days", "3653",
                                 "--start", "9989-01-01T00:00:00Z", "--json"])
    assert result.exit_code == 0, result.output
    assert '"end": "9999-01-02T00:00:00+00:00"' in result.stdout


@pytest.mark.parametrize(("option", "value", "field"), [
    ("--occlusion-at", "50", "occlusion_at"),        # silently ignored before
    ("--disconnect-at", "2.5", "disconnect_at"),
    ("--memory-corruption-at", "3", "memory_corruption_at"),
    ("--stall", "100:1", "stall days"),
    ("--stall", "1:1e90", "stall hours"),            # a stall no run could show
])
def test_a_fault_outside_the_run_is_refused_not_ignored(option: str, value: str,
                                                        field: str) -> None:
    line = refused([*BASE, option, value])
    assert line.startswith(f"Error: {field} = ")


def test_a_fault_on_the_last_moment_of_the_run_is_accepted() -> None:
    result = runner.invoke(app, [*BASE, "--occlusion-at", "2", "--stall", "1:48"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("option", "value", "field"), [
    ("--max-daily-dose", "1e90", "max_daily_dose_mcg"),   # accepted before: no limit at all
    ("--max-bolus", "1e90", "max_bolus_mcg"),
    ("--max-bolus", "12001", "max_bolus_mcg"),            # 24 mL/day x 500 mcg/mL = 12,000
])
def test_a_hard_limit_the_pump_cannot_reach_is_refused(option: str, value: str,
                                                       field: str) -> None:
    line = refused([*BASE, option, value])
    assert line.startswith(f"Error: {field} = ") and "maximum flow" in line


def test_the_default_daily_limit_never_exceeds_what_the_pump_can_deliver() -> None:
    # 12,000 mcg/day is the maximum flow at 500 mcg/mL; +25% would be refused by the core.
    result = runner.invoke(app, ["pump", "simulate", "--daily-dose", "12000", "--days", "1",
                                 "--start", "2026-01-05T08:00:00Z", "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("option", "value", "field"), [
    ("--seed", "abc", "seed"),          # a Rich usage box from Typer before, not one sentence
    ("--seed", "1.5", "seed"),
    ("--seed", "-1", "seed"),           # random.Random(-1) is random.Random(1): refused
    ("--seed", str(2**64), "seed"),
    ("--pocket-fill-refill", "x", "pocket_fill_refill"),
])
def test_whole_number_options_are_read_by_itb_and_refused_in_one_sentence(
        option: str, value: str, field: str) -> None:
    assert refused([*BASE, option, value]).startswith(f"Error: {field} = {value} ")


def test_a_fractional_pocket_fill_refill_number_is_refused() -> None:
    line = refused([*BASE, "--days", "3", "--refill-every-days", "1",
                    "--pocket-fill-refill", "1.5"])
    assert line.startswith("Error: pocket_fill_refill = 1.5 ")


@pytest.mark.parametrize("fill", ["0", "-0", "0e-999"])
def test_an_empty_fill_with_priming_is_refused_by_the_fill_option(fill: str) -> None:
    # Before: "prime refused: the reservoir is empty", naming no option.
    line = refused([*BASE, "--fill-ml", fill])
    assert line.startswith("Error: fill_ml = 0 mL ") and "--no-prime" in line
    result = runner.invoke(app, [*BASE, "--fill-ml", fill, "--no-prime"])
    assert result.exit_code == 0, result.output


def test_alarms_are_read_from_the_log_ring_before_it_can_overwrite_them() -> None:
    from itb.pump.simulate import AlarmCollector

    from .helpers import at, implant
    pump = implant(fill_nl=3_000_000)
    collector = AlarmCollector()
    pump.advance(at(days=6))  # low reservoir, then reservoir empty
    collector.read(pump)
    for i in range(pump.log.capacity):  # a busy stretch overwrites every alarm entry
        pump.log.append(pump.now_s, "telemetry_session", n=i)
    collector.read(pump)
    assert [a["kind"] for a in collector.alarms] == ["low_reservoir", "reservoir_empty"]
    assert collector.missed == 0 and pump.log.overflowed > 0
    # Entries lost before a read are counted, not silently skipped.
    for i in range(pump.log.capacity + 7):
        pump.log.append(pump.now_s, "telemetry_session", n=i)
    collector.read(pump)
    assert collector.missed == 7


def test_the_readable_summary_shows_the_log_overflow_count() -> None:
    result = runner.invoke(app, [a for a in BASE if a != "--json"])
    assert result.exit_code == 0, result.output
    assert "Log entries overwritten (ring full)" in result.stdout


@pytest.mark.parametrize(("option", "field"), [
    ("--model", "model"), ("--start", "start"), ("--fill-ml", "fill_ml"), ("--days", "days"),
    ("--concentration", "concentration"), ("--alarm-ml", "alarm_ml"), ("--seed", "seed"),
    ("--max-bolus", "max_bolus"), ("--catheter-ml", "catheter_ml"),
])
def test_an_empty_value_is_named_and_shown_as_empty_quotes(option: str, field: str) -> None:
    line = refused([*BASE, option, ""])
    assert line.startswith(f'Error: {field} = "" is not allowed: allowed is ')


@pytest.mark.parametrize("value", ["nan", "-inf", "1e999", "1e999999999", "١٠", "1_000", "0x10",
                                   "+-1", "1/0", " "])
@pytest.mark.parametrize(("option", "field"), [
    ("--fill-ml", "fill_ml"), ("--concentration", "concentration"), ("--daily-dose", "daily_dose"),
    ("--alarm-ml", "alarm_ml"), ("--days", "days"), ("--max-daily-dose", "max_daily_dose"),
    ("--max-bolus", "max_bolus"), ("--catheter-ml", "catheter_ml"),
    ("--refill-every-days", "refill_every_days"), ("--occlusion-at", "occlusion_at"),
    ("--seed", "seed"),
])
def test_odd_number_text_is_refused_by_the_exact_reader_for_every_option(
        option: str, field: str, value: str) -> None:
    assert refused([*BASE, option, value]).startswith(f"Error: {field} = ")
