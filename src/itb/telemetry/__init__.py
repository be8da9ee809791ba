"""itb.telemetry: the secure wand link between programmer and pump.

Layers, inside out:
- `framing`: version, type, length, body, CRC-16 frames and a resynchronising decoder;
- `keys`, `channel`: per-pump keys, role keys, HKDF session keys, AES-GCM with counters;
- `codec`, `messages`, `commands`: strict compact CBOR of typed commands and answers;
- `link`: the sans-IO `PumpLink` and `ProgrammerLink` state machines (bytes and time in,
  bytes and events out), with replay/forgery drops, roles, timeouts and lockout;
- `host`, `adapter`: the pump side assembled around an `itb.pump` pump;
- `transport`, `client`, `server`, `store`: in-memory and TCP carriers, the programmer's
  `ProgrammerClient`, the loopback server of simulated pumps and its durable state.

See docs/threat-model.md for what the link defends against and what it does not.
"""
