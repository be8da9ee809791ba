"""Which connections the pump server keeps: caps on sockets before and after the HELLO.

Sans-IO like the link: the server tells `Admission` when a socket arrives, when its HELLO
has been read and when it leaves, and gets back whether to keep it and which older
sockets to hang up. Issue 17.1: 80 silent connections used to exhaust a 64-descriptor
limit and keep the clinician out; now

- the total is capped below the descriptor limit, and a socket beyond it is refused in words;
- sockets still waiting for their HELLO are capped separately, and the oldest of them
  makes room for a new one (a fresh programmer sends its HELLO at once, an idle
  attacker's socket is the oldest);
- per-pump caps (connections, handshakes in progress) live in `PumpHost`.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

# Engineering figures, not clinical ones: a clinic has a handful of programmers.
DEFAULT_MAX_CONNECTIONS = 128
DEFAULT_MAX_AWAITING_HELLO = 16


def descriptor_bound(default: int = DEFAULT_MAX_CONNECTIONS) -> int:
    """`default`, or less if the process may open fewer than twice as many descriptors
    (half are left for state files, the listening socket and the interpreter)."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return default
    if soft == resource.RLIM_INFINITY:
        return default
    return max(4, min(default, soft // 2))


@dataclass
class Admission:
    max_connections: int = field(default_factory=descriptor_bound)
    max_awaiting_hello: int = DEFAULT_MAX_AWAITING_HELLO
    _open: set[int] = field(default_factory=set)
    # Sockets awaiting their HELLO, oldest first (dicts keep insertion order).
    _awaiting: dict[int, None] = field(default_factory=dict)
    refused: int = 0
    displaced: int = 0

    def arrive(self, token: int) -> tuple[bool, list[int]]:
        """A new socket: (keep it?, older sockets awaiting their HELLO to hang up)."""
        if len(self._open) >= self.max_connections:
            self.refused += 1
            return False, []
        evict: list[int] = []
        while len(self._awaiting) >= self.max_awaiting_hello:
            oldest = next(iter(self._awaiting))
            del self._awaiting[oldest]
            # Being hung up, it no longer counts: a burst accepted at once must not find
            # the total full of sockets already on their way out.
            self._open.discard(oldest)
            evict.append(oldest)
        self.displaced += len(evict)
        self._open.add(token)
        self._awaiting[token] = None
        return True, evict

    def hello_received(self, token: int) -> None:
        self._awaiting.pop(token, None)

    def leave(self, token: int) -> None:
        self._open.discard(token)
        self._awaiting.pop(token, None)

    @property
    def open(self) -> int:
        return len(self._open)

    @property
    def awaiting_hello(self) -> int:
        return len(self._awaiting)
