"""The pump's side of the wand link, assembled around an `itb.pump` pump.

`adapter` turns typed commands into the pump's clinical acts and the pump's state into
answers; `host` runs one `PumpLink` per connection in front of the adapter; `audit` is the
link's security log; `runtime` ties one simulated pump, its key, its link memory and its
clock mapping together as the server hosts it. Still free of IO: the time is handed in and
the state is returned as a document for `itb.telemetry.io.store` to write.
"""
