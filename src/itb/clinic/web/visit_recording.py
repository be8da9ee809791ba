"""Every act of a web visit recorded to the clinic, through the programmer feed's service.

The web visit drives the programmer's workflows on a `Visit` whose one journal write point
(`Visit.record`) hands each entry, once its line is on disk, to the visit's recorder. Here
that recorder is `CatchingUp` around `ClinicRecorder`: each entry goes through the clinic's
recording service (`itb.clinic.recording.record_entry`, the same service `POST
/api/recordings` and `itb clinic sync` use: matched to the patient by the pump's serial,
filed in the session's visit, idempotent on (session, seq), every write audited), in one
transaction of its own, so an act done on the pump is in the clinic's record before the page
answers.

An act on the pump is never undone or hidden by a recording failure: the entry stays in the
visit's journal, `RecordingState.error` says why (the page shows it), and the next entry
records every earlier one the clinic does not have yet, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
from itb.clinic.recording import record_entry
from itb.errors import shorten
from itb.programmer.clinic_feed import entry_body
from itb.programmer.journal import Journal, JournalEntry


@dataclass
class RecordingState:
    """How far the visit's journal is recorded to the clinic."""

    recorded: int = 0  # the journal's entries 0 .. recorded-1 are in the clinic's record
    error: str | None = None  # why the last attempt failed, shown on the page


@dataclass(frozen=True)
class ClinicRecorder:
    """One journal entry into the clinic's record, in a transaction of its own."""

    db: ClinicDB
    actor: Actor
    patient_id: int
    clock: Callable[[], datetime]

    def __call__(self, entry: JournalEntry) -> None:
        with self.db.session() as session:
            recorded = record_entry(session, self.actor, entry_body(entry), now=self.clock())
        if recorded.patient_id != self.patient_id:  # never filed under another patient
            raise RuntimeError(f"pump {entry.serial} is another patient's "
                               f"(record {recorded.patient_id}) in the clinic")


@dataclass
class CatchingUp:
    """A `Visit`'s recorder: records the entry just journaled and every earlier one of the
    journal the clinic does not have yet; it never raises (the act on the pump stands)."""

    journal: Path
    record: Callable[[JournalEntry], None]
    state: RecordingState = field(default_factory=RecordingState)

    def __call__(self, _entry: JournalEntry) -> None:
        state = self.state
        try:
            entries = Journal(self.journal).entries()
            for seq in range(state.recorded, len(entries)):
                self.record(entries[seq])
                state.recorded = seq + 1
            state.error = None
        except Exception as exc:
            state.error = f"{type(exc).__name__}: {shorten(str(exc))}"
