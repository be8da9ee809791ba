"""The pump's side of the wand, assembled: one pump, its link memory, its connections.

`PumpHost` is still free of I/O: a transport (in-memory pair, TCP server) hands it
bytes and the time, and sends back what it returns. It owns the per-pump
`LinkGuard` (handshake rates, session slot) shared by every connection, feeds each
connection's `PumpLink`, passes authenticated commands to the command handler and
records every session and security event through the handler's log hook.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from itb.telemetry.protocol.codec import Message
from itb.telemetry.protocol.events import (
    CommandReceived,
    PumpEvent,
)
from itb.telemetry.protocol.guard import LinkGuard
from itb.telemetry.protocol.keys import Role, role_key
from itb.telemetry.protocol.link import LinkState, RandomBytes
from itb.telemetry.protocol.messages import Command
from itb.telemetry.protocol.pump_link import PumpLink


class CommandHandler(Protocol):
    """What the host needs from the pump side of the application: answer and log."""

    serial: str

    def handle(self, command: Command, role: Role, now_s: float) -> Message:
        """Carry out one authenticated command; return its answer (never raises)."""
        ...

    def log_link_event(self, event: PumpEvent) -> None:
        """Record a session or security event in the pump's event log."""
        ...

    @property
    def changed(self) -> bool:
        """True if the pump's state changed since `mark_saved` (so the host must persist)."""
        ...

    def mark_saved(self) -> None: ...


class PumpHost:
    def __init__(self, handler: CommandHandler, pump_key: bytes, guard: LinkGuard,
                 random_bytes: RandomBytes = secrets.token_bytes) -> None:
        self.handler = handler
        self.serial = handler.serial
        self.guard = guard
        self._pump_key = pump_key
        self._random_bytes = random_bytes
        self._links: dict[int, PumpLink] = {}
        self._next_id = 1

    def _key_for_role(self, role: Role) -> bytes:
        return role_key(self._pump_key, self.serial, role)

    def connect(self, now_s: float, source: str = "air") -> int:
        """A new connection from `source` (the peer's address, or "air" for a radio).

        Caps (issue 17.1): at most `max_connections_per_pump` links; beyond that the newcomer
        is refused in words. At most `max_handshakes_in_progress` handshakes; beyond that
        the oldest handshake is displaced (refused in words), so a crowd of silent HELLOs
        cannot keep a clinician's fresh handshake out. Call `tick` (or read `pending`) to
        send the refusals.
        """
        self._drop_finished(now_s)
        conn = self._next_id
        self._next_id += 1
        link = PumpLink(self.serial, self._key_for_role, self.guard, now_s, self._random_bytes)
        policy = self.guard.policy
        if len(self._links) >= policy.max_connections_per_pump:
            self._process(link, link.displace("busy: too many connections to this pump",
                                              now_s), now_s)
        else:
            handshakes = sorted((c for c, k in self._links.items() if k.in_handshake),
                                key=lambda c: self._links[c].started_s)
            for old in handshakes[:max(0, len(handshakes) + 1
                                       - policy.max_handshakes_in_progress)]:
                stale = self._links[old]
                self._process(stale, stale.displace("busy: displaced by a newer handshake",
                                                    now_s), now_s)
        link.source = source
        self._links[conn] = link
        return conn

    def link(self, conn: int) -> PumpLink:
        return self._links[conn]

    def receive(self, conn: int, data: bytes, now_s: float) -> bytes:
        """Bytes from connection `conn`; returns the bytes to send back on it."""
        link = self._links.get(conn)
        if link is None:
            return b""
        self._process(link, link.receive_data(data, now_s), now_s)
        return link.data_to_send()

    def tick(self, now_s: float) -> dict[int, bytes]:
        """Let sessions time out; returns the bytes to send per connection (CLOSE or REFUSED
        frames), and b"" for every connection that is finished, so the transport hangs it up
        (issue 17.1: a timed-out handshake used to keep its socket open). Finished links are
        then dropped."""
        out: dict[int, bytes] = {}
        for conn, link in list(self._links.items()):
            self._process(link, link.tick(now_s), now_s)
            data = link.data_to_send()
            if data or link.state is LinkState.CLOSED:
                out[conn] = data
        self._drop_finished(now_s)
        return out

    def _drop_finished(self, now_s: float) -> None:
        """Forget closed links whose last bytes were handed out (they can receive nothing)."""
        for conn, link in list(self._links.items()):
            if link.state is LinkState.CLOSED and not link.has_data_to_send:
                del self._links[conn]
                self._process(link, link.connection_lost(now_s), now_s)

    def disconnect(self, conn: int, now_s: float) -> None:
        link = self._links.pop(conn, None)
        if link is not None:
            self._process(link, link.connection_lost(now_s), now_s)

    def finished(self, conn: int) -> bool:
        """True once the connection's session is over and it may be hung up."""
        link = self._links.get(conn)
        return link is None or link.state.value == "closed"

    @property
    def connections(self) -> int:
        return len(self._links)

    def _process(self, link: PumpLink, events: list[PumpEvent], now_s: float) -> None:
        for event in events:
            if isinstance(event, CommandReceived):
                response = self.handler.handle(event.command, event.role, now_s)
                if link.is_open:
                    link.send_response(event.request_id, response, now_s)
            else:
                self.handler.log_link_event(event)
