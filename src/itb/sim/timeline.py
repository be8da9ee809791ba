"""The run as a table at 5-minute resolution (pump truth and belief, patient PK/PD).

Every column is computed with numpy over all samples at once. Pump quantities come
from the delivery segments (piecewise constant), integrated in closed form: the true
reservoir falls by the volume that truly left it, the firmware's estimate by the
volume it commanded, each anchored to the exact values recorded at every act. The
figures here are floats for plotting and reading; the exact totals are in the summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

from itb.physiology.patient import symptoms_for
from itb.pump.pump import CommandedSegment, DeliverySegment
from itb.sim.runner import SAMPLE_S, SimulationResult, concat_traces
from itb.therapy.units import NL_PER_ML

COLUMNS = (
    "time", "hours", "reservoir_true_ml", "reservoir_estimate_ml", "delivered_mcg_per_day",
    "commanded_mcg_per_day", "lumbar_csf_mcg_per_ml", "cisternal_csf_mcg_per_ml",
    "effect_site_mcg_per_ml", "plasma_mcg_per_ml", "pocket_mcg", "ashworth",
    "spasms_per_hour", "withdrawal_stage", "overdose_stage", "side_effects", "symptoms",
    "alarms",
)


def _cumulative(starts: np.ndarray, ends: np.ndarray, amounts: np.ndarray,
                t: np.ndarray) -> np.ndarray:
    """Amount delivered by time t by non-overlapping segments spread evenly over each."""
    if len(starts) == 0:
        return np.zeros(len(t))
    order = np.argsort(starts, kind="stable")
    starts, ends, amounts = starts[order], ends[order], amounts[order]
    before = np.concatenate(([0.0], np.cumsum(amounts)))
    i = np.searchsorted(starts, t, side="right") - 1
    valid = i >= 0
    j = np.maximum(i, 0)
    length = np.maximum(ends[j] - starts[j], 1e-9)
    share = np.clip((t - starts[j]) / length, 0.0, 1.0)
    return np.where(valid, before[j] + amounts[j] * share, 0.0)


def _segments(segments: Sequence[DeliverySegment], unit: str) -> tuple[np.ndarray, ...]:
    """Start, end and amount (nL, or mcg as a float for reading) of each segment."""
    n = len(segments)
    starts = np.fromiter((s.start_s for s in segments), dtype=np.float64, count=n)
    ends = np.fromiter((s.end_s for s in segments), dtype=np.float64, count=n)
    volumes = np.fromiter((s.volume_nl for s in segments), dtype=np.float64, count=n)
    if unit == "nl":
        return starts, ends, volumes
    return starts, ends, volumes * _per_nl([s.mcg_per_ml for s in segments])


def _per_nl(concentrations: Sequence[Fraction]) -> np.ndarray:
    """mcg per nL for each concentration (float, for the timeline; a run has few kinds)."""
    cache: dict[Fraction, float] = {}
    out = np.empty(len(concentrations))
    for i, c in enumerate(concentrations):
        value = cache.get(c)
        if value is None:
            value = cache[c] = float(c) / NL_PER_ML
        out[i] = value
    return out


def _commanded(segments: Sequence[CommandedSegment]) -> tuple[np.ndarray, ...]:
    n = len(segments)
    starts = np.fromiter((s.start_s for s in segments), dtype=np.float64, count=n)
    ends = np.fromiter((s.end_s for s in segments), dtype=np.float64, count=n)
    units = np.fromiter((s.flow_nl_per_day * (s.end_s - s.start_s) for s in segments),
                        dtype=np.float64, count=n)
    mcg = units / 86_400.0 * _per_nl([s.dose_mcg_per_ml for s in segments])
    return starts, ends, units, mcg


def build_timeline(result: SimulationResult) -> pd.DataFrame:
    """One row per 5-minute sample from the scenario start to its end."""
    p = concat_traces(result.traces)
    start_s = result.scenario.start_s
    t = start_s + np.round(p["t_s"]).astype(np.float64)
    n = len(t)
    h = result.history
    true_ml = np.full(n, np.nan)
    est_ml = np.full(n, np.nan)
    delivered = np.zeros(n)
    commanded = np.zeros(n)
    if result.implanted and h.anchors:
        cs, ce, cv = _segments(h.csf, "nl")
        ls, le, lv = _segments(h.leak, "nl")
        ks, ke, kunits, kmcg = _commanded(h.commanded)
        out = _cumulative(cs, ce, cv, t) + _cumulative(ls, le, lv, t)
        cmd_units = _cumulative(ks, ke, kunits, t)
        anchors = np.asarray(h.anchors, dtype=np.float64)
        k = np.searchsorted(anchors[:, 0], t, side="right") - 1
        valid = k >= 0
        kk = np.maximum(k, 0)
        true_nl = anchors[kk, 1] - (out - anchors[kk, 3])
        est_nl = anchors[kk, 2] - (cmd_units - anchors[kk, 4]) / 86_400.0
        true_ml = np.where(valid, true_nl / NL_PER_ML, np.nan)
        est_ml = np.where(valid, est_nl / NL_PER_ML, np.nan)
        ms, me, mm = _segments(h.csf, "mcg")
        per_day = 86_400.0 / SAMPLE_S
        delivered = (_cumulative(ms, me, mm, t + SAMPLE_S) - _cumulative(ms, me, mm, t)) * per_day
        commanded = (_cumulative(ks, ke, kmcg, t + SAMPLE_S)
                     - _cumulative(ks, ke, kmcg, t)) * per_day
    withdrawal = p["withdrawal_stage"].astype(np.int64)
    overdose = p["overdose_stage"].astype(np.int64)
    side_mask = p["side_effects"].astype(np.int64)
    side = side_mask > 0
    symptoms = _symptom_texts(withdrawal, overdose, side_mask)
    alarms = _alarm_texts(result, t)
    return pd.DataFrame({
        "time": pd.to_datetime(t.astype(np.int64), unit="s", utc=True),
        "hours": (t - start_s) / 3600.0,
        "reservoir_true_ml": true_ml,
        "reservoir_estimate_ml": est_ml,
        "delivered_mcg_per_day": delivered,
        "commanded_mcg_per_day": commanded,
        "lumbar_csf_mcg_per_ml": p["lumbar_mcg_per_ml"],
        "cisternal_csf_mcg_per_ml": p["cisternal_mcg_per_ml"],
        "effect_site_mcg_per_ml": p["effect_site_mcg_per_ml"],
        "plasma_mcg_per_ml": p["plasma_mcg_per_ml"],
        "pocket_mcg": p["pocket_mcg"],
        "ashworth": p["ashworth"],
        "spasms_per_hour": p["spasms_per_hour"],
        "withdrawal_stage": withdrawal,
        "overdose_stage": overdose,
        "side_effects": side,
        "symptoms": symptoms,
        "alarms": alarms,
    }, columns=list(COLUMNS))


def _symptom_texts(withdrawal: np.ndarray, overdose: np.ndarray, side: np.ndarray) -> np.ndarray:
    out = np.full(len(withdrawal), "", dtype=object)
    if len(withdrawal) == 0:
        return out
    key = withdrawal * 100 + overdose * 10 + side
    for code in np.unique(key):
        if code == 0:
            continue
        names = symptoms_for(int(code // 100), int(code // 10 % 10), int(code % 10))
        out[key == code] = " ".join(names)
    return out


def _alarm_texts(result: SimulationResult, t: np.ndarray) -> np.ndarray:
    out = np.full(len(t), "", dtype=object)
    for span in result.alarms:
        end = np.inf if span.cleared_s is None else span.cleared_s
        mask = (t >= span.raised_s) & (t < end)
        if np.any(mask):
            current = out[mask]
            out[mask] = np.where(current == "", span.kind, current + " " + span.kind)
    return out

