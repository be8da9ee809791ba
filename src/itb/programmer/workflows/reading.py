"""Workflows that read the pump: interrogation, alarms (and their acknowledgement), the event
log, and the data of the session report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itb.errors import InvalidInput
from itb.programmer.journal import Journal, JournalEntry, latest_session, require_journal
from itb.programmer.view import PumpView, view_to_json
from itb.programmer.workflows.visit import Visit
from itb.telemetry.protocol.commands import AcknowledgeAlarm, AlarmAcknowledged, LogEntryInfo

_LOG_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")  # the pump logs snake_case kinds


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class Interrogation:
    view: PumpView
    data: dict[str, Any]  # the exact JSON form (view_to_json)


def interrogate(visit: Visit) -> Interrogation:
    """Read the pump into a view and journal the interrogation."""
    view = visit.read_closed()
    data = view_to_json(view)
    visit.record("interrogation", view, view.serial, "done",
                 f"interrogated: {data['reservoir_estimate_ml']} mL at "
                 f"{data['concentration_mcg_per_ml']} mcg/mL, {data['daily_dose_mcg']} mcg/day, "
                 f"{len(data['alarms'])} alarm(s)", {"interrogation": data})
    return Interrogation(view, data)


@dataclass(frozen=True)
class Alarms:
    view: PumpView  # read after the acknowledgement, if there was one
    silenced: int | None  # None: nothing was acknowledged


def alarms(visit: Visit, ack: str | None) -> Alarms:
    """The pump's alarms; `ack` (an alarm kind, or "all") silences the sounding ones."""
    answer: AlarmAcknowledged | None = None
    with visit.session() as client:
        view = visit.read(client)
        if ack is not None:
            known = {a.code for a in view.report.alarms}
            if ack != "all" and ack not in known:
                raise InvalidInput("--ack", ack, "one of the pump's alarms: "
                                   + (", ".join(sorted(known)) or "none raised") + ", or all")
            answer = client.call(AcknowledgeAlarm(None if ack == "all" else ack),
                                 AlarmAcknowledged)
            view = visit.read(client)
    if answer is not None:
        visit.record("alarm_ack", view, view.serial, "done",
                     f"acknowledged {ack}: {answer.silenced} alarm(s) silenced",
                     {"kind": ack, "silenced": answer.silenced})
    return Alarms(view, None if answer is None else answer.silenced)


@dataclass(frozen=True)
class LogQuery:
    """Which entries of the event log to show: kinds, a time window, a page (1 = newest)."""

    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    page_size: int = 20

    def __post_init__(self) -> None:
        for name in self.kinds:
            # Pump log kinds are snake_case words (program_changed, refill...); an empty or
            # odd --kind would otherwise filter silently to an empty table.
            if not _LOG_KIND.fullmatch(name):
                raise InvalidInput("--kind", repr(name), "a log entry kind such as program_changed")

    def matches(self, entry: LogEntryInfo) -> bool:
        return ((not self.kinds or entry.kind in self.kinds)
                and (self.since is None or entry.time >= self.since)
                and (self.until is None or entry.time <= self.until))


@dataclass(frozen=True)
class LogPage:
    view: PumpView
    query: LogQuery
    matching: int
    pages: int
    entries: tuple[LogEntryInfo, ...]  # this page's, newest first


def read_log(visit: Visit, query: LogQuery) -> LogPage:
    """One page of the pump's event log, newest first, filtered by the query."""
    view = visit.read_closed()
    chosen = [e for e in reversed(view.log) if query.matches(e)]
    pages = max(1, -(-len(chosen) // query.page_size))
    if query.page > pages:
        raise InvalidInput("--page", query.page, f"1 to {pages} ({len(chosen)} matching entries)")
    start = (query.page - 1) * query.page_size
    shown = tuple(chosen[start: start + query.page_size])
    visit.record("log_view", view, view.serial, "done",
                 f"event log read: page {query.page} of {pages}, {len(chosen)} matching entries",
                 {"kinds": list(query.kinds), "since": iso(query.since),
                  "until": iso(query.until)})
    return LogPage(view, query, len(chosen), pages, shown)


@dataclass(frozen=True)
class ReportData:
    """What the session report is made from: a final interrogation and the journal."""

    view: PumpView
    entries: list[JournalEntry]
    generated_at: datetime


def report_data(visit: Visit, all_sessions: bool = False) -> ReportData:
    """A final interrogation (journaled), then the journal's entries for this pump: the latest
    session (visit) by default, every session with `all_sessions`."""
    require_journal(visit.journal)
    view = visit.read_closed()
    visit.record("interrogation", view, view.serial, "done",
                 "final interrogation for the session report",
                 {"interrogation": view_to_json(view)})
    entries = Journal(visit.journal).entries(view.serial)
    if not all_sessions:
        entries = latest_session(entries)
    return ReportData(view, entries, visit.clock())
