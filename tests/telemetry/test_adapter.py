"""Pump-side details: log pages always fit one frame, wire programs map onto pump programs."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from itb.pump.eventlog import LogEntry
from itb.telemetry.protocol.codec import encoded_size
from itb.telemetry.protocol.commands import LogDetail, LogEntryInfo
from itb.telemetry.protocol.link import MAX_MESSAGE_BYTES
from itb.telemetry.protocol.messages import RESPONSES
from itb.telemetry.pumpside.translate import (
    log_entry_size_bound,
    log_page,
    program_from_pump,
    program_to_pump,
)

from .test_codec import CONTINUOUS, FLEX

texts = st.text(max_size=300)


@given(st.integers(0, 2**40), st.integers(0, 2**33), texts,
       st.lists(st.tuples(texts, texts), max_size=6))
@settings(max_examples=150, deadline=None)
def test_log_entry_size_bound_is_never_below_the_encoded_size(
        index: int, time_s: int, kind: str, details: list[tuple[str, str]]) -> None:
    info = LogEntryInfo(index, datetime.fromtimestamp(time_s, UTC), kind,
                        tuple(LogDetail(k, v) for k, v in details))
    assert log_entry_size_bound(info) >= encoded_size(info)


def test_a_page_of_long_entries_is_cut_to_fit_one_frame() -> None:
    entries = [LogEntry(i, 1_767_600_000 + i, "program_changed",
                        (("program", "x" * 5000), ("note", "é" * 400)))
               for i in range(200)]
    page = log_page(entries, 0, 200, 0)
    assert 0 < len(page.entries) < 200
    assert len(RESPONSES.encode(page)) <= MAX_MESSAGE_BYTES
    assert page.next_index == page.entries[-1].index + 1 and not page.complete
    assert page.entries[0].details[0].value.endswith("(cut, 5000 chars)")


def test_an_empty_page_says_it_is_complete() -> None:
    page = log_page([], 10, 10, 0)
    assert page.entries == () and page.complete


def test_wire_programs_map_onto_pump_programs_and_back() -> None:
    for spec in (CONTINUOUS, FLEX):
        assert program_from_pump(program_to_pump(spec)) == spec
    assert program_to_pump(CONTINUOUS).therapy.daily_dose_mcg == Fraction(300)
