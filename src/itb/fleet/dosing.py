"""A fleet patient's dose and drug strength, as the clinic would choose them."""

from __future__ import annotations

import math
from fractions import Fraction

from itb.physiology.population import PatientParameters
from itb.pump import PumpModel
from itb.therapy.catalogue import DRUG_PRODUCTS

LABEL_DOSE = (12, 2003)  # label: reported maintenance range, spinal origin (mcg/day)
# Marketed pump-refill strengths (itb.therapy.catalogue: Lioresal, Gablofen).
STRENGTHS = sorted({p.concentration_mcg_per_ml for p in DRUG_PRODUCTS if not p.screening_only})


def need_mcg_per_day(params: PatientParameters, days_on_therapy: float) -> float:
    """The dose that halves the patient's spasticity on that day; for a patient who has
    become refractory (label: about 5 % a year), the dose they needed when it began (no
    dose can give the effect any more, and the clinic does not chase it)."""
    refractory = params.response.refractory_after_days
    if refractory is not None and days_on_therapy > refractory:
        days_on_therapy = refractory
    return params.maintenance_need_mcg_per_day(days_on_therapy)


def strength_and_dose(model: PumpModel, strength: Fraction, need: float
                      ) -> tuple[Fraction, int]:
    """The study's strength, or a weaker marketed one when the patient's dose is below the
    pump's minimum rate at it (as a clinic would fill: 0.048 mL/day at 2,000 mcg/mL is
    already 96 mcg/day); the dose is the need in whole mcg/day, within the label's
    reported range and what the pump can deliver at that strength."""
    dose = int(min(max(round(need), LABEL_DOSE[0]), LABEL_DOSE[1]))
    for conc in sorted((s for s in STRENGTHS if s <= strength), reverse=True):
        if dose * 1_000_000 >= model.min_flow_nl_per_day * conc:
            return conc, dose
    weakest = min(STRENGTHS)
    return weakest, max(dose, math.ceil(model.min_flow_nl_per_day * weakest / 1_000_000))
