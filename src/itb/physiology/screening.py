"""How a patient responds to a screening bolus, as the screening team would judge it.

[LABEL] (devices.md): a 50 mcg bolus, observation for 4 to 8 hours; a positive response is
a significant decrease in muscle tone or spasm frequency; if inadequate, 75 mcg 24 h later,
then 100 mcg. The labeled starting dose depends on how long the effect lasted (more than
8 hours: the screening dose per day; less: twice it), so `hours_relaxed` is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np

from itb.errors import InvalidInput
from itb.physiology import constants
from itb.physiology.patient import DrugDelivery, Patient
from itb.physiology.population import PatientParameters

# The response does not depend on the calendar; any fixed UTC instant will do.
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ScreeningResponse:
    dose_mcg: Fraction
    peak_ashworth_drop: float
    peak_after_h: float
    hours_relaxed: float  # time with the drop at or above the positive threshold
    positive: bool


def screening_response(parameters: PatientParameters, dose_mcg: Fraction | int, *,
                       days_on_therapy: float = 0.0, observe_hours: int = 24,
                       positive_drop: float = constants.POSITIVE_SCREENING_ASHWORTH_DROP,
                       sample_every_s: int = 60) -> ScreeningResponse:
    """Simulate one lumbar bolus in a drug-free patient and judge the response."""
    if isinstance(dose_mcg, bool) or not isinstance(dose_mcg, int | Fraction) or dose_mcg <= 0:
        raise InvalidInput("dose_mcg", dose_mcg, "an exact amount (int or Fraction) above 0")
    if isinstance(observe_hours, bool) or not isinstance(observe_hours, int) or \
            not 1 <= observe_hours <= 72:
        raise InvalidInput("observe_hours", observe_hours, "a whole number from 1 to 72")
    therapy_start = None
    if days_on_therapy:
        therapy_start = _REFERENCE - timedelta(days=days_on_therapy)
    patient = Patient(parameters, _REFERENCE, therapy_started_at=therapy_start)
    trace = patient.advance(_REFERENCE + timedelta(hours=observe_hours),
                            [DrugDelivery(_REFERENCE, _REFERENCE, Fraction(dose_mcg))],
                            sample_every_s=sample_every_s)
    drop = parameters.response.baseline_ashworth - trace.ashworth
    peak = int(np.argmax(drop))
    relaxed = float(np.count_nonzero(drop >= positive_drop) * sample_every_s / 3600)
    return ScreeningResponse(
        dose_mcg=Fraction(dose_mcg),
        peak_ashworth_drop=float(drop[peak]),
        peak_after_h=float(trace.t_s[peak] / 3600),
        hours_relaxed=relaxed,
        positive=bool(drop[peak] >= positive_drop),
    )
