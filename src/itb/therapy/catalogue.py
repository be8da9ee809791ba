"""The catalogue of clinical constants for intrathecal baclofen, each with its source.

This is the one module where therapy numbers live. Every other module in
`itb.therapy` takes them from here, usually as default arguments, so that a
caller can replace a parameter (and a figure marked *unconfirmed* is a parameter,
never a hidden constant).

Source keys used below (full references in docs/therapy.md):
- [LIO-LABEL]  Lioresal Intrathecal (baclofen injection) prescribing information,
  as summarised in ../shared/docs/devices.md "Intrathecal baclofen labeling" and
  druglib.com "Lioresal Intrathecal - Description and Clinical Pharmacology".
- [LIO-AMP]    lioresal.com/hcp/dosing-and-administration/ampules-refill-kit
  (ampule strengths; "must be diluted" for other concentrations).
- [GAB-LABEL]  Gablofen (baclofen injection) prescribing information, section 16
  "How Supplied" (medlibrary.org/lib/rx/meds/gablofen/page/6) and openFDA NDC
  listings 66794-151 (50 mcg/mL) and 66794-157 (2,000 mcg/mL).
- [DOMAIN]     ../shared/docs/domain.md (seed facts, worked example).
- [DEVICES]    ../shared/docs/devices.md (device facts; *unconfirmed* marks kept).
- [PROMETRA]   Flowonix Prometra II Programmable Pump manual, implant steps 17-18:
  implanted catheter volume = length (cm) x 0.0026 mL/cm, catheter 110 cm.
- [ASRA-2017]  "Accuracy in Intrathecal Drug Delivery with an Implanted Infusion
  System", ASRA Fall 2017 (epostersonline.com/ASRAFALL17/node/1139): refill
  discrepancies outside device accuracy or greater than 2 mL should be evaluated.
- [MDT-PATIENT] medtronic.com "Pump management, ITB Therapy": ask whether a refill
  can be scheduled a week earlier just in case.
- [MDT-UK]     medtronic.com UK "Getting a Replacement - Drug Pumps" (via devices.md).
- [MINCLINIC]   minclinic.eu "Dosing and uses of Lioresal, Gablofen (baclofen)": a
  dosing summary of the labels (titration and maintenance steps).
- [NEUROMOD-2023] Baclofen stability in implanted ITB pumps, Neuromodulation 2023
  (Elsevier): "Commercial ITBT infusion pumps are recommended to be refilled
  within a maximum of 180 days".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy.units import ExactLike, display, exact

# --- Drug products -----------------------------------------------------------------


@dataclass(frozen=True)
class DrugProduct:
    """One marketed intrathecal baclofen strength."""

    brand: str
    concentration_mcg_per_ml: Fraction
    screening_only: bool
    source: str


DRUG_PRODUCTS: tuple[DrugProduct, ...] = (
    # [LIO-LABEL] each mL holds 50, 500 or 2,000 mcg; [LIO-AMP] 50 mcg/mL is the screening ampule.
    DrugProduct("Lioresal Intrathecal", Fraction(50), True, "LIO-LABEL, LIO-AMP"),
    DrugProduct("Lioresal Intrathecal", Fraction(500), False, "LIO-LABEL, LIO-AMP"),
    DrugProduct("Lioresal Intrathecal", Fraction(2000), False, "LIO-LABEL, LIO-AMP"),
    # [GAB-LABEL] 1 mL syringe of 50 mcg/mL; 20 mL syringes/vials of 500, 1,000 and 2,000 mcg/mL.
    DrugProduct("Gablofen", Fraction(50), True, "GAB-LABEL"),
    DrugProduct("Gablofen", Fraction(500), False, "GAB-LABEL"),
    DrugProduct("Gablofen", Fraction(1000), False, "GAB-LABEL"),
    DrugProduct("Gablofen", Fraction(2000), False, "GAB-LABEL"),
)

BRANDS: tuple[str, ...] = ("Lioresal Intrathecal", "Gablofen")


def find_product(brand: str, concentration_mcg_per_ml: ExactLike) -> DrugProduct:
    """The catalogue entry for `brand` at a concentration, or InvalidInput naming the choices."""
    if brand not in BRANDS:
        raise InvalidInput("brand", brand, "one of: " + ", ".join(BRANDS))
    conc = exact("concentration_mcg_per_ml", concentration_mcg_per_ml)
    for product in DRUG_PRODUCTS:
        if product.brand == brand and product.concentration_mcg_per_ml == conc:
            return product
    choices = ", ".join(display(p.concentration_mcg_per_ml) for p in DRUG_PRODUCTS
                        if p.brand == brand)
    raise InvalidInput("concentration_mcg_per_ml", display(conc),
                       f"one of: {choices} mcg/mL for {brand}")


def refill_concentrations_mcg_per_ml() -> tuple[Fraction, ...]:
    """Marketed strengths meant for the pump reservoir (not screening-only), ascending."""
    return tuple(sorted({p.concentration_mcg_per_ml for p in DRUG_PRODUCTS
                         if not p.screening_only}))


# Lioresal ampules conform to within +/-5% of the labeled concentration [LIO-AMP].
LABELED_CONCENTRATION_TOLERANCE_PERCENT = Fraction(5)

# --- Screening trial [LIO-LABEL via DEVICES "Screening"; drugs.com dosage page] ---------

SCREENING_CONCENTRATION_MCG_PER_ML = Fraction(50)
# 50 mcg in 1 mL, then 75 mcg (1.5 mL) 24 h later, then 100 mcg (2 mL) 24 h after that.
SCREENING_DOSES_MCG: tuple[Fraction, ...] = (Fraction(50), Fraction(75), Fraction(100))
SCREENING_MIN_INJECTION_S = 60  # "by barbotage over not less than 1 minute"
SCREENING_OBSERVATION_MIN_H = 4  # "observe for 4 to 8 hours"
SCREENING_OBSERVATION_MAX_H = 8
SCREENING_INTERVAL_H = 24  # each escalation "24 hours after" the previous bolus

# Candidate criteria [DOMAIN section 1, seeds 002, 003, 004]: weight over 30 lb (13.6 kg),
# spasticity not helped enough by oral medication.
CANDIDATE_MIN_BODY_WEIGHT_KG = Fraction("13.6")
# Gablofen is labeled for patients aged 4 years and above [GAB-LABEL section 1].
CANDIDATE_MIN_AGE_YEARS = 4
# Spasticity after traumatic brain injury: wait at least one year [GAB-LABEL section 1].
TBI_MIN_WAIT_DAYS = 365

# A positive response is "a significant decrease in muscle tone or spasm frequency"
# [LIO-LABEL via DEVICES]. The label gives no number; these thresholds are itb
# parameters (*unconfirmed*): a fall of at least 1 point on the Modified Ashworth Scale
# (grade 1+ counted as 1.5) or at least 1 level on the Penn Spasm Frequency Scale (0-4).
POSITIVE_RESPONSE_MIN_ASHWORTH_DECREASE = Fraction(1)
POSITIVE_RESPONSE_MIN_SPASM_FREQUENCY_DECREASE = 1

# --- Initial pump dose [LIO-LABEL via DEVICES "Initial pump dose"] ---------------------

# Effect lasting more than 8 h: daily dose = screening dose; otherwise twice it.
INITIAL_DOSE_LONG_EFFECT_H = 8
INITIAL_DOSE_SHORT_EFFECT_MULTIPLIER = 2
NO_INCREASE_AFTER_START_H = 24  # "no dose increase in the first 24 hours"

# --- Titration [LIO-LABEL via DEVICES "Titration"] ------------------------------------


class Origin(StrEnum):
    SPINAL = "spinal"
    CEREBRAL = "cerebral"


class AgeGroup(StrEnum):
    ADULT = "adult"
    CHILD = "child"


class ChangeReason(StrEnum):
    INCREASE = "increase"  # titrating up for effect
    SIDE_EFFECTS = "side-effects"  # decreasing for side effects


class PediatricRule(StrEnum):
    """The labels differ: 5-15% (the usual rule) or 5-10% (some labels) for children."""

    FIVE_TO_FIFTEEN = "5-15"
    FIVE_TO_TEN = "5-10"


TITRATION_INTERVAL_H = 24  # changes "once every 24 hours"
TITRATION_INCREASE_PERCENT: dict[Origin, tuple[Fraction, Fraction]] = {
    Origin.SPINAL: (Fraction(10), Fraction(30)),
    Origin.CEREBRAL: (Fraction(5), Fraction(15)),
}
class Phase(StrEnum):
    """Post-implant dose titration, or maintenance (changes at periodic refill visits)."""

    TITRATION = "titration"
    MAINTENANCE = "maintenance"


# Maintenance therapy, at periodic refills: spinal +10-40% (no more than 40%), cerebral
# +5-20% (no more than 20%), decrease 10-20% for side effects [LIO-LABEL "Maintenance
# Therapy", as summarised on minclinic.eu "Dosing and uses of Lioresal, Gablofen"].
# The label gives no separate pediatric maintenance step; itb keeps the pediatric
# titration step for children (the smaller one).
MAINTENANCE_INCREASE_PERCENT: dict[Origin, tuple[Fraction, Fraction]] = {
    Origin.SPINAL: (Fraction(10), Fraction(40)),
    Origin.CEREBRAL: (Fraction(5), Fraction(20)),
}
TITRATION_CHILD_INCREASE_PERCENT: dict[PediatricRule, tuple[Fraction, Fraction]] = {
    PediatricRule.FIVE_TO_FIFTEEN: (Fraction(5), Fraction(15)),
    PediatricRule.FIVE_TO_TEN: (Fraction(5), Fraction(10)),
}
TITRATION_SIDE_EFFECT_DECREASE_PERCENT = (Fraction(10), Fraction(20))
# The decrease step is the suggested step for side effects, not a limit: a decrease, down to
# a stop, is allowed at any time. A cut larger than its upper end is a "large cut": abrupt
# discontinuation can cause withdrawal [LIO-LABEL boxed warning], so it needs explicit
# confirmation (itb policy; the label sets no number for it).
LARGE_DECREASE_PERCENT = TITRATION_SIDE_EFFECT_DECREASE_PERCENT[1]

# Pediatric patients 4 years and older follow the recommendations for spasticity of cerebral
# origin: titration +5-15% per 24 h, maintenance +5-20% [drugs.com "Baclofen Dosage", Usual
# Pediatric Dose for Cerebral Spasticity, "4 years and older", summarising the labels;
# devices.md "Titration": children 5-15%, some labels 5-10%].
PEDIATRIC_MIN_AGE_YEARS = 4  # safety below 4 not established [GAB-LABEL section 1]
# The label text found does not state where "pediatric" ends; *unconfirmed*: itb reads it
# as under 18 years (a parameter). It is NOT the under-12 cut-off below.
PEDIATRIC_RULES_MAX_AGE_YEARS = 18
MAINTENANCE_CHILD_INCREASE_PERCENT: dict[PediatricRule, tuple[Fraction, Fraction]] = {
    PediatricRule.FIVE_TO_FIFTEEN: (Fraction(5), Fraction(20)),  # cerebral-origin maintenance
    PediatricRule.FIVE_TO_TEN: (Fraction(5), Fraction(10)),  # the stricter label variant
}
# Screening in very small children: 25 mcg may be tried instead of 50 mcg. *unconfirmed*:
# recalled from the Lioresal Intrathecal label's pediatric screening paragraph (section 2,
# Screening Phase), whose primary text was not retrieved; the escalation after it
# (25, 50, 75, 100 mcg, 24 h apart) is itb policy.
SMALL_CHILD_SCREENING_DOSE_MCG = Fraction(25)

# The under-12 figures of the label's maintenance section (mean 274, range 24-1,199
# mcg/day) are a subgroup statistic of the studies: they set the usual maintenance range
# for children under 12, not the age limit of the pediatric dosing rules (above).
CHILD_MAX_AGE_YEARS = 12

# Poor response to rising doses (issue 16.15). The label reads a sudden need for much
# larger doses as a sign of a catheter complication (kink or dislodgement) [LIO-LABEL
# "Maintenance Therapy", as recalled; primary text not retrieved], and about 5% of
# patients a year become refractory to rising doses [DEVICES "Tolerance"]. itb's
# definition (*unconfirmed* parameters): the clinician judges spasticity unchanged or worse
# after the daily dose has risen at least twice, or by at least 50%, within 30 days; then
# the catheter and the pump are checked before the next increase.
POOR_RESPONSE_WINDOW_DAYS = 30
POOR_RESPONSE_MIN_INCREASES = 2
POOR_RESPONSE_MIN_RISE_PERCENT = Fraction(50)

# --- Maintenance ranges [LIO-LABEL via DEVICES "Maintenance"] -------------------------


@dataclass(frozen=True)
class MaintenanceRange:
    usual_low_mcg_per_day: Fraction
    usual_high_mcg_per_day: Fraction
    reported_low_mcg_per_day: Fraction
    reported_high_mcg_per_day: Fraction
    source: str


MAINTENANCE: dict[tuple[Origin, AgeGroup], MaintenanceRange] = {
    # spinal origin: most 300-800 mcg/day, reported 12-2,003.
    (Origin.SPINAL, AgeGroup.ADULT): MaintenanceRange(
        Fraction(300), Fraction(800), Fraction(12), Fraction(2003), "LIO-LABEL"),
    # cerebral origin: most 90-703 mcg/day, reported 22-1,400.
    (Origin.CEREBRAL, AgeGroup.ADULT): MaintenanceRange(
        Fraction(90), Fraction(703), Fraction(22), Fraction(1400), "LIO-LABEL"),
    # under 12: mean about 274 mcg/day, range 24-1,199; the label gives no "usual" band,
    # so the reported range is used for both (either origin).
    (Origin.SPINAL, AgeGroup.CHILD): MaintenanceRange(
        Fraction(24), Fraction(1199), Fraction(24), Fraction(1199), "LIO-LABEL"),
    (Origin.CEREBRAL, AgeGroup.CHILD): MaintenanceRange(
        Fraction(24), Fraction(1199), Fraction(24), Fraction(1199), "LIO-LABEL"),
}

# --- Refill planning -----------------------------------------------------------------

# Default low-reservoir alarm: 2 mL, "the alarm residual volume recommended by the
# manufacturer" (Neurosurgery 2004, SynchroMed residual-volume study); DEVICES lists it
# as programmable, default about 2 mL (*unconfirmed*).
DEFAULT_LOW_RESERVOIR_ALARM_ML = Fraction(2)
# Schedule the refill a week before the alarm by default [MDT-PATIENT]; a parameter.
DEFAULT_REFILL_SAFETY_MARGIN_DAYS = Fraction(7)
# In-pump stability limit: no labeled figure found in the Lioresal or Gablofen labels.
# 180 days is the recommended maximum refill interval quoted in [NEUROMOD-2023];
# a hospital formulary (CHEO) quotes 11 weeks in an older SynchroMed. *unconfirmed*:
# a parameter, and callers may pass their own.
DEFAULT_STABILITY_LIMIT_DAYS = Fraction(180)
STABILITY_LIMIT_CONFIRMED = False

# Refill check: discrepancies greater than 2 mL should be evaluated [ASRA-2017].
DEFAULT_REFILL_DISCREPANCY_THRESHOLD_ML = Fraction(2)
# Reservoir sizes of the reference pumps: 20 or 40 mL [DEVICES, *unconfirmed*]; seed 002: 10 mL.
RESERVOIR_CAPACITIES_ML: tuple[Fraction, ...] = (Fraction(10), Fraction(20), Fraction(40))

# The pump's minimum flow: about 0.048 mL/day, the SynchroMed minimum rate [DEVICES,
# *unconfirmed*; the pump catalogue uses the same figure]. A prescribed daily dose whose
# flow at the chosen strength falls below it cannot be delivered: the strength must be
# lower (a prescribed dilution, itb.therapy.dilution).
DEFAULT_PUMP_MIN_FLOW_ML_PER_DAY = Fraction("0.048")

# --- Bridge bolus / catheter ----------------------------------------------------------

# Implanted catheter volume per cm: 0.0026 mL/cm for the Prometra intrathecal catheter
# [PROMETRA]. Other catheters differ (*unconfirmed* for Medtronic catheters), so this is
# only a default parameter. The pump tubing volume has no default: it must be given.
DEFAULT_CATHETER_VOLUME_ML_PER_CM = Fraction("0.0026")

# --- Battery [MDT-UK via DEVICES] -----------------------------------------------------

# After the elective replacement indicator (ERI) the pump runs on and stops after 90 days.
ERI_TO_END_OF_SERVICE_DAYS = 90
# Battery life is 7 years at most (automatic shut-off): 7 x 365 + 2 leap days.
MAX_SERVICE_LIFE_DAYS = 7 * 365 + 2
