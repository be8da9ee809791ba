"""Every refusal the programmer can meet, as one sentence and the next step for the clinician.

One table, `REFUSALS`, maps an error type to the function that words it (in the manner of
httpx's `_exceptions.py` map). An error is looked up by its own type first, then by the types
it derives from in method resolution order, so the most specific entry wins and a new
subclass reads like its parent until it gets a row of its own. Front ends (the command line,
a later web clinic) print what `explain` returns; none of them words an error itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from itb.errors import InvalidInput, ItbError
from itb.programmer.errors import OverrideNeeded, PrescriptionMismatch, ProgrammerError
from itb.programmer.wand import ConnectionOptions
from itb.telemetry.errors import (
    AuthenticationFailed,
    CommandRejected,
    KeyFileError,
    LinkRefused,
    LinkTimeout,
    SessionClosed,
)
from itb.therapy.errors import (
    FlexScheduleError,
    GuardrailBlocked,
    LargeDecreaseUnconfirmed,
    Overfill,
    RefillDiscrepancy,
)

Explained = tuple[str, str]  # (what went wrong, what to do next)
NOTHING_SENT = "Nothing was sent to the pump."


# ---- the clinical rules (therapy) ----------------------------------------------------------


def _refill_discrepancy(exc: Any, _options: ConnectionOptions | None) -> Explained:
    causes = "".join(f"\n  - {cause}" for cause in exc.possible_causes)
    found = f" ({exc.reason.split(';')[0]})" if exc.reason else ""
    sentence = (f"Refill stopped: {exc.field} = {exc.value} is not allowed: allowed is "
                f"{exc.allowed}{found}.\nPossible causes:{causes}")
    return sentence, ("No drug was added and the pump is unchanged. Find the cause before "
                      "refilling: aspirate again with the needle checked in the reservoir, "
                      "look for a pocket fill, and consider a catheter or pump study.")


def _overfill(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"Overfill refused: {exc}.", f"Add no more than the reservoir holds. {NOTHING_SENT}"


def _prescription_mismatch(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"Wrong concentration: {exc}.", (
        "Use the prescribed drug, or have the prescription changed and give "
        f"--prescribed-concentration. {NOTHING_SENT}")


def _large_decrease(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"Large decrease not confirmed: {exc}.", (
        "Confirm it with --confirm-large-decrease (or answer the question interactively), "
        f"or choose a smaller step. {NOTHING_SENT}")


def _override_needed(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"Dose change refused: {exc}.", (exc.next_step or (
        "Choose a dose in the allowed range, or give --override-reason with the clinical "
        "reason for going beyond it.")) + f" {NOTHING_SENT}"


def _guardrail_blocked(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"Blocked by a guardrail: {exc}.", (
        f"Choose a value {exc.allowed.split(' without')[0]}, or give --override-reason "
        f"with the clinical reason (it is recorded). {NOTHING_SENT}")


def _flex_schedule(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"Flex schedule refused: {exc}.", f"Correct the flex file. {NOTHING_SENT}"


def _invalid_input(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"{exc}.", f"Correct the value and run the command again. {NOTHING_SENT}"


# ---- the wand link (telemetry) -------------------------------------------------------------


def _key_file(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"{exc}.", ("Give this pump's clinic key file with --key-file "
                       "(itb pump new writes it as keys/<serial>.key).")


def _authentication(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"{exc}.", "Check that --key-file is the clinic key of this pump."


def _link_refused(exc: Any, _options: ConnectionOptions | None) -> Explained:
    wait = f" in {exc.retry_after_s} s" if exc.retry_after_s else ""
    return f"{exc}.", f"Try again{wait}; if another programmer holds the session, end it first."


def _link_lost(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"The wand link was lost: {exc}.", (
        "Hold the wand over the pump and run the command again; interrogate first to see "
        "the pump's state.")


def _command_rejected(exc: Any, _options: ConnectionOptions | None) -> Explained:
    next_step = "The pump changed nothing. Correct the request and run the command again."
    if exc.code == "not_permitted":
        next_step = "Use the clinic key of this pump (a patient key cannot do this)."
    return f"The pump refused: {exc}.", next_step


def _unreachable(exc: Any, options: ConnectionOptions | None) -> Explained:
    where = "" if options is None else f" at {options.host}:{options.port}"
    reason = exc.strerror or type(exc).__name__
    return f"Cannot reach the pump{where}: {reason}.", (
        "Start the simulated pump (itb pump serve) or check --host and --port.")


# ---- the programmer's own, and the rest ----------------------------------------------------


def _programmer(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return str(exc), exc.next_step


def _any_refusal(exc: Any, _options: ConnectionOptions | None) -> Explained:
    return f"{exc}.", "Interrogate the pump to see its state before trying again."


REFUSALS: dict[type[BaseException], Callable[[Any, ConnectionOptions | None], Explained]] = {
    RefillDiscrepancy: _refill_discrepancy,
    Overfill: _overfill,
    PrescriptionMismatch: _prescription_mismatch,
    LargeDecreaseUnconfirmed: _large_decrease,
    OverrideNeeded: _override_needed,
    GuardrailBlocked: _guardrail_blocked,
    FlexScheduleError: _flex_schedule,
    InvalidInput: _invalid_input,
    KeyFileError: _key_file,
    AuthenticationFailed: _authentication,
    LinkRefused: _link_refused,
    SessionClosed: _link_lost,
    LinkTimeout: _link_lost,
    CommandRejected: _command_rejected,
    OSError: _unreachable,
    ProgrammerError: _programmer,
    ItbError: _any_refusal,
}


def explain(exc: BaseException, options: ConnectionOptions | None = None) -> Explained:
    """(what went wrong, what to do next) for every refusal the programmer can meet; an error
    the table does not know (a programmer bug) is raised again."""
    for kind in type(exc).__mro__:
        say = REFUSALS.get(kind)
        if say is not None:
            return say(exc, options)
    raise exc
