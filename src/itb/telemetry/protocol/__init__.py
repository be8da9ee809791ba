"""The wand link's pure protocol: bytes and time in, bytes and events out.

Rules of this sub-package, in the manner of h11:
- It never touches a socket, a file, a clock or a thread. Every call is handed the time
  (`now_s`) and the bytes that arrived, and returns the bytes to send and typed events.
- It does not know the pump: commands and answers are its own value objects
  (`commands`), and the pump side is wired to `itb.pump` in `itb.telemetry.pumpside`.
- A byte from the air never raises: hostile or damaged input is dropped and reported as
  a `SecurityEvent`. The errors in `itb.telemetry.errors` are for the local caller.

Modules, inside out: `framing` (frames and the resynchronising decoder), `keys` and
`channel` (per-pump and session keys, AES-GCM with counters), `codec`, `messages` and
`commands` (strict compact CBOR of typed messages), `events`, `guard` (handshake rates),
`labels` (programmer ids), and the state machines: `link` (what both sides share),
`pump_link` (`PumpLink`) and `programmer_link` (`ProgrammerLink`).
"""
