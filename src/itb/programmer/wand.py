"""Reaching the pump: the wand session, reading it, and sending changes that are verified.

The programmer talks to a pump only through `itb.telemetry`'s `ProgrammerClient`,
over TCP to `itb pump serve` or over the in-memory transport to an in-process pump
(tests). A `WandFactory` opens a fresh, authenticated session; the programmer opens
a second one only to find out what happened after a link was lost.

Safety rule for a new program: the pump ends in the new program, verified by its
echo and a fresh interrogation, or in its previous program. If the link is lost
during the command, the programmer reconnects, looks, and if the new program did
take effect without being confirmed, restores the previous one and verifies it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from itb.errors import InvalidInput, ItbError
from itb.programmer import schedule as sched
from itb.programmer.errors import EchoMismatch, LinkInterrupted, PumpChanged
from itb.programmer.programming import verify_echo
from itb.programmer.view import PumpView, build_view, require_serial
from itb.telemetry.client import ProgrammerClient
from itb.telemetry.commands import InterrogationReport, ProgramConfirmation, ProgramSpec
from itb.telemetry.errors import KeyFileError, LinkTimeout, SessionClosed
from itb.telemetry.keys import LinkKey

WandFactory = Callable[[], ProgrammerClient]

# What a lost link looks like from the programmer's side.
LINK_LOST = (SessionClosed, LinkTimeout, OSError)


@dataclass(frozen=True)
class ConnectionOptions:
    host: str
    port: int
    key_file: Path | None
    serial: str | None


def load_key(path: Path | None, serial: str | None) -> LinkKey:
    """The clinic's key for the pump, from its key file; the serial must agree."""
    if path is None:
        raise KeyFileError("(none)", "a key file given with --key-file",
                           "the programmer needs the pump's clinic key")
    if serial is not None and not serial.strip():
        # An empty --serial would otherwise be compared with the key's serial and reported
        # as a key for another pump, which sends the clinician after the wrong option.
        raise InvalidInput("--serial", repr(serial), "a pump serial such as S1",
                           "the serial is empty")
    if Path(path).exists() and not Path(path).is_file() and not Path(path).is_dir():
        # A FIFO or device would block the read (a directory gets the OS's own reason).
        raise KeyFileError(str(path), "a readable key file", "it is not a regular file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(str(path), "a readable key file", exc.strerror) from None
    except UnicodeDecodeError:
        # A binary or wrongly encoded file is a wrong key file, not a programmer fault.
        raise KeyFileError(str(path), "a readable key file",
                           "it is not UTF-8 text, so not an itb key file") from None
    key = LinkKey.from_text(text, str(path))
    if serial is not None and key.serial != serial:
        raise KeyFileError(str(path), f"the key of pump {serial}",
                           f"this key file is for pump {key.serial}")
    return key


def tcp_factory(options: ConnectionOptions) -> WandFactory:
    key = load_key(options.key_file, options.serial)

    def connect() -> ProgrammerClient:
        client = ProgrammerClient.connect_tcp(options.host, options.port, key)
        try:
            client.open()
        except BaseException:
            client.close()
            raise
        return client

    return connect


def read_view(client: ProgrammerClient, expected_serial: str | None = None) -> PumpView:
    """Interrogate and read the whole event log; the answering pump must be the one named."""
    report = client.interrogate()
    require_serial(report.serial, expected_serial or client.serial)
    log = client.read_log_all(report.log_first_index)
    return build_view(report, log)


def check_unchanged(client: ProgrammerClient, view: PumpView, act: str
                    ) -> InterrogationReport:
    """On a new session before `act`: the pump is still as the clinician last saw it.

    The preview and the wizard's questions run with the session closed (a clinician may
    take longer than the link's idle timeout), so before sending anything the programmer
    interrogates again: same pump, same program, same drug, and no refill since.
    """
    report = client.interrogate()
    require_serial(report.serial, view.serial)
    changed = []
    if report.program != view.program:
        changed.append("its program")
    if report.reservoir.concentration_mcg_per_ml != view.concentration_mcg_per_ml:
        changed.append("its drug concentration")
    if report.log_next_index > view.report.log_next_index:
        since = client.read_log_all(view.report.log_next_index)
        if any(entry.kind == "refill" for entry in since):
            changed.append("its reservoir (a refill was recorded)")
    if changed:
        raise PumpChanged(
            f"The pump changed since it was read ({', '.join(changed)}); nothing was sent "
            f"for the {act}.", "Run the command again, so that it starts from the pump as it is.")
    return report


def close_quietly(client: ProgrammerClient) -> None:
    with contextlib.suppress(Exception):
        client.close()


def send_program(client: ProgrammerClient, reconnect: WandFactory, previous: ProgramSpec | None,
                 spec: ProgramSpec, concentration: Fraction,
                 cancel_bridge_reason: str | None = None
                 ) -> tuple[ProgramConfirmation, InterrogationReport]:
    """Send `spec` and verify it, or leave the pump in `previous` (see module doc)."""
    try:
        echo = client.program(spec, cancel_bridge_reason=cancel_bridge_reason)
        after = client.interrogate()
    except LINK_LOST as lost:
        close_quietly(client)
        raise recover_program(reconnect, previous, spec, lost) from None
    problems = verify_echo(spec, echo, concentration)
    if after.program != spec:
        problems.append("a fresh interrogation does not show the new program")
    if problems:
        restored = restore(client, previous)
        raise EchoMismatch(
            "The pump's echo does not match the program sent: " + "; ".join(problems) + ". "
            + restored, "Interrogate the pump, review its program, and program it again.")
    return echo, after


def restore(client: ProgrammerClient, previous: ProgramSpec | None) -> str:
    """Put the previous program back; returns a sentence saying whether that worked."""
    if previous is None:
        return "The pump had no previous program to restore."
    try:
        echo = client.program(previous)
    except (*LINK_LOST, ItbError) as exc:
        return f"Restoring the previous program failed ({exc})."
    if echo.applied and echo.program == previous:
        return "The previous program was restored and verified."
    return "The previous program could not be verified after restoring it."


def recover_program(reconnect: WandFactory, previous: ProgramSpec | None, spec: ProgramSpec,
                    lost: BaseException) -> LinkInterrupted:
    """After a link loss during a program command: find out, restore if needed, and say so."""
    try:
        client = reconnect()
    except (*LINK_LOST, ItbError):
        return LinkInterrupted(
            f"The link was lost during the program command ({lost}) and the pump could not be "
            "reached again to check which program is in force.",
            "Hold the wand over the pump and interrogate it at once to see its program.")
    try:
        report = client.interrogate()
        if report.program == previous:
            return LinkInterrupted(
                f"The link was lost during the program command ({lost}); the pump did not take "
                "the new program and keeps its previous one (checked on a new session).",
                "Hold the wand steady over the pump and run the command again.")
        if report.program == spec:
            restored = restore(client, previous)
            return LinkInterrupted(
                f"The link was lost before the pump confirmed the new program ({lost}). "
                + restored, "Hold the wand steady over the pump and run the command again.")
        current = "none" if report.program is None else sched.describe_program(report.program)
        return LinkInterrupted(
            f"The link was lost during the program command ({lost}) and the pump now runs a "
            f"program that is neither the previous nor the new one: {current}.",
            "Interrogate the pump and review its program before anything else.")
    except (*LINK_LOST, ItbError) as again:
        return LinkInterrupted(
            f"The link was lost during the program command ({lost}) and again while checking "
            f"the pump ({again}).",
            "Hold the wand over the pump and interrogate it at once to see its program.")
    finally:
        close_quietly(client)
