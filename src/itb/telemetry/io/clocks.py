"""The real clocks the IO reads: the protocol is handed their readings, never the clocks.

A clock is a function returning seconds as a float. Tests hand in their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]

# The programmer's waits and deadlines: never jumps with the wall clock.
monotonic: Clock = time.monotonic
# The server's time: anchors simulated pump time to the real time of day across restarts.
wall: Clock = time.time
