"""Uncertain delivery: what the programmer says after the link is lost during a therapy change.

Every therapy change (program, bolus, refill, stop, resume) goes out with a command id that
the pump logs in the same act. When the link is lost, or the answer does not come in time,
the programmer never sends the command again blindly: it opens a new session, reads the
pump's event log from where it stood before sending, and reports one of

- **carried out at …**: the log holds the command id (the pump did it; do not repeat it);
- **not carried out**: the log reaches back far enough and does not hold it;
- **unknown: interrogate before acting**: only when the log cannot say (the pump cannot be
  reached again, the link is lost again, or the log no longer reaches back that far).

"Not carried out" is safe to say because a pump holds one session at a time: once the new
session opens, the old one is over, and the pump refuses a request that arrives late (its
session time lags the pump's session clock by more than a few seconds).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from itb.errors import ItbError
from itb.programmer import render
from itb.programmer.errors import LinkInterrupted
from itb.telemetry.errors import LinkRefused, LinkTimeout, SessionClosed
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.protocol.commands import InterrogationReport

# The pump's event log entry for a command id (itb.pump.pump.COMMAND_LOG_KIND).
COMMAND_LOG_KIND = "command_carried_out"
LINK_LOST = (SessionClosed, LinkTimeout, OSError)
# The old session may still hold the pump's one session slot for a moment after the link is
# lost (the pump has not yet seen its end): a few short retries, about 3 s in all.
BUSY_RETRIES = 7
BUSY_WAIT_S = 0.5


class Delivery(StrEnum):
    CARRIED_OUT = "carried out"
    NOT_CARRIED_OUT = "not carried out"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeliveryFound:
    """What a new session found out about one command id."""

    delivery: Delivery
    at: datetime | None = None
    why_unknown: str = ""
    report: InterrogationReport | None = None  # the new session's interrogation, if it came


def reconnect_when_busy(reconnect: Callable[[], ProgrammerClient],
                        wait: Callable[[float], None] = time.sleep) -> ProgrammerClient:
    """A new session. "Busy" right after a lost link is usually the old session, which the
    pump has not yet seen end: wait a little and try again, a bounded number of times."""
    for attempt in range(BUSY_RETRIES):
        try:
            return reconnect()
        except LinkRefused as exc:
            if not exc.reason.startswith("busy") or attempt == BUSY_RETRIES - 1:
                raise
            wait(BUSY_WAIT_S)
    raise AssertionError("unreachable")


def look_up(reconnect: Callable[[], ProgrammerClient], command_id: str,
            since_index: int, wait: Callable[[float], None] = time.sleep) -> DeliveryFound:
    """On a new session: does the pump's log from `since_index` on hold `command_id`?"""
    try:
        client = reconnect_when_busy(reconnect, wait)
    except (*LINK_LOST, ItbError) as exc:
        return DeliveryFound(Delivery.UNKNOWN, why_unknown=f"the pump could not be reached "
                                                          f"again ({exc})")
    try:
        report = client.interrogate()
        if report.log_first_index > since_index:
            return DeliveryFound(Delivery.UNKNOWN, report=report,
                                 why_unknown="the pump's log no longer reaches back to it")
        for entry in client.read_log_all(since_index):
            details = {d.key: d.value for d in entry.details}
            if entry.kind == COMMAND_LOG_KIND and details.get("command_id") == command_id:
                return DeliveryFound(Delivery.CARRIED_OUT, at=entry.time, report=report)
        return DeliveryFound(Delivery.NOT_CARRIED_OUT, report=report)
    except (*LINK_LOST, ItbError) as exc:
        return DeliveryFound(Delivery.UNKNOWN, why_unknown=f"the link was lost again while "
                                                          f"reading the pump's log ({exc})")
    finally:
        with contextlib.suppress(Exception):
            client.close()


class DeliveryChecked(LinkInterrupted):
    """The link was lost during a therapy change; the message says what the pump's log shows."""

    def __init__(self, act: str, command_id: str, found: DeliveryFound, lost: BaseException,
                 extra: str = "") -> None:
        self.act = act
        self.command_id = command_id
        self.found = found
        head = f"The link was lost during the {act} (command {command_id}: {lost})"
        if found.delivery is Delivery.CARRIED_OUT:
            assert found.at is not None
            message = (f"{head}, but the pump's log shows it carried out at "
                       f"{render.when(found.at)}.{extra}")
            next_step = f"Do not send the {act} again; interrogate the pump to see its state."
        elif found.delivery is Delivery.NOT_CARRIED_OUT:
            message = (f"{head}; the pump's log, read on a new session, shows it not carried "
                       f"out.{extra}")
            next_step = f"Hold the wand steady over the pump and run the {act} again."
        else:
            message = f"unknown: interrogate before acting. {head}, and {found.why_unknown}."
            next_step = (f"Interrogate the pump before acting; do not send the {act} again "
                         "until its log or state shows whether it was carried out.")
        super().__init__(message, next_step)

    @property
    def journal_outcome(self) -> str:
        """The session journal's outcome for this command."""
        return {Delivery.CARRIED_OUT: "done (answer lost; confirmed from the pump's log)",
                Delivery.NOT_CARRIED_OUT: "not done",
                Delivery.UNKNOWN: "unknown"}[self.found.delivery]


def journal_outcome(exc: BaseException, default: str = "not done") -> str:
    return exc.journal_outcome if isinstance(exc, DeliveryChecked) else default
