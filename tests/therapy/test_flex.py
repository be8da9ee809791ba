"""Flex schedules: daily totals, patterns, exact delivery across DST, and the TOML format."""

from datetime import UTC, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy.errors import FlexScheduleError
from itb.therapy.flex import (
    FlexSchedule,
    FlexStep,
    add_seconds,
    constant_schedule,
    flex_from_pattern,
    flex_from_step_doses,
    local_to_utc,
    make_schedule,
    parse_flex_toml,
    seconds_to_deliver,
    volume_delivered_nl,
)


def test_total_daily_dose_from_steps() -> None:
    # 07:00-22:00 (15 h) at 480 mcg/day, 22:00-07:00 (9 h) at 160 mcg/day.
    flex = make_schedule([("07:00", 480), ("22:00", 160)], "UTC")
    assert flex.total_daily_dose_mcg() == Fraction(480 * 15 + 160 * 9, 24)


def test_last_step_wraps_past_midnight_to_first_step() -> None:
    flex = make_schedule([("06:00", 100), ("18:00", 200)], "UTC")
    assert flex.step_minutes(1) == 12 * 60
    assert flex.step_minutes(0) == 12 * 60


def test_single_step_is_the_whole_day() -> None:
    assert constant_schedule(300).total_daily_dose_mcg() == 300


def test_step_rates_from_target_pattern_deliver_the_shares() -> None:
    flex = flex_from_pattern(300, [("00:00", Fraction(1, 4)), ("06:00", Fraction(1, 2)),
                                   ("18:00", Fraction(1, 4))], "UTC")
    assert flex.total_daily_dose_mcg() == 300
    # 06:00-18:00 gets half of 300 mcg in 12 h: a rate of 300 mcg/day.
    assert flex.steps[1].dose_mcg_per_day == 300
    assert flex.steps[0].dose_mcg_per_day == 300  # 75 mcg in 6 h


def test_step_rates_from_step_doses() -> None:
    flex = flex_from_step_doses([("08:00", 200), ("20:00", 50)], "UTC")
    assert flex.steps[0].dose_mcg_per_day == 400
    assert flex.steps[1].dose_mcg_per_day == 100
    assert flex.total_daily_dose_mcg() == 250


def test_pattern_shares_must_add_to_one() -> None:
    with pytest.raises(InvalidInput) as err:
        flex_from_pattern(300, [("00:00", "0.5"), ("12:00", "0.4")], "UTC")
    assert "add up" in err.value.allowed


@pytest.mark.req("REQ-FLEX-ZONE")
def test_local_to_utc_gap_starts_at_the_jump() -> None:
    zone = ZoneInfo("America/New_York")
    # 2026-03-08 02:30 does not exist; the clock jumps at 07:00 UTC.
    assert local_to_utc(datetime(2026, 3, 8, 2, 30), zone) == datetime(2026, 3, 8, 7, 0,
                                                                       tzinfo=UTC)


@pytest.mark.req("REQ-FLEX-ZONE")
def test_local_to_utc_ambiguous_takes_first_occurrence() -> None:
    zone = ZoneInfo("America/New_York")
    # 2026-11-01 01:30 happens twice: first in EDT (05:30 UTC).
    assert local_to_utc(datetime(2026, 11, 1, 1, 30), zone) == datetime(2026, 11, 1, 5, 30,
                                                                        tzinfo=UTC)


@pytest.mark.req("REQ-FLEX-ZONE")
def test_dst_short_day_delivers_less_than_a_nominal_day() -> None:
    flex = make_schedule([("00:00", 240)], "Europe/Paris")
    # 2026-03-29 in Paris lasts 23 h: 230 mcg, not 240.
    start = local_to_utc(datetime(2026, 3, 29, 0, 0), ZoneInfo("Europe/Paris"))
    end = local_to_utc(datetime(2026, 3, 30, 0, 0), ZoneInfo("Europe/Paris"))
    assert volume_delivered_nl(flex, Fraction(1000), start, end) == 230_000


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(st.integers(min_value=0, max_value=24 * 60 - 1), min_size=1, max_size=5,
                    unique=True),
    rates=st.lists(st.integers(min_value=10, max_value=1500), min_size=5, max_size=5),
    zone=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"]),
    offset_s=st.integers(min_value=0, max_value=400 * 86400),
    volume_nl=st.integers(min_value=1, max_value=40_000_000),
)
def test_seconds_to_deliver_inverts_volume_delivered(starts: list[int], rates: list[int],
                                                     zone: str, offset_s: int,
                                                     volume_nl: int) -> None:
    starts.sort()
    flex = make_schedule([(f"{m // 60:02d}:{m % 60:02d}", rates[i]) for i, m in enumerate(starts)],
                         zone)
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=offset_s)
    seconds = seconds_to_deliver(flex, Fraction(2000), start, volume_nl)
    micro = seconds * 1_000_000
    before = start + timedelta(microseconds=micro.__floor__())
    after = start + timedelta(microseconds=micro.__ceil__())
    assert volume_delivered_nl(flex, Fraction(2000), start, before) <= volume_nl
    assert volume_delivered_nl(flex, Fraction(2000), start, after) >= volume_nl


@settings(max_examples=40, deadline=None)
@given(volume_nl=st.integers(min_value=1, max_value=40_000_000),
       dose=st.integers(min_value=12, max_value=2000))
def test_constant_schedule_time_is_volume_over_rate(volume_nl: int, dose: int) -> None:
    start = datetime(2026, 5, 1, 13, 7, tzinfo=UTC)
    seconds = seconds_to_deliver(constant_schedule(dose), Fraction(500), start, volume_nl)
    assert seconds == Fraction(volume_nl) * 500 * 86400 / (dose * 1_000_000)


TOML_OK = """
timezone = "Europe/Paris"

[[steps]]
start = "07:00"
dose_mcg_per_day = 400

[[steps]]
start = "22:00"
dose_mcg_per_day = "250.5"
"""


def test_parse_flex_toml() -> None:
    flex = parse_flex_toml(TOML_OK, "night.toml")
    assert flex.timezone == "Europe/Paris"
    assert flex.steps == (FlexStep(time(7), Fraction(400)), FlexStep(time(22), Fraction("250.5")))


@pytest.mark.parametrize(("text", "key"), [
    ("timezone = \n", "(file)"),
    ('[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 1\n', "timezone"),
    ('timezone = "Mars/Olympus"\n[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 1\n', "timezone"),
    ('timezone = "UTC"\n', "steps"),
    ('timezone = "UTC"\n[[steps]]\nstart = "7:00"\ndose_mcg_per_day = 1\n', "steps[0].start"),
    ('timezone = "UTC"\n[[steps]]\nstart = "24:00"\ndose_mcg_per_day = 1\n', "steps[0].start"),
    ('timezone = "UTC"\n[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 1.5\n',
     "steps[0].dose_mcg_per_day"),
    ('timezone = "UTC"\n[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 0\n',
     "steps[0].dose_mcg_per_day"),
    ('timezone = "UTC"\n[[steps]]\nstart = "07:00"\n', "steps[0].dose_mcg_per_day"),
    ('timezone = "UTC"\n[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 1\nrate = 2\n',
     "steps[0].rate"),
    ('timezone = "UTC"\nmode = "weekly"\n[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 1\n',
     "mode"),
    ('timezone = "UTC"\n[[steps]]\nstart = "09:00"\ndose_mcg_per_day = 1\n'
     '[[steps]]\nstart = "08:00"\ndose_mcg_per_day = 1\n', "steps[1].start"),
])
def test_parse_flex_toml_errors_name_file_and_key(text: str, key: str) -> None:
    with pytest.raises(FlexScheduleError) as err:
        parse_flex_toml(text, "bad.toml")
    assert err.value.source == "bad.toml"
    assert err.value.key == key
    assert str(err.value).startswith("bad.toml: " + key)


def test_schedule_refuses_unsorted_steps_when_built_directly() -> None:
    with pytest.raises(FlexScheduleError):
        FlexSchedule((FlexStep(time(9), Fraction(1)), FlexStep(time(8), Fraction(1))), "UTC")


def test_schedule_refuses_empty_steps() -> None:
    with pytest.raises(FlexScheduleError):
        FlexSchedule((), "UTC")


def test_delivery_refuses_naive_start() -> None:
    with pytest.raises(InvalidInput):
        seconds_to_deliver(constant_schedule(300), Fraction(500), datetime(2026, 1, 1), 1000)


def _wall_clock_oracle_nl(flex: FlexSchedule, conc: int, start: datetime, minutes: int) -> Fraction:
    """Independent check: minute by minute, the step is the last one started by local wall time."""
    zone = ZoneInfo(flex.timezone)
    starts = [s.start.hour * 60 + s.start.minute for s in flex.steps]
    total = Fraction(0)
    for minute in range(minutes):
        local = (start + timedelta(minutes=minute)).astimezone(zone)
        wall = local.hour * 60 + local.minute
        index = max((i for i, m in enumerate(starts) if m <= wall), default=len(starts) - 1)
        total += flex.steps[index].dose_mcg_per_day * 1_000_000 / conc / 1440
    return total


@pytest.mark.req("REQ-FLEX-ZONE")
@pytest.mark.parametrize(("zone", "start"), [
    ("America/New_York", datetime(2026, 3, 5, 5, 0, tzinfo=UTC)),  # spring forward 03-08
    ("America/New_York", datetime(2026, 10, 29, 4, 0, tzinfo=UTC)),  # fall back 11-01
    ("Europe/Paris", datetime(2026, 3, 27, 0, 0, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 2, 0, 0, tzinfo=UTC)),  # 30-minute shift
])
def test_delivery_across_dst_matches_minute_by_minute_wall_clock(zone: str,
                                                                 start: datetime) -> None:
    # A step starts inside the spring-forward gap (02:30) and none inside the repeated hour.
    flex = make_schedule([("00:00", 300), ("02:30", 900), ("07:15", 480), ("21:45", 120)], zone)
    minutes = 7 * 1440
    expected = _wall_clock_oracle_nl(flex, 1000, start, minutes)
    assert volume_delivered_nl(flex, Fraction(1000), start,
                               start + timedelta(minutes=minutes)) == expected


@pytest.mark.parametrize(("extension", "key"), [
    ('period = "weekly"\n', "period"),
    ('[[periodic_bolus]]\nstart = "08:00"\ndose_mcg = 20\nduration_minutes = 30\n',
     "periodic_bolus"),
])
def test_pump_program_extensions_are_refused_by_name_not_ignored(extension: str, key: str) -> None:
    # Ignoring a periodic bolus would leave its drug out of a refill plan.
    text = 'timezone = "UTC"\n' + extension + '[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 1\n'
    with pytest.raises(FlexScheduleError) as err:
        parse_flex_toml(text, "pump.toml")
    assert err.value.key == key
    assert "pump-program extension" in str(err.value)
    assert "itb pump simulate" in str(err.value)


def test_period_daily_is_what_no_period_means() -> None:
    assert parse_flex_toml('period = "daily"\n' + TOML_OK, "f.toml") == \
        parse_flex_toml(TOML_OK, "f.toml")


@pytest.mark.parametrize("second", ["07:00", "06:00"])
def test_duplicate_or_out_of_order_step_is_refused_as_an_overlap(second: str) -> None:
    text = ('timezone = "UTC"\n[[steps]]\nstart = "07:00"\ndose_mcg_per_day = 1\n'
            f'[[steps]]\nstart = "{second}"\ndose_mcg_per_day = 2\n')
    with pytest.raises(FlexScheduleError) as err:
        parse_flex_toml(text, "bad.toml")
    assert err.value.key == "steps[1].start"
    assert "steps[1] overlaps steps[0]" in str(err.value)


def test_seconds_to_deliver_refuses_a_volume_beyond_the_horizon_instead_of_looping() -> None:
    slow = make_schedule([("07:00", "0.000001"), ("22:00", "0.000001")], "Europe/Paris")
    with pytest.raises(InvalidInput) as refused:
        seconds_to_deliver(slow, Fraction(2000), datetime(2026, 1, 1, tzinfo=UTC), 40_000_000)
    assert refused.value.field == "volume_nl"


def test_add_seconds_past_year_9999_is_a_refusal_not_an_overflow() -> None:
    with pytest.raises(InvalidInput, match="year 9999"):
        add_seconds(datetime(9999, 12, 31, tzinfo=UTC), Fraction(10**6))
