"""The wand link's IO: sockets, the asyncio server, state files and clocks.

This is where the pure protocol ends. Below this line (`itb.telemetry.protocol`,
`itb.telemetry.pumpside`) there are only plain values: bytes in and out, the time as a
number handed in, typed events and state documents. Nothing below reads a clock, opens a
socket or a file, or waits; everything that does lives here:

- `clocks`: the real clocks the IO reads (and hands on as numbers);
- `transport`: byte carriers for the programmer (in-memory for tests, TCP);
- `client`: `ProgrammerClient`, the programmer's blocking session over a transport;
- `server`, `admission`: the loopback asyncio server of simulated pumps and its
  per-source connection admission;
- `store`, `folderlock`, `listing`: the durable state folder, its single-server lock,
  and the listing of the pumps it holds.

An IO module may import the protocol; the protocol never imports this package.
"""
