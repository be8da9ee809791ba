"""The session journal: the programmer's only local state, the raw material of the report.

One JSON object per line, appended as each command finishes (or is refused, stopped
or interrupted), and flushed to disk at once so a crash loses nothing already done.
The programmer never reads the journal to decide anything about therapy: the last
program change, the last refill and every figure come from the pump itself. The
journal only records what happened in the session, for `itb programmer report`.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itb.errors import InvalidInput

FORMAT = "itb-programmer-session 2"
# Format 1 lines (before session ids) are read as one earlier session without an id.
FORMATS = ("itb-programmer-session 1", FORMAT)
DEFAULT_SESSION_FILE = "itb-session.jsonl"
# A visit: entries for the same pump with no gap longer than this share a session id; a
# longer gap or another pump starts a new session (itb's choice, *unconfirmed*).
SESSION_GAP = timedelta(hours=4)


@dataclass(frozen=True)
class JournalEntry:
    at: str  # the programmer's UTC clock when the entry was written (ISO-8601)
    kind: str  # interrogation, program, refill, bolus, stop, resume, alarm_ack, ...
    serial: str
    pump_time: str | None
    outcome: str  # done, refused, stopped, cancelled, interrupted
    summary: str
    details: dict[str, Any]
    session: str | None = None  # the visit this entry belongs to (None: format 1 line)
    # 1, 2, ... within its session: with the session, the clinic's key for recording it once
    # (docs/clinic-feed.md). Lines written before it existed get their place in the session.
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"format": FORMAT, "at": self.at, "kind": self.kind, "serial": self.serial,
                "pump_time": self.pump_time, "outcome": self.outcome, "summary": self.summary,
                "details": self.details, "session": self.session}
        return data if self.seq is None else data | {"seq": self.seq}


class Journal:
    """Append-only JSON-lines file of one programming session."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, *, at: datetime, kind: str, serial: str, pump_time: datetime | None,
               outcome: str, summary: str, details: dict[str, Any] | None = None) -> JournalEntry:
        session, seq = self._place(at, serial)
        entry = JournalEntry(at.isoformat(), kind, serial,
                             None if pump_time is None else pump_time.isoformat(), outcome,
                             summary, details or {}, session, seq)
        line = json.dumps(entry.to_json(), sort_keys=True) + "\n"
        self._require_regular_file()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise InvalidInput("session file", str(self.path), "a writable file",
                               exc.strerror) from None
        return entry

    def _place(self, at: datetime, serial: str) -> tuple[str, int]:
        """The session and sequence number of a new entry: the last entry's session, next in
        it, if it is the same pump within `SESSION_GAP`; else a new session's first."""
        last = self.entries()[-1:] if self.path.is_file() else []
        if last and last[0].serial == serial and last[0].session is not None:
            try:
                gap = at - datetime.fromisoformat(last[0].at)
            except (ValueError, TypeError):
                gap = SESSION_GAP * 2
            if timedelta(0) <= gap <= SESSION_GAP:
                return last[0].session, (last[0].seq or 0) + 1
        return f"{at.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}", 1

    def _require_regular_file(self) -> None:
        """A FIFO or device as --session would block the open; a directory gets the OS's
        own reason from the open."""
        if self.path.exists() and not self.path.is_file() and not self.path.is_dir():
            raise InvalidInput("session file", str(self.path), "a regular file",
                               "it is not a regular file")

    def entries(self, serial: str | None = None) -> list[JournalEntry]:
        """Every entry (of one pump, if `serial` is given), oldest first."""
        if not self.path.exists():
            return []
        self._require_regular_file()
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput("session file", str(self.path), "a readable session journal",
                               str(exc)) from None
        out = []
        placed: dict[str | None, int] = {}  # the last sequence number seen in each session
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if data.get("format") not in FORMATS:
                    raise ValueError("format")
                session = None if data.get("session") is None else str(data["session"])
                seq = data.get("seq", placed.get(session, 0) + 1)
                if type(seq) is not int or seq < 1:
                    raise ValueError("seq")
                placed[session] = seq
                entry = JournalEntry(str(data["at"]), str(data["kind"]), str(data["serial"]),
                                     data["pump_time"], str(data["outcome"]),
                                     str(data["summary"]), dict(data["details"]), session, seq)
            # AttributeError: a line that is JSON but not an object ([1], "x"); RecursionError:
            # a line of thousands of nested arrays. Both are foreign lines, not programmer faults.
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                raise InvalidInput("session file", f"{self.path} line {number}",
                                   f"lines written by itb programmer ({' or '.join(FORMATS)})"
                                   ) from None
            if serial is None or entry.serial == serial:
                out.append(entry)
        return out


def latest_session(entries: list[JournalEntry]) -> list[JournalEntry]:
    """The entries of the most recent session (the last entry's), oldest first."""
    if not entries:
        return []
    session = entries[-1].session
    return [e for e in entries if e.session == session]


def require_journal(path: Path) -> None:
    """A report needs the session journal: a missing one is an error, not an empty report."""
    Journal(path)._require_regular_file()
    if not Path(path).is_file():
        raise InvalidInput("session file", str(path), "an existing session journal",
                           "no journal there: the session's commands write it (--session or "
                           "ITB_SESSION names it)")
