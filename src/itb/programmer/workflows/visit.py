"""A visit: one clinician, one pump, the wand sessions to it and the session journal.

Every workflow takes a `Visit`. It opens a fresh, authenticated wand session for each step
that reads or changes the pump (the session is closed while the clinician reads a preview or
answers a question, so no idle timeout races the answer) and writes what happened to the
journal the session report is made from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itb.programmer.delivery import reconnect_when_busy
from itb.programmer.errors import NotConfirmed
from itb.programmer.journal import Journal, JournalEntry
from itb.programmer.view import PumpView
from itb.programmer.wand import WandFactory, check_unchanged, close_quietly, read_view
from itb.telemetry.io.client import ProgrammerClient
from itb.therapy import guardrails
from itb.therapy.errors import GuardrailBlocked
from itb.therapy.guardrails import Finding


def host_now() -> datetime:
    return datetime.now(UTC)


def not_confirmed() -> NotConfirmed:
    """The clinician said no (or gave no answer) at a confirmation: nothing is sent."""
    return NotConfirmed("Not confirmed: nothing was sent to the pump.",
                        "Run the command again when ready.")


@dataclass(frozen=True)
class Visit:
    """How to reach the pump (`open_session`), which pump (`serial`, None: the key's), where
    the journal is, and who else hears of each entry once it is journaled (`recorder`: the
    clinic feed a front end injects, itb.programmer.clinic_feed; it must not raise)."""

    open_session: WandFactory
    journal: Path
    serial: str | None = None
    clock: Callable[[], datetime] = field(default=host_now)
    recorder: Callable[[JournalEntry], None] | None = None

    @contextmanager
    def session(self) -> Iterator[ProgrammerClient]:
        # "Busy" right after this visit closed its previous session is that session, which
        # the pump has not yet seen end; no session opened, so a bounded retry sends nothing.
        client = reconnect_when_busy(self.open_session)
        try:
            yield client
        finally:
            close_quietly(client)

    @contextmanager
    def send_session(self, view: PumpView, act: str) -> Iterator[ProgrammerClient]:
        """A new session for a change the clinician confirmed, after checking that the pump is
        still as it was read."""
        with self.session() as client:
            check_unchanged(client, view, act)
            yield client

    def read(self, client: ProgrammerClient) -> PumpView:
        """Interrogate and read the whole log; the answering pump must be the one named."""
        return read_view(client, self.serial)

    def read_closed(self) -> PumpView:
        """Read the pump on a session of its own, closed again at once."""
        with self.session() as client:
            return self.read(client)

    def record(self, kind: str, view: PumpView | None, serial: str, outcome: str,
               summary: str, details: dict[str, Any] | None = None) -> None:
        entry = Journal(self.journal).append(at=self.clock(), kind=kind, serial=serial,
                                             pump_time=None if view is None else view.now,
                                             outcome=outcome, summary=summary, details=details)
        if self.recorder is not None:  # after the line is on disk: the journal comes first
            self.recorder(entry)


def refuse_blocked(visit: Visit, kind: str, view: PumpView, act: str,
                   findings: tuple[Finding, ...], override_reason: str | None,
                   details: dict[str, Any]) -> None:
    """Refuse (and journal) a guardrail block that has no override reason (issue 14); `act`
    names what was refused in the journal's summary ("bolus 20 mcg")."""
    try:
        guardrails.blocked(findings, override_reason)
    except GuardrailBlocked:
        visit.record(kind, view, view.serial, "refused",
                     f"{act} refused: blocked by a guardrail", details)
        raise
