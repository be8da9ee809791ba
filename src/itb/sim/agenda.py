"""The run's agenda: a tiny scheduler over typed events, in the manner of SimPy's `core.py`.

Events wait on a heap of `(time_s, priority, seq, event)`: the earliest first; at the same
second the lower priority first; then the order they were scheduled in. `pop` hands the
next one out; what it means is for the run's handler of that event's type (one handler
per kind, `itb.sim.runner`). The agenda knows nothing of pumps or patients.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import count
from typing import Any, ClassVar

from itb.sim.schema import TimelineEvent


@dataclass(frozen=True)
class Scheduled:
    """Something due at a moment of the run; `priority` orders events due at one second."""

    priority: ClassVar[int]


@dataclass(frozen=True)
class StallEnds(Scheduled):
    """A timed motor stall (an MRI scan) ends."""

    priority: ClassVar[int] = 0
    cause: str


@dataclass(frozen=True)
class TimelineAct(Scheduled):
    """An entry of the scenario's [[timeline]]: a clinical act or a fault."""

    priority: ClassVar[int] = 1
    index: int  # in the file's [[timeline]] list
    entry: TimelineEvent


@dataclass(frozen=True)
class RetitrateStep(Scheduled):
    """The next daily step of a restart titration toward the old dose."""

    priority: ClassVar[int] = 2


@dataclass(frozen=True)
class PlannedRefill(Scheduled):
    """A refill on the date the refill plan gave; only the latest plan's (`generation`)
    still counts: an explicit refill or a new program since then made a new plan."""

    priority: ClassVar[int] = 3
    generation: int


class Agenda:
    """A heap of events by time, priority and scheduling order."""

    def __init__(self) -> None:
        self._queue: list[tuple[int, int, int, Any]] = []
        self._seq = count(1)

    def schedule(self, at_s: int, event: Scheduled) -> None:
        heapq.heappush(self._queue, (at_s, event.priority, next(self._seq), event))

    def due_by(self, end_s: int) -> bool:
        """Is an event due at or before `end_s`?"""
        return bool(self._queue) and self._queue[0][0] <= end_s

    def pop(self) -> tuple[int, Scheduled]:
        at_s, _priority, _seq, event = heapq.heappop(self._queue)
        return at_s, event

    def clear(self) -> None:
        """Forget everything scheduled (a pump history before the scenario start is run
        without its plans' refills: they are simulated by that history's own loop)."""
        self._queue.clear()
