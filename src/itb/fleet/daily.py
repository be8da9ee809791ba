"""A patient's daily summary, in closed form: the drug that truly reached the CSF each day
(each delivery segment is constant-flow, so its share of a day is its overlap) and the
worst withdrawal and overdose stage seen on the patient's check grid that day.

Written only when the study asks for it (`[study] daily = true`): one row per patient-day.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from itb.pump import DeliverySegment

DAY_S = 86_400


class DailyLog:
    def __init__(self, start_s: int, days: int) -> None:
        self.start_s = start_s
        self.csf_mcg = np.zeros(days)
        self.withdrawal = np.zeros(days, dtype=np.int8)
        self.overdose = np.zeros(days, dtype=np.int8)

    def deliver(self, segments: list[DeliverySegment], mcg: list[Any]) -> None:
        days = len(self.csf_mcg)
        for segment, amount in zip(segments, mcg, strict=True):
            start, end = segment.start_s - self.start_s, segment.end_s - self.start_s
            if end <= start:
                day = min(max(start // DAY_S, 0), days - 1)
                self.csf_mcg[day] += float(amount)
                continue
            rate = float(amount) / (end - start)
            first, last = max(start // DAY_S, 0), min((end - 1) // DAY_S, days - 1)
            for day in range(first, last + 1):
                overlap = min(end, (day + 1) * DAY_S) - max(start, day * DAY_S)
                self.csf_mcg[day] += rate * overlap

    def stages(self, t_s: np.ndarray, withdrawal: np.ndarray, overdose: np.ndarray) -> None:
        """`t_s`: seconds since the study start (the patient's start)."""
        day = np.clip((t_s // DAY_S).astype(np.int64), 0, len(self.csf_mcg) - 1)
        np.maximum.at(self.withdrawal, day, withdrawal.astype(np.int8))
        np.maximum.at(self.overdose, day, overdose.astype(np.int8))

    def rows(self, patient: int) -> dict[str, Any]:
        days = len(self.csf_mcg)
        return {"patient": np.full(days, patient, dtype=np.int64),
                "day": np.arange(days, dtype=np.int32),
                "csf_mcg": np.round(self.csf_mcg, 6),
                "worst_withdrawal_stage": self.withdrawal,
                "worst_overdose_stage": self.overdose}
