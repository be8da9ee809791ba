"""The programmer's end of the wand, as a blocking client with one method per clinical act.

    with ProgrammerClient.connect_tcp("127.0.0.1", 7400, key=LinkKey.from_text(...)) as wand:
        report = wand.interrogate()
        echo = wand.program(spec, confirm_only=True)   # what the pump would do
        wand.program(spec)                               # do it

Every method returns the pump's typed answer, or raises `CommandRejected` carrying the
pump's typed error (code, field, value, allowed). The client runs over any
`Transport`; the security lives in the sans-IO `ProgrammerLink` it drives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from itb.errors import InvalidInput
from itb.telemetry.errors import (
    AuthenticationFailed,
    CommandAlreadyCarriedOut,
    CommandRejected,
    KeyFileError,
    LinkRefused,
    LinkTimeout,
    SessionClosed,
)
from itb.telemetry.io import clocks
from itb.telemetry.io.clocks import Clock
from itb.telemetry.io.transport import TcpTransport, Transport
from itb.telemetry.protocol import commands
from itb.telemetry.protocol.channel import CipherSuite
from itb.telemetry.protocol.codec import Message
from itb.telemetry.protocol.commands import (
    MAX_LOG_PAGE,
    AlarmAcknowledged,
    AlarmVolumeSet,
    AlreadyCarriedOut,
    BolusConfirmation,
    ClockSet,
    InfusionChanged,
    InterrogationReport,
    LogEntryInfo,
    LogPage,
    PatientBolusResult,
    PatientStatus,
    ProgramConfirmation,
    ProgramSpec,
    RefillConfirmation,
)
from itb.telemetry.protocol.events import (
    ProgrammerEvent,
    Refused,
    ResponseReceived,
    SecurityEvent,
    SessionEnded,
    SessionEstablished,
)
from itb.telemetry.protocol.keys import LinkKey, Role, check_serial
from itb.telemetry.protocol.messages import Command, ErrorResponse
from itb.telemetry.protocol.programmer_link import ProgrammerLink

R = TypeVar("R", bound=Message)
# Security events a client keeps (the latest); older ones are counted as dropped.
MAX_SECURITY_EVENTS = 256


def read_key_file(path: Path, serial: str | None = None) -> LinkKey:
    """The key in `path`; refuses a missing file or one made for another pump."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyFileError(str(path), "a readable key file written by 'itb pump new'",
                           exc.strerror) from None
    except UnicodeDecodeError:  # binary junk is a bad key file, not a crash
        raise KeyFileError(str(path), "a key file written by 'itb pump new'",
                           "the file is not text") from None
    key = LinkKey.from_text(text, str(path))
    if serial is not None and key.serial != check_serial(serial):
        raise InvalidInput("serial", serial, f"{key.serial} (the pump {path} is for)")
    return key


def _named(command_id: str | None) -> dict[str, str]:
    """The command id argument: the caller's, or none given (the command makes a fresh one)."""
    return {} if command_id is None else {"command_id": command_id}


class Interrogation:
    """A full interrogation: the report and every log entry asked for."""

    def __init__(self, report: InterrogationReport, log: tuple[LogEntryInfo, ...]) -> None:
        self.report = report
        self.log = log


class ProgrammerClient:
    def __init__(self, transport: Transport, key: LinkKey, role: Role = Role.CLINICIAN, *,
                 clock: Clock = clocks.monotonic, response_timeout_s: float = 10.0,
                 suite: CipherSuite = CipherSuite.AES_256_GCM) -> None:
        self.transport = transport
        self.serial = key.serial
        self.role = role
        self._clock = clock
        self._timeout_s = response_timeout_s
        self.link = ProgrammerLink(key.serial, key.key_for(role), role, suite,
                                   handshake_timeout_s=response_timeout_s)
        # The latest security events only (issue 17.7: a jammer made this grow without limit).
        self.security_events: deque[SecurityEvent] = deque(maxlen=MAX_SECURITY_EVENTS)
        self.security_events_dropped = 0
        self.session: SessionEstablished | None = None
        self._responses: dict[int, Message] = {}

    @classmethod
    def connect_tcp(cls, host: str, port: int, key: LinkKey, role: Role = Role.CLINICIAN,
                    **options: object) -> ProgrammerClient:
        return cls(TcpTransport(host, port), key, role, **options)  # type: ignore[arg-type]

    @classmethod
    def connect(cls, *, host: str, port: int, serial: str, key_file: Path,
                role: Role | None = None, **options: object) -> ProgrammerClient:
        """What a programmer's `--host --port --serial --key-file` options need.

        The key file must be for `serial`; the role defaults to the highest the key allows
        (clinician for the clinic's key, patient for a handheld's). The session is not yet
        open: use `with` or `open()`.
        """
        key = read_key_file(key_file, serial)
        chosen = role if role is not None else key.roles[0]
        if chosen not in key.roles:
            raise InvalidInput("role", chosen.name.lower(),
                               " or ".join(r.name.lower() for r in key.roles)
                               + f" (what {key_file} allows)")
        if not 1 <= port <= 65535:
            raise InvalidInput("port", port, "1 to 65535")
        try:
            transport = TcpTransport(host, port)
        except OSError as exc:
            raise LinkRefused(serial, f"cannot reach {host}:{port} ({exc.strerror or exc})") \
                from None
        return cls(transport, key, chosen, **options)  # type: ignore[arg-type]

    # -- session ---------------------------------------------------------------------------
    def open(self) -> SessionEstablished:
        """Run the handshake. Raises LinkRefused, AuthenticationFailed or LinkTimeout."""
        self.link.start(self._clock())
        self._flush()
        deadline = self._clock() + self._timeout_s
        while self.session is None:
            self._pump_once("the handshake answer", lambda: self.session is not None, deadline)
        return self.session

    def close(self) -> None:
        try:
            if self.link.is_open:
                self.link.close(self._clock())
                self._flush()
        finally:
            self.transport.close()

    def __enter__(self) -> ProgrammerClient:
        if self.session is None:
            self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- the generic call ------------------------------------------------------------------
    def call(self, command: Command, expect: type[R]) -> R:
        """Send one command and wait for its answer; typed errors raise CommandRejected."""
        request_id = self.link.send_request(command, self._clock())
        self._flush()
        deadline = self._clock() + self._timeout_s
        while request_id not in self._responses:
            self._pump_once(f"answer to {type(command).__name__}",
                            lambda: request_id in self._responses, deadline)
        response = self._responses.pop(request_id)
        if isinstance(response, AlreadyCarriedOut) and expect is not AlreadyCarriedOut:
            raise CommandAlreadyCarriedOut(response.command_id, response.act, response.at,
                                           response.log_index)
        if isinstance(response, ErrorResponse):
            raise CommandRejected(response.code.value, response.message, response.field,
                                  response.value, response.allowed)
        if not isinstance(response, expect):
            raise CommandRejected("malformed", f"the pump answered {type(command).__name__} "
                                               f"with {type(response).__name__}")
        return response

    # -- clinical acts ---------------------------------------------------------------------
    def interrogate(self) -> InterrogationReport:
        return self.call(commands.Interrogate(), InterrogationReport)

    def full_interrogation(self, log_since_index: int = 0) -> Interrogation:
        """The report plus every log entry from `log_since_index` to the newest."""
        report = self.interrogate()
        return Interrogation(report, self.read_log_all(log_since_index))

    def read_status(self) -> PatientStatus:
        return self.call(commands.ReadStatus(), PatientStatus)

    def read_log(self, since_index: int, limit: int = MAX_LOG_PAGE) -> LogPage:
        return self.call(commands.ReadLog(since_index, limit), LogPage)

    def read_log_all(self, since_index: int = 0) -> tuple[LogEntryInfo, ...]:
        entries: list[LogEntryInfo] = []
        index = since_index
        while True:
            page = self.read_log(index)
            entries.extend(page.entries)
            if page.complete or not page.entries:
                return tuple(entries)
            index = page.next_index

    def program(self, program: ProgramSpec, *, confirm_only: bool = False,
                cancel_bridge_reason: str | None = None,
                command_id: str | None = None) -> ProgramConfirmation:
        """`command_id` names this change in the pump's log (a fresh one if not given)."""
        return self.call(commands.Program(program, confirm_only, cancel_bridge_reason,
                                          **_named(command_id)),
                         ProgramConfirmation)

    def refill(self, *, withdrawn_nl: int | None, added_nl: int,
               concentration_mcg_per_ml: Fraction, bridge_bolus: bool = False,
               command_id: str | None = None) -> RefillConfirmation:
        """`withdrawn_nl` is the residual measured in the syringe (None: reservoir emptied)."""
        return self.call(commands.Refill(withdrawn_nl, added_nl, concentration_mcg_per_ml,
                                         bridge_bolus, **_named(command_id)),
                         RefillConfirmation)

    def read_security_log(self, since_index: int = 0, limit: int = MAX_LOG_PAGE) -> LogPage:
        return self.call(commands.ReadSecurityLog(since_index, limit), LogPage)

    def bolus(self, dose_mcg: Fraction, duration_s: int,
              command_id: str | None = None) -> BolusConfirmation:
        return self.call(commands.Bolus(dose_mcg, duration_s, **_named(command_id)),
                         BolusConfirmation)

    def request_patient_bolus(self) -> PatientBolusResult:
        return self.call(commands.RequestPatientBolus(), PatientBolusResult)

    def stop(self, command_id: str | None = None) -> InfusionChanged:
        return self.call(commands.Stop(**_named(command_id)), InfusionChanged)

    def resume(self, command_id: str | None = None) -> InfusionChanged:
        return self.call(commands.Resume(**_named(command_id)), InfusionChanged)

    def acknowledge_alarm(self, code: str | None = None) -> AlarmAcknowledged:
        """Silence the sounding alarm `code` (e.g. "low_reservoir"), or all of them."""
        return self.call(commands.AcknowledgeAlarm(code), AlarmAcknowledged)

    def set_clock(self, pump_time: datetime) -> ClockSet:
        return self.call(commands.SetClock(pump_time), ClockSet)

    def set_alarm_volume(self, low_reservoir_alarm_nl: int) -> AlarmVolumeSet:
        return self.call(commands.SetAlarmVolume(low_reservoir_alarm_nl), AlarmVolumeSet)

    # -- internals -------------------------------------------------------------------------
    def _flush(self) -> None:
        data = self.link.data_to_send()
        if data:
            self.transport.send(data)

    def _pump_once(self, waiting_for: str, done: Callable[[], bool], deadline: float) -> None:
        """Receive once and handle the events; raises when the awaited answer cannot come.

        `deadline` is absolute (issue 17.7): bytes that arrive and are not the answer (a
        jammer's junk) do not restart the wait.
        """
        remaining = deadline - self._clock()
        if remaining <= 0:
            failure = self._handle(self.link.tick(self._clock()))
            if not done():
                raise failure or LinkTimeout(waiting_for, self._timeout_s)
            return
        data = self.transport.receive(remaining)
        now = self._clock()
        if data is None:
            failure = self._handle(self.link.tick(now))
            if not done():
                raise failure or SessionClosed(self.link.end_reason or "the pump hung up")
            return
        if data == b"":
            failure = self._handle(self.link.tick(now))
            if not done():
                raise failure or LinkTimeout(waiting_for, self._timeout_s)
            return
        failure = self._handle(self.link.receive_data(data, now))
        self._flush()
        if failure is not None and not done():
            raise failure

    def _handle(self, events: list[ProgrammerEvent]) -> Exception | None:
        """Take in every event; return the first that ends the wait (raised by the caller)."""
        failure: Exception | None = None
        for event in events:
            if isinstance(event, SecurityEvent):
                if len(self.security_events) == self.security_events.maxlen:
                    self.security_events_dropped += 1
                self.security_events.append(event)
            elif isinstance(event, SessionEstablished):
                self.session = event
            elif isinstance(event, ResponseReceived):
                self._responses[event.request_id] = event.response
            elif isinstance(event, Refused) and failure is None:
                if event.reason == "authentication failed":
                    failure = AuthenticationFailed(
                        self.serial,
                        f"the pump did not accept our key for the {self.role.name.lower()} role")
                else:
                    failure = LinkRefused(self.serial, event.reason, event.retry_after_s)
            elif isinstance(event, SessionEnded) and failure is None:
                failure = SessionClosed(event.reason)
        return failure
