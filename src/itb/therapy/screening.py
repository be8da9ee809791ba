"""The screening trial (test bolus) and the candidate checks.

Labeled protocol (catalogue [LIO-LABEL]): 50 mcg in 1 mL of the 50 mcg/mL screening
strength by barbotage over at least 1 minute, then observe 4 to 8 hours. If the
response is inadequate, 75 mcg (1.5 mL) 24 hours later; if still inadequate, 100 mcg
(2 mL) 24 hours after that. A patient who does not respond to 100 mcg is not a
candidate for an implanted pump.

A positive response is "a significant decrease in muscle tone or spasm frequency".
The thresholds are parameters (`PositiveResponseCriterion`, *unconfirmed*, see catalogue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.dosing import InitialDose, initial_daily_dose
from itb.therapy.errors import NotACandidate, ScreeningProtocolError
from itb.therapy.units import ExactLike, display, exact, hours_after, in_range, require_utc

# Modified Ashworth Scale grades and the numbers used to compare them (1+ counts as 1.5).
ASHWORTH_GRADES: dict[str, Fraction] = {
    "0": Fraction(0), "1": Fraction(1), "1+": Fraction(3, 2), "2": Fraction(2),
    "3": Fraction(3), "4": Fraction(4),
}
_SCREENING_CONC = catalogue.SCREENING_CONCENTRATION_MCG_PER_ML
PENN_SPASM_FREQUENCY_MAX = 4  # Penn Spasm Frequency Scale: 0 (no spasms) to 4 (>10 per hour)


@dataclass(frozen=True)
class SpasticityScore:
    """Modified Ashworth grade and Penn spasm frequency score at one assessment."""

    ashworth: str
    spasm_frequency: int

    def __post_init__(self) -> None:
        if self.ashworth not in ASHWORTH_GRADES:
            raise InvalidInput("ashworth", self.ashworth,
                               "a Modified Ashworth grade: " + ", ".join(ASHWORTH_GRADES))
        if isinstance(self.spasm_frequency, bool) or not isinstance(self.spasm_frequency, int) \
                or not 0 <= self.spasm_frequency <= PENN_SPASM_FREQUENCY_MAX:
            raise InvalidInput("spasm_frequency", self.spasm_frequency,
                               "a Penn Spasm Frequency score, a whole number 0 to 4")

    @property
    def ashworth_points(self) -> Fraction:
        return ASHWORTH_GRADES[self.ashworth]


@dataclass(frozen=True)
class PositiveResponseCriterion:
    """What counts as a significant decrease (either one is enough)."""

    min_ashworth_decrease: Fraction = catalogue.POSITIVE_RESPONSE_MIN_ASHWORTH_DECREASE
    min_spasm_frequency_decrease: int = catalogue.POSITIVE_RESPONSE_MIN_SPASM_FREQUENCY_DECREASE

    def __post_init__(self) -> None:
        top = max(ASHWORTH_GRADES.values())
        if not isinstance(self.min_ashworth_decrease, Fraction) \
                or not 0 < self.min_ashworth_decrease <= top:
            raise InvalidInput("min_ashworth_decrease", self.min_ashworth_decrease,
                               f"an exact number of points more than 0 and at most {top} "
                               "(the whole Modified Ashworth Scale)")
        if isinstance(self.min_spasm_frequency_decrease, bool) \
                or not isinstance(self.min_spasm_frequency_decrease, int) \
                or not 1 <= self.min_spasm_frequency_decrease <= PENN_SPASM_FREQUENCY_MAX:
            raise InvalidInput("min_spasm_frequency_decrease", self.min_spasm_frequency_decrease,
                               "a whole number 1 to 4")

    def is_positive(self, before: SpasticityScore, after: SpasticityScore) -> bool:
        tone_fall = before.ashworth_points - after.ashworth_points
        spasm_fall = before.spasm_frequency - after.spasm_frequency
        return (tone_fall >= self.min_ashworth_decrease
                or spasm_fall >= self.min_spasm_frequency_decrease)


@dataclass(frozen=True)
class ScreeningBolus:
    """One test bolus as given and observed."""

    dose_mcg: Fraction
    given_at: datetime
    injection_s: int  # how long the barbotage injection took
    observed_h: Fraction  # how long the patient was observed afterwards
    before: SpasticityScore
    after: SpasticityScore
    effect_duration_h: Fraction | None = None  # how long a positive effect lasted

    @property
    def volume_ml(self) -> Fraction:
        return self.dose_mcg / catalogue.SCREENING_CONCENTRATION_MCG_PER_ML


def screening_bolus(*, dose_mcg: ExactLike, given_at: datetime, injection_s: int,
                    observed_h: ExactLike, before: SpasticityScore, after: SpasticityScore,
                    effect_duration_h: ExactLike | None = None) -> ScreeningBolus:
    """A validated bolus record (exact numbers, UTC time)."""
    dose = exact("dose_mcg", dose_mcg)
    require_utc("given_at", given_at)
    # The next bolus may follow 24 h later: that instant must exist on the calendar.
    hours_after("given_at", given_at, catalogue.SCREENING_INTERVAL_H)
    if isinstance(injection_s, bool) or not isinstance(injection_s, int) or injection_s <= 0:
        raise InvalidInput("injection_s", injection_s, "a whole number of seconds, more than 0")
    observed = in_range("observed_h", observed_h, 0, 72, "h", low_inclusive=False)
    effect = None if effect_duration_h is None else in_range(
        "effect_duration_h", effect_duration_h, 0, 72, "h", low_inclusive=False)
    return ScreeningBolus(dose, given_at, injection_s, observed, before, after, effect)


class TrialDecision(StrEnum):
    CANDIDATE = "candidate"
    ESCALATE = "escalate"
    NOT_A_CANDIDATE = "not a candidate"


@dataclass(frozen=True)
class TrialRecord:
    """The boluses given, the decision and its reason."""

    boluses: tuple[ScreeningBolus, ...]
    responses: tuple[bool, ...]
    decision: TrialDecision
    reason: str
    next_dose_mcg: Fraction | None = None
    next_dose_volume_ml: Fraction | None = None
    next_dose_not_before: datetime | None = None
    positive_dose_mcg: Fraction | None = None
    initial_dose: InitialDose | None = None
    criterion: PositiveResponseCriterion = field(default_factory=PositiveResponseCriterion)


def screening_doses(small_child: bool = False) -> tuple[Fraction, ...]:
    """The labeled 50, 75, 100 mcg; for a very small child 25 mcg first (*unconfirmed*,
    catalogue.SMALL_CHILD_SCREENING_DOSE_MCG), then the same escalation."""
    if small_child:
        return (catalogue.SMALL_CHILD_SCREENING_DOSE_MCG, *catalogue.SCREENING_DOSES_MCG)
    return catalogue.SCREENING_DOSES_MCG


def evaluate_trial(boluses: Sequence[ScreeningBolus],
                   criterion: PositiveResponseCriterion | None = None,
                   small_child: bool = False) -> TrialRecord:
    """Check the boluses against the protocol and decide: candidate, escalate or not a candidate.

    Refuses (ScreeningProtocolError) a bolus of the wrong dose or order, a bolus after a
    positive response, an injection faster than 1 minute, an observation shorter than
    4 hours, or an escalation sooner than 24 hours after the previous bolus.
    """
    criterion = criterion or PositiveResponseCriterion()
    doses = screening_doses(small_child)
    sequence = ", ".join(display(d) for d in doses)
    if not boluses:
        raise ScreeningProtocolError("boluses", "none",
                                     f"one to {len(doses)} screening boluses ({sequence} mcg)")
    if len(boluses) > len(doses):
        raise ScreeningProtocolError("boluses", len(boluses),
                                     f"at most {len(doses)} boluses ({sequence} mcg)")
    responses: list[bool] = []
    for index, bolus in enumerate(boluses):
        key = f"boluses[{index}]"
        if index and responses[-1]:
            raise ScreeningProtocolError(key, f"{display(bolus.dose_mcg)} mcg",
                                         "no further bolus after a positive response")
        if bolus.dose_mcg != doses[index]:
            raise ScreeningProtocolError(f"{key}.dose_mcg", display(bolus.dose_mcg),
                                         f"{display(doses[index])} mcg (bolus {index + 1} of the "
                                         f"{sequence} mcg sequence)",
                                         "25 mcg first only for a very small child"
                                         if not small_child and index == 0
                                         and bolus.dose_mcg
                                         == catalogue.SMALL_CHILD_SCREENING_DOSE_MCG else None)
        if bolus.injection_s < catalogue.SCREENING_MIN_INJECTION_S:
            raise ScreeningProtocolError(f"{key}.injection_s", bolus.injection_s,
                                         "60 s or more (barbotage over at least 1 minute)")
        if bolus.observed_h < catalogue.SCREENING_OBSERVATION_MIN_H:
            raise ScreeningProtocolError(f"{key}.observed_h", display(bolus.observed_h),
                                         "4 h or more (observe for 4 to 8 hours)")
        if index:
            earliest = boluses[index - 1].given_at + timedelta(hours=catalogue.SCREENING_INTERVAL_H)
            if bolus.given_at < earliest:
                raise ScreeningProtocolError(f"{key}.given_at", bolus.given_at.isoformat(),
                                             f"{earliest.isoformat()} or later (24 h after the "
                                             "previous bolus)")
        positive = criterion.is_positive(bolus.before, bolus.after)
        if positive and bolus.effect_duration_h is None:
            raise ScreeningProtocolError(f"{key}.effect_duration_h", "missing",
                                         "how long the positive effect lasted, in hours",
                                         "the initial pump dose depends on it")
        responses.append(positive)
    last, last_index = boluses[-1], len(boluses) - 1
    if responses[-1]:
        assert last.effect_duration_h is not None
        initial = initial_daily_dose(last.dose_mcg, last.effect_duration_h,
                                     small_child=small_child)
        return TrialRecord(tuple(boluses), tuple(responses), TrialDecision.CANDIDATE,
                           f"positive response to {display(last.dose_mcg)} mcg "
                           f"(effect {display(last.effect_duration_h)} h); {initial.rule}",
                           positive_dose_mcg=last.dose_mcg, initial_dose=initial,
                           criterion=criterion)
    if last_index + 1 < len(doses):
        next_dose = doses[last_index + 1]
        return TrialRecord(tuple(boluses), tuple(responses), TrialDecision.ESCALATE,
                           f"no adequate response to {display(last.dose_mcg)} mcg: give "
                           f"{display(next_dose)} mcg 24 hours later",
                           next_dose_mcg=next_dose,
                           next_dose_volume_ml=next_dose / _SCREENING_CONC,
                           next_dose_not_before=last.given_at + timedelta(
                               hours=catalogue.SCREENING_INTERVAL_H),
                           criterion=criterion)
    return TrialRecord(tuple(boluses), tuple(responses), TrialDecision.NOT_A_CANDIDATE,
                       "no response to 100 mcg: not a candidate for an implanted pump (label)",
                       criterion=criterion)


# --- Candidate checks -------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateAssessment:
    eligible: bool
    unmet: tuple[str, ...]


def assess_candidate(*, body_weight_kg: ExactLike, severe_spasticity: bool,
                     oral_medication_inadequate: bool, age_years: ExactLike | None = None,
                     days_since_brain_injury: ExactLike | None = None) -> CandidateAssessment:
    """Candidate criteria: severe spasticity, not controlled by oral medication (or not
    tolerated), weight over 13.6 kg / 30 lb [domain.md, seeds 002-004]; optionally age
    4 years or more and at least one year after a traumatic brain injury [Gablofen label]."""
    weight = in_range("body_weight_kg", body_weight_kg, 0, 500, "kg", low_inclusive=False)
    for name, flag in (("severe_spasticity", severe_spasticity),
                       ("oral_medication_inadequate", oral_medication_inadequate)):
        if not isinstance(flag, bool):
            raise InvalidInput(name, flag, "true or false")
    unmet: list[str] = []
    if not severe_spasticity:
        unmet.append("spasticity is not severe")
    if not oral_medication_inadequate:
        unmet.append("oral medication has not been shown inadequate or intolerable")
    if weight <= catalogue.CANDIDATE_MIN_BODY_WEIGHT_KG:
        unmet.append(f"body weight {display(weight)} kg is not over 13.6 kg (30 lb)")
    if age_years is not None:
        age = in_range("age_years", age_years, 0, 130, "years")
        if age < catalogue.CANDIDATE_MIN_AGE_YEARS:
            unmet.append(f"age {display(age)} years is under 4 (Gablofen label)")
    if days_since_brain_injury is not None:
        days = in_range("days_since_brain_injury", days_since_brain_injury, 0, None, "days")
        if days < catalogue.TBI_MIN_WAIT_DAYS:
            unmet.append("less than one year since the traumatic brain injury")
    return CandidateAssessment(not unmet, tuple(unmet))


def require_candidate(**kwargs: object) -> CandidateAssessment:
    """`assess_candidate`, raising NotACandidate with every unmet criterion."""
    assessment = assess_candidate(**kwargs)  # type: ignore[arg-type]
    if not assessment.eligible:
        raise NotACandidate("candidate", "; ".join(assessment.unmet),
                            "every candidate criterion met")
    return assessment
