"""The statistics of a study: Poisson rates with exact intervals, rate comparisons, survival.

- An incidence is k events over T patient-years, per 1,000 patient-years, with the exact
  (Garwood) 95 % interval from the chi-squared distribution: [χ²(α/2; 2k)/2,
  χ²(1−α/2; 2k+2)/2] / T.
- Two incidences: the rate difference with a Wald interval (variance k/T² each), and the
  rate ratio with the exact conditional interval (k₁ given k₁+k₂ is binomial; its
  Clopper-Pearson interval mapped to the ratio).
- A mean over patients (days in withdrawal per patient-year) with a normal 95 % interval
  (mean ± 1.96 s/√n, not below 0): patients are independent, and the cohorts are large.
- Time to detection: median and 90th percentile (linear interpolation).
- Device survival: Kaplan-Meier (lifelines) with its 95 % interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import beta, chi2, norm

Z95 = float(norm.ppf(0.975))
PER = 1000.0  # incidences per 1,000 patient-years


def rounded(value: float, digits: int = 6) -> float | None:
    """A float for summary.json: rounded, and None for NaN or infinity."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def poisson_ci(count: int, exposure: float, alpha: float = 0.05) -> tuple[float, float]:
    lower = 0.0 if count == 0 else chi2.ppf(alpha / 2, 2 * count) / 2
    upper = chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2
    return float(lower / exposure), float(upper / exposure)


def incidence(count: int, patient_years: float) -> dict[str, Any]:
    low, high = poisson_ci(count, patient_years)
    return {"count": int(count), "per_1000_patient_years": rounded(count / patient_years * PER),
            "ci95": [rounded(low * PER), rounded(high * PER)]}


def mean_ci(values: np.ndarray) -> dict[str, Any]:
    """The mean of per-patient values with its normal 95 % interval (floored at 0)."""
    n = len(values)
    mean = float(np.mean(values)) if n else math.nan
    half = Z95 * float(np.std(values, ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return {"mean": rounded(mean), "ci95": [rounded(max(0.0, mean - half)),
                                            rounded(mean + half)]}


def rate_difference(k1: int, t1: float, k2: int, t2: float) -> dict[str, Any]:
    """B minus A per 1,000 patient-years (A = k1/t1), with a Wald 95 % interval."""
    diff = k2 / t2 - k1 / t1
    se = math.sqrt(k1 / t1 ** 2 + k2 / t2 ** 2)
    return {"per_1000_patient_years": rounded(diff * PER),
            "ci95": [rounded((diff - Z95 * se) * PER), rounded((diff + Z95 * se) * PER)]}


def rate_ratio(k1: int, t1: float, k2: int, t2: float) -> dict[str, Any]:
    """B over A, with the exact conditional 95 % interval (None where undefined)."""
    n = k1 + k2
    if n == 0:
        return {"ratio": None, "ci95": [None, None]}
    ratio = (k2 / t2) / (k1 / t1) if k1 else math.inf
    # k2 | n ~ Binomial(n, p), p = t2·RR / (t1 + t2·RR): Clopper-Pearson for p.
    p_low = 0.0 if k2 == 0 else float(beta.ppf(0.025, k2, n - k2 + 1))
    p_high = 1.0 if k2 == n else float(beta.ppf(0.975, k2 + 1, n - k2))

    def to_ratio(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * t1 / t2

    return {"ratio": rounded(ratio), "ci95": [rounded(to_ratio(p_low)), rounded(to_ratio(p_high))]}


def quantiles(values: np.ndarray) -> dict[str, Any]:
    if not len(values):
        return {"n": 0, "median_hours": None, "p90_hours": None}
    return {"n": len(values), "median_hours": rounded(float(np.percentile(values, 50))),
            "p90_hours": rounded(float(np.percentile(values, 90)))}


def kaplan_meier(durations: np.ndarray, events: np.ndarray, at: list[float], *,
                 with_curve: bool = False) -> dict[str, Any]:
    """Kaplan-Meier survival (lifelines) and its 95 % interval at each of `at`, and (for
    the plot) the curve itself as [time, survival, lower, upper] rows."""
    from lifelines import KaplanMeierFitter

    if not len(durations):
        return {"units": 0, "events": 0, "at": {}, "curve": []}
    fitter = KaplanMeierFitter()
    fitter.fit(durations, event_observed=events)
    table = fitter.survival_function_.iloc[:, 0]
    ci = fitter.confidence_interval_survival_function_
    points: dict[str, Any] = {}
    for t in at:
        if t > float(np.max(durations)):
            points[f"{t:g}"] = None  # beyond follow-up
            continue
        estimate = float(fitter.survival_function_at_times(t).iloc[0])
        k = int(np.searchsorted(table.index.values, t, side="right")) - 1
        points[f"{t:g}"] = {"survival": rounded(estimate),
                            "ci95": [rounded(float(ci.iloc[k, 0])), rounded(float(ci.iloc[k, 1]))]}
    out: dict[str, Any] = {"units": len(durations), "events": int(np.sum(events)),
                           "at": points}
    if with_curve:
        out["curve"] = [[float(t), float(s), float(ci.iloc[i, 0]), float(ci.iloc[i, 1])]
                        for i, (t, s) in enumerate(table.items())]
    return out
