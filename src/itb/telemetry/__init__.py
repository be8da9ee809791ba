"""itb.telemetry: the secure wand link between programmer and pump.

Three sub-packages, inside out (dependencies point inwards):
- `protocol`: the pure, sans-IO protocol. `framing` (frames, CRC-16, a resynchronising
  decoder), `keys` and `channel` (per-pump and role keys, HKDF session keys, AES-GCM with
  counters), `codec`, `messages` and `commands` (strict compact CBOR of typed commands and
  answers), `events`, `guard` (handshake rates, the session slot), `labels`, and the two
  state machines `pump_link.PumpLink` and `programmer_link.ProgrammerLink` (bytes and time
  in, bytes and events out) over what they share in `link`;
- `pumpside`: the pump's side assembled around an `itb.pump` pump: `adapter` (commands to
  clinical acts), `translate` (wire values <-> pump values), `host` (one link per
  connection), `audit` (the link's security log), `runtime` (a simulated pump as the
  server hosts it);
- `io`: where the pure protocol ends (see its docstring): `clocks`, `transport` (in-memory
  and TCP), `client` (the programmer's `ProgrammerClient`), `server` and `admission` (the
  loopback server of simulated pumps), `store`, `folderlock` and `listing` (its state folder).

Every error the link raises is in `errors`, under `TelemetryError`. The commands that
create and serve simulated pumps (`itb pump new/serve/list`) are in `itb.pump.serve_cli`.
See docs/threat-model.md for what the link defends against and what it does not.
"""

# The programmer's side, which needs no `itb.pump` (the pump side lives in `pumpside`).
# Its refusals are in `itb.telemetry.errors`, under the root re-exported here.
from itb.telemetry.errors import TelemetryError
from itb.telemetry.io.client import Interrogation, ProgrammerClient, read_key_file
from itb.telemetry.io.transport import InMemoryTransport, TcpTransport, Transport
from itb.telemetry.protocol.channel import CipherSuite
from itb.telemetry.protocol.keys import LinkKey, Role

__all__ = [
    "CipherSuite",
    "InMemoryTransport",
    "Interrogation",
    "LinkKey",
    "ProgrammerClient",
    "Role",
    "TcpTransport",
    "TelemetryError",
    "Transport",
    "read_key_file",
]
