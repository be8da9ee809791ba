"""The catalogue of patient-model constants, each with its source.

Every number the patient model uses lives here; the other modules take them as
defaults, so a caller can replace any of them. A figure marked *unconfirmed* is a
modelling choice or an unverified figure, kept as a parameter (docs/physiology.md
explains how each was chosen).

Source keys:
- [LABEL]    Lioresal Intrathecal prescribing information as summarised in
  ../shared/docs/devices.md "Intrathecal baclofen labeling" (PK figures, boxed warning,
  overdose signs, maintenance ranges, screening protocol, tolerance).
- [EJCP]     Eur J Clin Pharmacol, doi 10.1007/BF00265844 (4 patients, intrathecal bolus:
  CSF half-life 0.9-5 h, clearance 13-80 mL/h), via devices.md.
- [MCKENNA]  McKenna's Drug Handbook for Nursing & Midwifery 7e, baclofen: intrathecal
  onset 0.5-1 h, peak 4 h, duration 4-8 h.
- [PENN-KROIN] Penn & Kroin (via "Upper Motor Neurone Syndrome and Spasticity", Cambridge
  2009, ITB chapter): during the first few months the average daily dose rose from
  100-150 mcg to about 500 mcg.
- [SPAIN-2000] Neuromodulation 2000;3(4):175-82 (72 adults, spinal spasticity): tolerance
  during the first 12 months, mean dose 83 -> 270 mcg/day, stable afterwards.
- [NSWIKI]   neurosurgerywiki.com "Intrathecal baclofen withdrawal": mild signs (return of
  spasticity, pruritus), more significant (seizures, hallucinations), severe (rebound
  spasticity, rigidity, fever, reduced consciousness), "if untreated, the severe syndrome
  can progress over 24-72 hours to rhabdomyolysis ... and occasionally death".
- [SEED-001], [SEED-003], [SEED-004]: ../shared/seeds/ (side effects, withdrawal and
  overdose signs).
- [DEVICES]  ../shared/docs/devices.md (pocket fill: "overdose within hours").
"""

from __future__ import annotations

import math

from itb.errors import InvalidInput


def parameter_in_range(name: str, value: float, low: float, high: float = math.inf, *,
                       low_open: bool = True) -> float:
    """`value` as a float if it is a finite number in (low, high] ([low, high] when not
    `low_open`); else InvalidInput naming the parameter and its range. Used by every
    patient-model parameter set, so a NaN or a bool never enters the model."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value > high or value < low or (low_open and value == low):
        bounds = [f"{'more than' if low_open else 'at least'} {low}"] if math.isfinite(low) else []
        bounds += [f"at most {high}"] if math.isfinite(high) else []
        raise InvalidInput(name, value, " ".join(["a finite number", " and ".join(bounds)]).strip())
    return float(value)


Stages = tuple[float, float, float, float]


def by_stage(table: dict[int, float]) -> Stages:
    """Stages 1 to 4 of a {stage: figure} table, in order (a model's per-stage thresholds)."""
    return (table[1], table[2], table[3], table[4])

# --- CSF pharmacokinetics (typical patient) ----------------------------------------

# [LABEL] CSF clearance ~30 mL/h after a lumbar bolus; approximates CSF turnover.
TYPICAL_CLEARANCE_ML_PER_H = 30.0
# [LABEL] CSF elimination half-life ~1.51 h over the first 4 h after a 50-100 mcg bolus.
TYPICAL_HALF_LIFE_H = 1.51
# [LABEL] lumbar:cisternal concentration ratio ~4:1 during continuous infusion.
TYPICAL_LUMBAR_TO_CISTERNAL_RATIO = 4.0
# The half-life figure is a log-linear fit of lumbar CSF concentrations over the first 4 h
# [LABEL]; we fit at 15-minute samples from 0.25 h to 4 h (*unconfirmed*: the study's
# sampling times are not in the label).
HALF_LIFE_FIT_WINDOW_H = (0.25, 4.0)
HALF_LIFE_FIT_STEP_H = 0.25
# Share of the steady-state clearance that leaves through the cisternal (cranial) route.
# With the 4:1 ratio this gives a cisternal clearance of 24 mL/h, close to CSF production
# (about 0.35 mL/min) that is absorbed cranially. *unconfirmed* modelling choice.
CISTERNAL_CLEARANCE_SHARE = 0.2
# Cisternal compartment volume as a multiple of the lumbar one (*unconfirmed*: spinal and
# cranial subarachnoid CSF are of similar size, about 70 mL each in adults).
CISTERNAL_TO_LUMBAR_VOLUME = 1.0
# Effect-site (spinal cord tissue) equilibration rate, solved so that the effect of a lumbar
# bolus peaks ~4 h after dosing in the typical patient ([MCKENNA] peak 4 h). It also makes
# the effect of a continuous infusion reach 95 % of steady state in about a day, which is
# how this model matches "steady state in 1 to 2 days" [LABEL] (see docs/physiology.md).
TYPICAL_EFFECT_SITE_RATE_PER_H = 0.119
# Dependence (GABA-B adaptation) follows the effect-site concentration with this time
# constant. *unconfirmed* modelling choice: it sets how long withdrawal lasts untreated
# (about 10 days) and how fast a patient adapts to a lower dose.
DEPENDENCE_TIME_CONSTANT_H = 7 * 24.0

# --- Population variability -------------------------------------------------------

# [EJCP] half-life 0.9-5 h and clearance 13-80 mL/h in 4 patients; [LABEL] ratio range
# 1.8:1-8.7:1. Drawn log-normal around the labeled typical values and truncated (by
# redrawing, never clamping) to these ranges. The spreads are *unconfirmed* choices that
# put the ranges at about the 3rd and 97th percentiles.
CLEARANCE_RANGE_ML_PER_H = (13.0, 80.0)
CLEARANCE_LOG_SD = 0.45
HALF_LIFE_RANGE_H = (0.9, 5.0)
HALF_LIFE_LOG_SD = 0.45
RATIO_RANGE = (1.8, 8.7)
RATIO_LOG_SD = 0.4
EFFECT_SITE_RATE_LOG_SD = 0.2  # *unconfirmed*

# --- Systemic (plasma) path: pocket fill and CSF outflow ----------------------------

# Baclofen volume of distribution ~0.7 L/kg and plasma half-life ~3.5 h (oral labeling
# gives 2.5-4 h; *unconfirmed* here). Subcutaneous absorption half-life 30 min
# (*unconfirmed* modelling choice that makes a pocket fill reach the plasma "within
# hours" [DEVICES]).
SYSTEMIC_VOLUME_ML_PER_KG = 700.0
SYSTEMIC_HALF_LIFE_H = 3.5
POCKET_ABSORPTION_HALF_LIFE_H = 0.5
TYPICAL_WEIGHT_KG = 70.0

# --- Spasticity response ----------------------------------------------------------

# Modified Ashworth Scale 0-4; candidates have severe spasticity (MAS ~3-4) [SEED-000..004].
TYPICAL_BASELINE_ASHWORTH = 3.5
BASELINE_ASHWORTH_RANGE = (2.5, 4.0)
# Spontaneous spasms per hour without treatment (*unconfirmed* typical figure).
TYPICAL_BASELINE_SPASMS_PER_HOUR = 4.0
SPASMS_LOG_SD = 0.5
# Emax model: effect = Emax * Ce^h / (Ce^h + EC50^h).
HILL_COEFFICIENT = 2.0
MAX_EFFECT = 1.0
# Sensitivity before tolerance: a 50 mcg screening bolus drops MAS by ~1.25 points for about
# 5 h (positive response [LABEL]; [MCKENNA] duration 4-8 h), and twice the screening dose
# per day (the labeled starting dose) gives a partial response. Calibrated, see docs.
TYPICAL_EC50_INITIAL_MCG_PER_ML = 0.162
EC50_LOG_SD = 0.25
# Tolerance: EC50 rises to this multiple over the first months, then plateaus
# ([PENN-KROIN] dose 100-150 -> ~500 mcg/day; [SPAIN-2000] 83 -> 270 mcg/day in 12 months;
# [LABEL] "doses usually rise over the first year, then plateau").
TYPICAL_TOLERANCE_MULTIPLIER = 4.0
TOLERANCE_LOG_SD = 0.2
TOLERANCE_MULTIPLIER_RANGE = (1.2, 8.0)
TOLERANCE_TIME_CONSTANT_DAYS = 90.0  # ~98 % of the plateau after 1 year
# [LABEL] about 5 % of patients per year become refractory to rising doses.
REFRACTORY_RATE_PER_YEAR = -math.log(1 - 0.05)
# Once refractory, the maximum effect fades with this time constant (*unconfirmed*).
REFRACTORY_FADE_DAYS = 90.0
# A screening bolus is positive when the Ashworth score drops by at least this much ([LABEL]
# "a significant decrease in muscle tone or spasm frequency"; one point is a common
# criterion, *unconfirmed*).
POSITIVE_SCREENING_ASHWORTH_DROP = 1.0
# "Well controlled" for calibration tests: MAS reduced by at least half.
WELL_CONTROLLED_EFFECT = 0.5

# Daily maintenance dose ranges by origin [LABEL] (most patients; full reported range).
MAINTENANCE_MCG_PER_DAY = {
    "spinal": ((300, 800), (12, 2003)),
    "cerebral": ((90, 703), (22, 1400)),
    "child": ((24, 1199), (24, 1199)),  # under 12: mean ~274 mcg/day, range 24-1,199
}
# Sensitivity relative to spinal origin, chosen so the median dose need falls inside each
# labeled range (cerebral 90-703, child mean 274): *unconfirmed* calibration.
ORIGIN_EC50_FACTOR = {"spinal": 1.0, "cerebral": 0.6, "child": 0.55}
ORIGIN_WEIGHT_KG = {"spinal": (70.0, 0.2), "cerebral": (65.0, 0.2), "child": (25.0, 0.35)}

# --- Withdrawal ---------------------------------------------------------------------

# The patient is "under the needed concentration" when the effect-site concentration
# falls below this share of the level they are adapted to (*unconfirmed*).
WITHDRAWAL_NEED_SHARE = 0.5
# Deeper stages need a deeper loss: stage caps by Ce / adapted level (*unconfirmed*).
WITHDRAWAL_DEPTH_FOR_STAGE = {1: 0.5, 2: 0.5, 3: 0.25, 4: 0.1}
# Minimum adaptation (as a share of the initial EC50) for withdrawal to occur at all:
# a single screening bolus does not create dependence (*unconfirmed*).
WITHDRAWAL_MIN_DEPENDENCE_SHARE = 0.5
# Severity grows with the dose and duration of therapy [NSWIKI]: the severe stages (3-4)
# need an adaptation of at least this share of the initial EC50 (*unconfirmed*), which a
# typical patient passes at about 115 mcg/day.
WITHDRAWAL_SEVERE_MIN_DEPENDENCE_SHARE = 1.0
# Stage 4 (life-threatening) needs an adaptation of at least this share of the initial EC50
# (a typical patient passes it at about 230 mcg/day): severity grows with the dose
# [NSWIKI]. *unconfirmed*.
WITHDRAWAL_LIFE_THREATENING_MIN_DEPENDENCE_SHARE = 2.0
# Across a population most interruptions give mild or moderate withdrawal and severe
# withdrawal is the minority (issue 16.2; [LABEL] boxed warning: "in rare cases" advanced
# to rhabdomyolysis and death). The worst stage a patient can reach is drawn with these
# probabilities (*unconfirmed* shares), and the pace of progression varies log-normally
# around the typical timing (log-sd *unconfirmed*). The typical patient keeps stage 4 and
# the typical timing, so single-patient examples show the whole syndrome.
WITHDRAWAL_MAX_STAGE_PROBABILITIES = {1: 0.35, 2: 0.40, 3: 0.15, 4: 0.10}
WITHDRAWAL_PACE_LOG_SD = 0.3
# Hours spent under the needed concentration before each stage. Early signs appear within
# hours of the loss ([LABEL] boxed warning early signs); the severe syndrome progresses
# over 24-72 h to rhabdomyolysis [NSWIKI]. With the effect-site lag (~7 h to cross the
# need line after an abrupt stop) the stages arrive ~8.5, ~20.5, ~32.5 and ~56.5 h after the stop.
WITHDRAWAL_STAGE_HOURS = {1: 0.0, 2: 12.0, 3: 24.0, 4: 48.0}

# --- Overdose ---------------------------------------------------------------------------

# Spinal/CNS overdose index: effect-site concentration over the patient's current EC50
# (tolerance-adjusted, and tolerance fades without drug: see TOLERANCE_HOLD_*). A typical
# patient on a well-titrated dose sits at ~1 (MAS halved). The stages order the labeled
# progression (drowsiness -> hypotonia, hypotension, hypothermia -> respiratory depression,
# seizures -> coma) [LABEL][SEED-003/004]. The thresholds are *unconfirmed*; they were set
# (issue 16.5) so that the gross errors the field reports reach the labeled severe signs in
# a tolerant patient: a tenfold programming error reaches coma (index ~9 within a day), a
# fourfold wrong strength respiratory depression (index ~3.8 within a day), while a doubled
# dose gives only the common side effects (index 2.0) and a 100 mcg screening bolus in a
# new patient none (index ~1.4).
SIDE_EFFECT_INDEX = 1.8
OVERDOSE_INDEX_FOR_STAGE = {1: 2.2, 2: 2.8, 3: 3.6, 4: 6.0}
# "Loose muscles" (seed 001) is what the patient feels: muscle tone (Ashworth) at least this
# share below the tone they are used to (the tone at the level they are adapted to), so a
# doubled dose is felt within a day while a labeled 10-30 % titration step is not.
# *unconfirmed* criterion.
LOOSE_MUSCLES_TONE_DROP_SHARE = 0.4
# Systemic overdose (pocket fill): plasma thresholds in mcg/mL, all above the usual oral
# therapy range (roughly 0.1-0.4 mcg/mL, so a patient on oral baclofen is not "overdosed").
# From oral overdose series: symptoms from ingestions of ~150 mg, coma, seizures and
# respiratory depression from >= 200 mg (Leung, Whyte, Isbister, Emerg Med Australas
# 2006;18(1):77-82; fpnotebook "baclofen poisoning": symptomatic > 150 mg, serious > 300 mg).
# With complete oral absorption, a 3.5 h half-life and 0.7 L/kg (70 kg) the peak is ~0.74
# of dose/volume: 150 mg ~2.2 mcg/mL, 200 mg ~3.0 mcg/mL. Stage 1 just above the oral range
# (0.5) and stage 2 between are *unconfirmed* interpolations.
PLASMA_MCG_PER_ML_FOR_STAGE = {1: 0.5, 2: 1.1, 3: 2.2, 4: 3.0}

# --- Tolerance without drug (issue 16.4) ----------------------------------------------

# Tolerance fades without drug: the tolerance reached by calendar time is held in full
# while the adapted level is at least this share of the full-tolerance EC50 (a patient on
# a maintenance dose that halves MAS is adapted to that EC50) and shrinks in proportion
# below it, so it fades with the dependence time constant (7 days) in a drug holiday and
# comes back over days on restart. Case series report overdose when the old rate is
# restarted after a drug holiday (issue 16.4); drug holidays are used clinically to
# reverse tolerance. *unconfirmed* share.
TOLERANCE_HOLD_DEPENDENCE_SHARE = 0.9

# --- Renal function (issue 16.6) ------------------------------------------------------

# Baclofen outside the CSF is cleared mostly unchanged by the kidneys; about 15 % is
# metabolised by the liver (litfl.com "Baclofen toxicity"; oral labeling: patients with
# renal impairment can show overdose on low oral doses, MIMS baclofen overdosage). The
# systemic elimination rate is scaled by (0.15 + 0.85 x renal function), renal function 1
# = normal, 0.1 = severe impairment.
NON_RENAL_SHARE_OF_SYSTEMIC_CLEARANCE = 0.15
TYPICAL_RENAL_FUNCTION = 1.0
