"""A visit in the browser, held on the server between requests.

The browser sends only the answer of the step it is on; everything already confirmed (the
pump read, the refill wizard's checked residual and drug, a reviewed program or bolus) stays
here, keyed by the login session and the patient, and is never taken back from a form. Each
visit has a lock: two requests of one visit (a double click, two tabs) run one after the
other, never interleaved inside a workflow.

`RecordedVisit` is the programmer's `Visit` whose recorder hands each journal entry to the
clinic (`visit_recording`). An act done on the pump is never undone or hidden by a recording
failure: the entry stays in the visit's journal, the page says the clinic record is behind,
and the next entry records what is missing, once.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from itb.clinic.web.visit_recording import CatchingUp, RecordingState
from itb.programmer.journal import JournalEntry
from itb.programmer.view import PumpView
from itb.programmer.wand import ConnectionOptions, WandFactory
from itb.programmer.workflows.infusion import BolusReview
from itb.programmer.workflows.program_change import ProgramChange, ProgramReview
from itb.programmer.workflows.refill_wizard import RefillWizard
from itb.programmer.workflows.visit import Visit

# A visit left alone this long is forgotten (its journal and clinic records stay); the
# clinician starts a new one, which reads the pump again. itb's choice, *unconfirmed*.
IDLE_VISIT_S = 30 * 60


@dataclass(frozen=True)
class RecordedVisit(Visit):
    """A programmer `Visit` whose recorder (`CatchingUp`) records each journal entry to the
    clinic; `recording` says how far it got."""

    @property
    def recording(self) -> RecordingState:
        recorder = self.recorder
        return recorder.state if isinstance(recorder, CatchingUp) else RecordingState()


def recorded_visit(open_session: WandFactory, journal: Path, serial: str | None,
                   clock: Callable[[], datetime],
                   record_one: Callable[[JournalEntry], None] | None) -> RecordedVisit:
    """A visit whose entries `record_one` files in the clinic (None: the journal only)."""
    recorder = None if record_one is None else CatchingUp(journal, record_one)
    return RecordedVisit(open_session, journal, serial, clock, recorder)


@dataclass
class Refill:
    """The refill wizard in the browser: the wizard, and which steps the clinician did."""

    wizard: RefillWizard
    pump_confirmed: bool = False
    bridge_planned: bool = False
    recorded: bool = False  # step 7 done
    closed: bool = False  # the update was tried and failed: never offered again

    @property
    def step(self) -> int:
        """The step the wizard waits on (1 to 7); 0 when it stopped."""
        wizard = self.wizard
        if wizard.stopped is not None or self.closed:
            return 0
        if wizard.updated is not None:
            return 7
        if self.bridge_planned:
            return 5
        if wizard.drug is not None:
            return 4
        if wizard.residual is not None:
            return 3
        return 2 if self.pump_confirmed else 1


@dataclass
class WebVisit:
    """One clinician's visit to one patient's pump, from the browser."""

    patient_id: int
    implant_id: int
    serial: str
    options: ConnectionOptions
    visit: RecordedVisit
    view: PumpView | None = None  # the last interrogation shown
    refill: Refill | None = None
    program: ProgramChange | None = None
    program_review: ProgramReview | None = None
    bolus: BolusReview | None = None
    infusion_view: PumpView | None = None  # read for a stop or resume awaiting confirmation
    infusion_act: str = ""  # "stop" or "resume": which one awaits confirmation
    said: Any = None  # the last act's result (visit_acts.Said), shown on `said_on`'s page
    said_on: str = ""
    preview: str | None = None  # the last program review's preview, as the CLI prints it
    lock: threading.Lock = field(default_factory=threading.Lock)
    touched: float = field(default_factory=time.monotonic)


VisitKey = tuple[str, int]  # (the login session's key, the patient's id)


class VisitStore:
    """The open visits of this server process, keyed by login session and patient."""

    def __init__(self, journal_dir: Path, idle_s: float = IDLE_VISIT_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.journal_dir = journal_dir
        self.idle_s = idle_s
        self._monotonic = monotonic
        self._visits: dict[VisitKey, WebVisit] = {}
        self._lock = threading.Lock()

    def journal_path(self, patient_id: int, now: datetime) -> Path:
        """A journal file of its own for a new visit (the report is made from it)."""
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        return self.journal_dir / (f"patient-{patient_id}-{now.strftime('%Y%m%dT%H%M%SZ')}-"
                                   f"{secrets.token_hex(4)}.jsonl")

    def get(self, key: VisitKey) -> WebVisit | None:
        with self._lock:
            self._forget_idle()
            found = self._visits.get(key)
            if found is not None:
                found.touched = self._monotonic()
            return found

    def put(self, key: VisitKey, visit: WebVisit) -> None:
        with self._lock:
            self._forget_idle()
            visit.touched = self._monotonic()
            self._visits[key] = visit

    def end(self, key: VisitKey) -> None:
        with self._lock:
            self._visits.pop(key, None)

    def _forget_idle(self) -> None:
        limit = self._monotonic() - self.idle_s
        for key in [k for k, v in self._visits.items() if v.touched < limit]:
            del self._visits[key]


def open_visit_for(options: ConnectionOptions, journal: Path,
                   record_one: Callable[[JournalEntry], None] | None,
                   clock: Callable[[], datetime], factory: Callable[..., Any]) -> RecordedVisit:
    """The programmer visit over the wand link `factory(options)` opens."""
    return recorded_visit(factory(options), journal, options.serial, clock, record_one)
