"""The loopback TCP server that hosts simulated pumps: a thin asyncio shell over the cores.

One event loop, one thread: every pump's sans-IO link, adapter and pump are touched
only from the loop, so no locks are needed. For each connection the server reads the
first frame, which must be a HELLO, routes it by serial to that pump's `PumpHost`,
and from then on only moves bytes. Before any bytes reach a pump its clock is run up
to now; after any change its state is saved atomically *before* the answer is sent,
so a confirmed command is never lost, even to SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from itb.errors import InvalidInput, ItbError
from itb.telemetry.io import clocks
from itb.telemetry.io.admission import Admission
from itb.telemetry.io.clocks import Clock
from itb.telemetry.io.store import StateStore, StateUnreadable
from itb.telemetry.protocol import codec
from itb.telemetry.protocol.framing import (
    MAX_CLEAR_BODY_BYTES,
    Frame,
    FrameType,
    encode_frame,
    leading_frame,
)
from itb.telemetry.protocol.guard import LinkPolicy
from itb.telemetry.protocol.link import parse_hello
from itb.telemetry.pumpside.runtime import SimulatedPump

# Bytes and seconds a connection may use before its HELLO: bounds what an idle or
# garbage-spewing client can hold.
PRE_HELLO_BYTES = 4096
PRE_HELLO_TIMEOUT_S = 10.0
READ_CHUNK = 65536


@dataclass
class _Connection:
    writer: asyncio.StreamWriter
    conn: int = 0
    pump: SimulatedPump | None = None
    closing: bool = False


@dataclass
class ServerStats:
    connections: int = 0
    saves: int = 0
    save_failures: int = 0
    errors: list[str] = field(default_factory=list)


# Sent before hanging up on a socket beyond the server's cap, so a programmer can say why.
_REFUSED_FULL = encode_frame(FrameType.REFUSED, codec.dumps(["busy: too many connections", 1]))


def _source(peer: object) -> str:
    """The peer's address without its port: the "source" handshakes are counted per."""
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return "unknown"


def unknown_serial_refusal(serial: str) -> bytes:
    """The REFUSED frame for a HELLO naming a pump this server does not hold."""
    shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in serial[:64])
    return encode_frame(FrameType.REFUSED, codec.dumps([f"no pump {shown} on this server", 0]))


def _revive(store: StateStore, serial: str, *, now_s: float, speed: float,
            policy: LinkPolicy | None) -> SimulatedPump:
    """The pump in `serial`'s state file; a document that passed its checksum but does not
    fit (hand-edited, or from another itb version) is StateUnreadable naming the file."""
    document = store.load(serial)
    try:
        return SimulatedPump.from_document(document, now_s=now_s, speed=speed, policy=policy)
    except (ItbError, KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = str(exc) if isinstance(exc, ItbError) else f"{type(exc).__name__}: {exc}"
        raise StateUnreadable(str(store.path(serial)),
                              f"the document does not fit this itb version ({detail[:200]})"
                              ) from None


class PumpServer:
    """Serves every pump of a state directory on one TCP port."""

    def __init__(self, store: StateStore, *, speed: float = 1.0,
                 policy: LinkPolicy | None = None, clock: Clock = clocks.wall,
                 tick_s: float = 0.25, save_interval_s: float = 2.0,
                 log: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.tick_s = tick_s
        self.save_interval_s = save_interval_s
        self.stats = ServerStats()
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._speed = speed
        self._policy = policy
        self.pumps: dict[str, SimulatedPump] = {}
        # Serials whose state could not be read: warned about once, retried on a rescan.
        self.skipped: dict[str, str] = {}
        self._scanned_mtime_ns: int | None = None
        self._scanned_at = 0.0
        self.rescan()
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._server: asyncio.Server | None = None
        self.admission = Admission()
        self._awaiting_hello: dict[int, asyncio.StreamWriter] = {}
        self._tokens = itertools.count(1)
        self._last_loop_error_s = float("-inf")
        self.loop_errors = 0

    def _restored(self, pump: SimulatedPump, reason: str) -> None:
        """Issue 17.8: a fallback to the previous copy is logged and raises a pump alarm."""
        self._log(f"{pump.serial}: the current state file cannot be read ({reason}); "
                  f"started from the previous copy, memory error alarm raised")
        pump.pump.restored_from_backup(f"state restored from the previous copy: {reason}")
        pump.adapter.security_log.append(pump.pump.firmware_clock_s, "state_restored",
                                         reason=reason[:200])
        self._save(pump, force=True)

    def rescan(self) -> list[str]:
        """Serve the pumps added to the folder since the last scan; returns their serials.

        A pump already served is never reloaded (the server's copy is the newer one). A
        folder or a damaged file is skipped with one warning, and the other pumps are served.
        """
        added: list[str] = []
        self._scanned_at = self.clock()
        with contextlib.suppress(OSError):
            self._scanned_mtime_ns = self.store.pumps_dir.stat().st_mtime_ns
        for serial in self.store.serials():
            if serial in self.pumps:
                continue
            try:
                pump = _revive(self.store, serial, now_s=self.clock(), speed=self._speed,
                               policy=self._policy)
            except (StateUnreadable, InvalidInput) as exc:
                if serial not in self.skipped:
                    self.skipped[serial] = str(exc)
                    self._log(f"warning: pump {serial} skipped: {exc}; the other pumps are "
                              "served")
                continue
            self.skipped.pop(serial, None)
            self.pumps[serial] = pump
            added.append(serial)
            if serial in self.store.fallbacks:
                self._restored(pump, self.store.fallbacks.pop(serial))
        return added

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, host: str, port: int) -> int:
        asyncio.get_running_loop().set_exception_handler(self._loop_error)
        self._server = await asyncio.start_server(self._serve_connection, host, port)
        return self._server.sockets[0].getsockname()[1]

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        """One line per 10 s at most: a flood once wrote 242,108 traceback lines in 20 s."""
        self.loop_errors += 1
        now = self.clock()
        if now - self._last_loop_error_s >= 10.0:
            self._last_loop_error_s = now
            self._log(f"server: {context.get('message', 'event loop error')} "
                      f"({self.loop_errors} so far)")

    async def run(self, host: str, port: int, ready: Callable[[int], None] | None = None) -> None:
        """Serve until SIGINT/SIGTERM, then save every pump and return."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        bound = await self.start(host, port)
        if ready is not None:
            ready(bound)
        ticker = asyncio.create_task(self._ticker())
        try:
            await stop.wait()
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self._connections.values()):
                connection.writer.close()
            await self._server.wait_closed()
            self._server = None
        self.save_all(force=True)

    # -- time and persistence ----------------------------------------------------------------
    def _advance(self, pump: SimulatedPump, now: float) -> None:
        try:
            pump.advance_to(now)
        except Exception as exc:  # a pump model failure must not take the other pumps down
            self._record_error(f"{pump.serial}: advancing the clock failed: {exc!r}")

    def _save(self, pump: SimulatedPump, force: bool = False) -> None:
        if not (force or pump.needs_saving):
            return
        try:
            self.store.save(pump.serial, pump.to_document())
        except OSError as exc:
            self.stats.save_failures += 1
            self._record_error(f"{pump.serial}: saving state failed: {exc}")
            return
        pump.mark_saved()
        self.stats.saves += 1

    def save_all(self, force: bool = False) -> None:
        now = self.clock()
        for pump in self.pumps.values():
            self._advance(pump, now)
            self._save(pump, force)

    async def _ticker(self) -> None:
        last_save = self.clock()
        while True:
            await asyncio.sleep(self.tick_s)
            now = self.clock()
            for pump in self.pumps.values():
                self._advance(pump, now)
                for conn, data in pump.host.tick(now).items():
                    self._send(pump, conn, data)
                if pump.needs_saving:
                    self._save(pump)
            if now - last_save >= self.save_interval_s:
                last_save = now
                for pump in self.pumps.values():
                    self._save(pump, force=True)

    # -- connections -------------------------------------------------------------------------
    async def _serve_connection(self, reader: asyncio.StreamReader,
                                writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        connection = _Connection(writer)
        token = next(self._tokens)
        try:
            if not self._admit(token, writer):
                return
            first = await self._read_hello(reader)
            self.admission.hello_received(token)
            self._awaiting_hello.pop(token, None)
            if first is None:
                return
            serial, data = first
            pump = self.pumps.get(serial) or self._find_new(serial)
            if pump is None:
                # A typed refusal, not a hang-up: the clinician learns the serial is not here.
                writer.write(unknown_serial_refusal(serial))
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
                return
            now = self.clock()
            self._advance(pump, now)
            connection.pump = pump
            peer = writer.get_extra_info("peername")
            connection.conn = pump.host.connect(now, _source(peer))
            self._connections[(serial, connection.conn)] = connection
            # Handshakes displaced by this one are refused and hung up now.
            for conn, out in pump.host.tick(now).items():
                self._send(pump, conn, out)
            while True:
                self._feed(pump, connection, data)
                if connection.closing:
                    break
                data = await reader.read(READ_CHUNK)
                if not data:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.admission.leave(token)
            self._awaiting_hello.pop(token, None)
            if connection.pump is not None:
                connection.pump.host.disconnect(connection.conn, self.clock())
                self._connections.pop((connection.pump.serial, connection.conn), None)
                self._save(connection.pump)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _admit(self, token: int, writer: asyncio.StreamWriter) -> bool:
        """Keep this socket? Older sockets still without a HELLO may be hung up for it."""
        keep, evict = self.admission.arrive(token)
        for old in evict:
            stale = self._awaiting_hello.pop(old, None)
            if stale is not None:
                stale.close()
        if not keep:
            writer.write(_REFUSED_FULL)
            return False
        self._awaiting_hello[token] = writer
        return True

    def _find_new(self, serial: str) -> SimulatedPump | None:
        """A serial not served yet: look in the folder again (`itb pump new` while serving).

        Only if the pumps folder changed since the last scan (its mtime: every save and every
        new pump renames a file into it) or a second has passed (a change within the same
        timestamp tick), so HELLOs naming random serials cost one stat each.
        """
        try:
            mtime_ns = self.store.pumps_dir.stat().st_mtime_ns
        except OSError:
            return None
        if mtime_ns != self._scanned_mtime_ns or self.clock() - self._scanned_at >= 1.0:
            self.rescan()
        return self.pumps.get(serial)

    async def _read_hello(self, reader: asyncio.StreamReader) -> tuple[str, bytes] | None:
        """Bytes up to and including the first frame, if it is a HELLO: (serial, bytes).

        Issue 17.2: the connection must open with a HELLO (no resynchronising before it),
        and never more than PRE_HELLO_BYTES are read before it.
        """
        buffered = b""
        deadline = self.clock() + PRE_HELLO_TIMEOUT_S
        while len(buffered) < PRE_HELLO_BYTES:
            remaining = deadline - self.clock()
            if remaining <= 0:
                return None
            try:
                chunk = await asyncio.wait_for(reader.read(PRE_HELLO_BYTES - len(buffered)),
                                               remaining)
            except TimeoutError:
                return None
            if not chunk:
                return None
            buffered += chunk
            found = leading_frame(buffered, FrameType.HELLO, MAX_CLEAR_BODY_BYTES)
            if found is None:
                return None
            if isinstance(found, Frame):
                hello = parse_hello(found.body)
                return None if isinstance(hello, str) else (hello[0], buffered)
        return None

    def _feed(self, pump: SimulatedPump, connection: _Connection, data: bytes) -> None:
        now = self.clock()
        self._advance(pump, now)
        try:
            out = pump.host.receive(connection.conn, data, now)
        except Exception as exc:  # the cores never raise on input; if they do, drop the link
            self._record_error(f"{pump.serial}: link failure: {exc!r}")
            connection.closing = True
            return
        # Durable before acknowledged: the answer leaves only once the state is on disk.
        self._save(pump)
        self._send(pump, connection.conn, out)

    def _send(self, pump: SimulatedPump, conn: int, data: bytes) -> None:
        connection = self._connections.get((pump.serial, conn))
        if connection is None:
            return
        if data:
            connection.writer.write(data)
        if pump.host.finished(conn):
            connection.closing = True
            connection.writer.close()

    def _record_error(self, message: str) -> None:
        self.stats.errors.append(message)
        del self.stats.errors[:-50]
        self._log(message)
