"""Reaching the pump: the wand session, reading it, and sending changes that are verified.

The programmer talks to a pump only through `itb.telemetry`'s `ProgrammerClient`,
over TCP to `itb pump serve` or over the in-memory transport to an in-process pump
(tests). A `WandFactory` opens a fresh, authenticated session; the programmer opens
a second one only to find out what happened after a link was lost.

Safety rule for every therapy change: it is sent once, with a command id the pump logs.
If the link is lost before the answer, the programmer never sends it again blindly: it
reconnects and reads the pump's log for that id (see `delivery`), and reports "carried
out at …", "not carried out", or "unknown: interrogate before acting". A new program is
verified by its echo and a fresh interrogation; an echo that differs from what was sent
(the pump answered, but not as asked) has the previous program restored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

from itb.errors import InvalidInput, ItbError
from itb.programmer import schedule as sched
from itb.programmer.delivery import LINK_LOST, Delivery, DeliveryChecked, look_up
from itb.programmer.errors import EchoMismatch, PumpChanged
from itb.programmer.programming import verify_echo
from itb.programmer.view import PumpView, build_view, require_serial
from itb.telemetry.errors import KeyFileError
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.protocol.codec import Message
from itb.telemetry.protocol.commands import (
    InterrogationReport,
    ProgramConfirmation,
    ProgramSpec,
    new_command_id,
)
from itb.telemetry.protocol.keys import LinkKey
from itb.telemetry.protocol.messages import Command

WandFactory = Callable[[], ProgrammerClient]
R = TypeVar("R", bound=Message)


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
                 spec: ProgramSpec, concentration: Fraction, since_index: int = 0,
                 cancel_bridge_reason: str | None = None
                 ) -> tuple[ProgramConfirmation, InterrogationReport]:
    """Send `spec` and verify it (see module doc). `since_index` is where the pump's log
    stood before sending: after a lost link the log from there says what happened."""
    command_id = new_command_id()
    try:
        echo = client.program(spec, cancel_bridge_reason=cancel_bridge_reason,
                              command_id=command_id)
        after = client.interrogate()
    except LINK_LOST as lost:
        close_quietly(client)
        raise recover_program(reconnect, spec, command_id, since_index, lost) from None
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


def recover_program(reconnect: WandFactory, spec: ProgramSpec, command_id: str,
                    since_index: int, lost: BaseException) -> DeliveryChecked:
    """After a link loss during a program command: the pump's log says whether it was carried
    out; the program in force (read on the same new session) is stated with it."""
    found = look_up(reconnect, command_id, since_index)
    extra = ""
    if found.report is not None:
        program = found.report.program
        if program == spec:
            extra = " The new program is in force (checked on a new session)."
        elif found.delivery is Delivery.NOT_CARRIED_OUT:
            extra = " The pump keeps its previous program."
        else:
            current = "none" if program is None else sched.describe_program(program)
            extra = f" The pump now runs: {current}; review it."
    return DeliveryChecked("program command", command_id, found, lost, extra)


@contextmanager
def changing(reconnect: WandFactory, view: PumpView, act: str, command: Command,
             expect: type[R]) -> Iterator[tuple[ProgrammerClient, R]]:
    """A new session for one confirmed therapy change: check the pump is as it was read, send
    `command` once, and yield (session, the pump's answer). If the link is lost before the
    answer, the command is never sent again: the pump's log on a new session says what
    happened (DeliveryChecked)."""
    client = reconnect()
    try:
        check_unchanged(client, view, act)
        command_id = str(command.command_id)  # type: ignore[attr-defined]
        try:
            answer = client.call(command, expect)
        except LINK_LOST as lost:
            close_quietly(client)
            found = look_up(reconnect, command_id, view.report.log_next_index)
            raise DeliveryChecked(act, command_id, found, lost) from None
        yield client, answer
    finally:
        close_quietly(client)
