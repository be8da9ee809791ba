"""An in-process pump behind the real wand link (in-memory transport), and a CLI runner.

The programmer under test is the real Typer app; only the session opener is swapped
(through `ctx.obj`) for one that reaches this in-process pump over
`itb.telemetry`'s in-memory transport, with the full handshake and encryption.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from itb.programmer.cli import app as programmer_app
from itb.programmer.wand import ConnectionOptions, WandFactory
from itb.pump import ContinuousTherapy, HardLimits, Program, Pump
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.transport import InMemoryTransport
from itb.telemetry.protocol.commands import Bolus, Refill, Resume, Stop
from itb.telemetry.protocol.commands import Program as ProgramCommand
from itb.telemetry.protocol.guard import LinkGuard
from itb.telemetry.protocol.keys import LinkKey
from itb.telemetry.protocol.messages import Command
from itb.telemetry.pumpside.adapter import PumpAdapter
from itb.telemetry.pumpside.host import PumpHost

SERIAL = "T-100"
IMPLANTED = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


# Where a therapy change's link is cut (issue 14): before the request leaves; after the
# request left (it reaches the pump cut short, so the pump never sees a whole frame); after
# the pump acted (the link dies before it can answer); before the reply (the answer is lost
# on its way); and a silent link (the answer never comes, nothing hangs up: a timeout).
CUT_POINTS = ("before", "request", "acted", "reply", "silent")


class CuttableTransport(InMemoryTransport):
    """An in-memory link that can be cut in the middle of the next command (CUT_POINTS)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cut_mode: str | None = None
        self.dead = False
        self.deaf = False

    def send(self, data: bytes) -> None:
        if self.dead:
            raise BrokenPipeError(32, "Broken pipe")
        mode, self.cut_mode = self.cut_mode, None
        if mode == "before":
            self._die()
            raise BrokenPipeError(32, "Broken pipe")
        if mode == "request":
            super().send(data[: len(data) // 2])
            self._die()
            return
        if mode == "acted":
            self.host.receive(self.conn, data, self.clock())  # acted on; the answer is lost
            self._die()
            return
        super().send(data)
        if mode == "reply":
            self._inbox.clear()
            self._die()
        elif mode == "silent":
            self._inbox.clear()
            self.deaf = True  # answers from now on never arrive; the link stays up

    def _die(self) -> None:
        self.cut_mode = None
        self.dead = True
        self._inbox.clear()
        super().close()

    def receive(self, timeout_s: float) -> bytes | None:
        if self.dead:
            return None
        if self.deaf:
            self.host.tick(self.clock())
            return b""
        return super().receive(timeout_s)


CHANGES = (ProgramCommand, Refill, Bolus, Stop, Resume)


class CuttingClient(ProgrammerClient):
    """Arms its transport's cut when a therapy change (not a dry-run program) goes out."""

    cut_change: str | None = None
    sent_changes: list[Command]

    def call(self, command: Command, expect: Any) -> Any:
        is_change = isinstance(command, CHANGES) and not (
            isinstance(command, ProgramCommand) and command.confirm_only)
        if is_change:
            self.sent_changes.append(command)
        if is_change and self.cut_change:
            assert isinstance(self.transport, CuttableTransport)
            self.transport.cut_mode = self.cut_change
        return super().call(command, expect)


@dataclass
class InProcessPump:
    """A pump on the far side of a real (in-memory) wand link."""

    adapter: PumpAdapter
    key: LinkKey
    host: PumpHost
    cut_change: list[str | None] = field(default_factory=list)  # per session opened
    sent_changes: list[Command] = field(default_factory=list)  # every therapy change sent
    refuse_sessions_after: int | None = None
    sessions: int = 0
    # Called with the session number before each session opens (to change the pump between
    # the programmer's sessions, as another programmer could).
    on_session: Callable[[int], None] | None = None

    @property
    def pump(self) -> Pump:
        return self.adapter.pump

    def open_session(self) -> ProgrammerClient:
        self.sessions += 1
        if self.on_session is not None:
            self.on_session(self.sessions)
        if self.refuse_sessions_after is not None and self.sessions > self.refuse_sessions_after:
            raise ConnectionRefusedError(111, "Connection refused")
        transport = CuttableTransport(self.host, time.monotonic)
        client = CuttingClient(transport, self.key)
        client.sent_changes = self.sent_changes
        if self.cut_change:
            client.cut_change = self.cut_change.pop(0)
        client.open()
        return client

    def maker(self, _options: ConnectionOptions) -> WandFactory:
        return self.open_session


def continuous(dose: int | str = 300, max_daily: int | str = 600,
               max_bolus: int | str = 100) -> Program:
    return Program(ContinuousTherapy(Fraction(dose)),
                   HardLimits(Fraction(max_daily), Fraction(max_bolus)))


def make_pump(*, days: float = 25, dose: int | str = 300, conc: int = 500,
              max_daily: int | str = 600, seed: int = 7, max_bolus: int | str = 100
              ) -> InProcessPump:
    pump = Pump.implant("synchromed-ii-20", serial=SERIAL, at=IMPLANTED, fill_nl=20_000_000,
                        concentration_mcg_per_ml=Fraction(conc),
                        program=continuous(dose, max_daily, max_bolus), seed=seed)
    pump.prime()
    if days:
        pump.advance(IMPLANTED + timedelta(days=days))
    key = LinkKey(SERIAL, "clinic", secrets.token_bytes(32))
    adapter = PumpAdapter(pump)
    host = PumpHost(adapter, key.secret, LinkGuard())
    return InProcessPump(adapter, key, host)


@pytest.fixture
def wand() -> InProcessPump:
    return make_pump()


@dataclass
class Cli:
    wand: InProcessPump
    tmp: Path

    @property
    def session_file(self) -> Path:
        return self.tmp / "session.jsonl"

    def __call__(self, *args: str, input: str | None = None) -> Result:
        key_file = self.tmp / "clinic.key"
        if not key_file.exists():
            key_file.write_text(self.wand.key.to_text())
        runner = CliRunner()
        return runner.invoke(programmer_app, [*args, "--key-file", str(key_file),
                                              "--session", str(self.session_file)],
                             obj=self.wand.maker, input=input, catch_exceptions=False)


@pytest.fixture
def cli(wand: InProcessPump, tmp_path: Path) -> Cli:
    return Cli(wand, tmp_path)


CliFactory = Callable[[InProcessPump], Cli]
