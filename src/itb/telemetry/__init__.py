"""itb.telemetry: the secure wand link between programmer and pump.

Layers, inside out:
- `framing`: version, type, length, body, CRC-16 frames and a resynchronising decoder;
- `keys`, `channel`: per-pump keys, role keys, HKDF session keys, AES-GCM with counters;
- `codec`, `messages`, `commands`: strict compact CBOR of typed commands and answers;
- `link`: the sans-IO `PumpLink` and `ProgrammerLink` state machines (bytes and time in,
  bytes and events out), with replay/forgery drops, roles, timeouts and per-source handshake rates;
- `host`, `adapter`: the pump side assembled around an `itb.pump` pump;
- `transport`, `client`, `server`, `store`: in-memory and TCP carriers, the programmer's
  `ProgrammerClient`, the loopback server of simulated pumps and its durable state.

See docs/threat-model.md for what the link defends against and what it does not.
"""

# The programmer's side, which needs no `itb.pump` (the pump side lives in `adapter`).
from itb.telemetry.errors import (
    AuthenticationFailed,
    CommandRejected,
    KeyFileError,
    LinkRefused,
    LinkTimeout,
    SessionClosed,
    TelemetryError,
)
from itb.telemetry.io.client import Interrogation, ProgrammerClient, read_key_file
from itb.telemetry.io.transport import InMemoryTransport, TcpTransport, Transport
from itb.telemetry.protocol.channel import CipherSuite
from itb.telemetry.protocol.keys import LinkKey, Role

__all__ = [
    "AuthenticationFailed",
    "CipherSuite",
    "CommandRejected",
    "InMemoryTransport",
    "Interrogation",
    "KeyFileError",
    "LinkKey",
    "LinkRefused",
    "LinkTimeout",
    "ProgrammerClient",
    "Role",
    "SessionClosed",
    "TcpTransport",
    "TelemetryError",
    "Transport",
    "read_key_file",
]
