"""Every error the wand link raises, protocol and IO alike, under `TelemetryError`.

Each is an `ItbError`, so the command line turns it into one clear sentence. The
protocol core never lets these escape for bytes that arrive off the link: hostile or
damaged input is dropped and reported as a `SecurityEvent`, because a frame from
the air must never be able to crash the pump. `WireFormatError` is raised by the codec
and caught by the link, which turns it into that event; the rest are for the local
caller (the programmer's user, the host wiring the link) doing something wrong.
Errors of the state folder (`StateUnreadable`, `FolderServed`) live with the IO that
raises them, and subclass `TelemetryError` too.
"""

from __future__ import annotations

from typing import Any

from itb.errors import InvalidInput, ItbError


class TelemetryError(ItbError):
    """Base of every refusal raised by the wand link."""


# ---- the protocol ---------------------------------------------------------------------------

class WireFormatError(TelemetryError):
    """Bytes that authenticated fine but do not form a valid message of the schema."""


class ChannelExhausted(TelemetryError):
    """The send counter would wrap; the session must end (never reuse a nonce)."""


class LinkStateError(TelemetryError):
    """An act was asked of a link not in a state to do it (e.g. send before the handshake)."""

    def __init__(self, act: str, state: str, allowed: str) -> None:
        self.act = act
        self.state = state
        self.allowed = allowed
        super().__init__(f"cannot {act} while the link is {state}: allowed only when {allowed}")


class AuthenticationFailed(TelemetryError):
    """The other end could not prove it holds the key for this pump and role."""

    def __init__(self, serial: str, detail: str) -> None:
        self.serial = serial
        self.detail = detail
        super().__init__(f"authentication with pump {serial} failed: {detail}")


class LinkRefused(TelemetryError):
    """The pump refused to open a session (locked out, busy, wrong serial, unsupported suite)."""

    def __init__(self, serial: str, reason: str, retry_after_s: int = 0) -> None:
        self.serial = serial
        self.reason = reason
        self.retry_after_s = retry_after_s
        after = f"; retry after {retry_after_s} s" if retry_after_s else ""
        super().__init__(f"pump {serial} refused the session: {reason}{after}")


class SessionClosed(TelemetryError):
    """The session ended (timeout, closed by the pump, transport lost) before the answer came."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the telemetry session is closed: {reason}")


class LinkTimeout(TelemetryError):
    """No answer came from the pump in time."""

    def __init__(self, waiting_for: str, timeout_s: float) -> None:
        self.waiting_for = waiting_for
        self.timeout_s = timeout_s
        super().__init__(f"no {waiting_for} from the pump within {timeout_s:g} s")


# ---- the pump's answers ---------------------------------------------------------------------

class CommandRejected(TelemetryError):
    """The pump answered a command with a typed error response.

    Carries the pump's `code`, and for invalid arguments the `field`, `value` and
    `allowed` range, so the programmer can show the same sentence the pump meant.
    """

    def __init__(self, code: str, message: str, field: str = "", value: str = "",
                 allowed: str = "") -> None:
        self.code = code
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(message)

    def as_invalid_input(self) -> InvalidInput:
        return InvalidInput(self.field, self.value, self.allowed)


class CommandAlreadyCarriedOut(TelemetryError):
    """A retried therapy change: the pump's log shows its command id carried out already,
    so the pump acknowledged it from the log and did not carry it out again."""

    def __init__(self, command_id: str, act: str, at: Any, log_index: int) -> None:
        self.command_id = command_id
        self.act = act
        self.at = at
        self.log_index = log_index
        super().__init__(f"the pump had already carried out {act} command {command_id} at {at} "
                         f"(log entry {log_index}); it was not carried out again")


# ---- local files ----------------------------------------------------------------------------

class KeyFileError(TelemetryError, InvalidInput):
    """A key file is missing, unreadable or not in itb's key format."""

    def __init__(self, path: str, allowed: str, reason: str | None = None) -> None:
        InvalidInput.__init__(self, "key file", path, allowed, reason)


def describe(value: Any) -> str:
    """Short text for a value in an error or event (bounded, never the whole payload)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
