"""Symptom episodes from a patient's stages on its check grid, fed pass by pass.

An episode is a run of grid points at stage 1 or more; it starts at its first such point
and ends at the first point back at 0. Episodes that span several passes are joined.
"""

from __future__ import annotations

import numpy as np


class Episodes:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.worsts: list[int] = []
        self.hours = 0.0
        self._open: tuple[float, int] | None = None  # (start_s, worst so far)

    @property
    def count(self) -> int:
        return len(self.worsts) + (self._open is not None)

    def count_at_least(self, stage: int) -> int:
        extra = self._open is not None and self._open[1] >= stage
        return sum(1 for w in self.worsts if w >= stage) + int(extra)

    @property
    def worst(self) -> int:
        return max([*self.worsts, self._open[1] if self._open else 0])

    def feed(self, t_s: np.ndarray, stages: np.ndarray) -> list[tuple[float, float, int]]:
        """Take one pass's grid (seconds since the patient's start) and stages; return the
        episodes that ended in it as (start_s, end_s, worst stage)."""
        on = stages > 0
        if self._open is None and not on.any():
            return []
        closed: list[tuple[float, float, int]] = []
        before = self._open is not None
        edges = np.flatnonzero(on != np.concatenate(([before], on[:-1])))
        cursor = 0
        for i in edges:
            if on[i]:
                self._open = (float(t_s[i]), 0)
            else:
                closed.append(self._close_at(float(t_s[i]), stages[cursor:i]))
            cursor = i
        if self._open is not None:
            start, worst = self._open
            tail = stages[cursor:]
            self._open = (start, max(worst, int(tail.max()) if len(tail) else 0))
        return closed

    def _close_at(self, end_s: float, stages: np.ndarray) -> tuple[float, float, int]:
        assert self._open is not None
        start, worst = self._open
        worst = max(worst, int(stages.max()) if len(stages) else 0)
        self._open = None
        self.worsts.append(worst)
        self.hours += (end_s - start) / 3600
        return start, end_s, worst

    def close(self, end_s: float) -> tuple[float, float, int] | None:
        """The run ends: an open episode ends here."""
        if self._open is None:
            return None
        return self._close_at(end_s, np.empty(0, dtype=np.int8))
