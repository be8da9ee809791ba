"""Each journal entry's sequence number in its session (the clinic's key, with the session
id, for recording it once); journals written before it existed still read, numbered by
their place in their session."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from itb.programmer.journal import SESSION_GAP, Journal

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_entries_are_numbered_from_1_in_each_session(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "s.jsonl")
    for minutes in (0, 5, 10):
        journal.append(at=T0 + timedelta(minutes=minutes), kind="interrogation", serial="A",
                       pump_time=None, outcome="done", summary="read")
    journal.append(at=T0 + SESSION_GAP * 2, kind="bolus", serial="A", pump_time=None,
                   outcome="done", summary="bolus")
    journal.append(at=T0 + SESSION_GAP * 2, kind="interrogation", serial="B", pump_time=None,
                   outcome="done", summary="read")
    entries = journal.entries()
    assert [(e.session == entries[0].session, e.seq) for e in entries[:3]] == [
        (True, 1), (True, 2), (True, 3)]
    assert [e.seq for e in entries[3:]] == [1, 1]
    assert len({e.session for e in entries}) == 3
    lines = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3, 1, 1]


def test_lines_without_a_sequence_number_are_numbered_by_their_place(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    old = {"format": "itb-programmer-session 2", "kind": "interrogation", "serial": "A",
           "pump_time": None, "outcome": "done", "summary": "read", "details": {}}
    path.write_text("".join(json.dumps({**old, "at": (T0 + timedelta(minutes=m)).isoformat(),
                                        "session": "s1"}) + "\n" for m in (0, 1)))
    journal = Journal(path)
    assert [e.seq for e in journal.entries()] == [1, 2]
    journal.append(at=T0 + timedelta(minutes=2), kind="bolus", serial="A", pump_time=None,
                   outcome="done", summary="bolus")  # continues the old session
    assert [(e.session, e.seq) for e in journal.entries()] == [("s1", 1), ("s1", 2),
                                                                ("s1", 3)]
