"""The screening trial, simulated: the patient model responds, itb.therapy decides.

Each test bolus goes into the simulated patient's lumbar CSF; the team's assessment
is read from the patient model (Modified Ashworth grade and Penn spasm frequency score
before the bolus and at the best moment of the observation), and the labeled protocol
in `itb.therapy.screening.evaluate_trial` decides: escalate 24 h later, candidate (with
the initial pump dose), or not a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import numpy as np

from itb.physiology import DrugDelivery, Patient, PatientState, PatientTrace, Route
from itb.sim.schema import ScreeningSection
from itb.therapy.catalogue import SCREENING_DOSES_MCG, SCREENING_INTERVAL_H
from itb.therapy.screening import (
    ASHWORTH_GRADES,
    PositiveResponseCriterion,
    ScreeningBolus,
    SpasticityScore,
    TrialDecision,
    TrialRecord,
    evaluate_trial,
    screening_bolus,
)

SAMPLE_S = 300  # the team's assessments are read from the model every 5 minutes
# How long after a bolus its effect is followed (the next bolus comes 24 h later, label).
FOLLOW_S = SCREENING_INTERVAL_H * 3600

# Penn Spasm Frequency Scale: 4 = more than 10 spasms an hour, 3 = more than one an hour,
# 2 = less than one full spasm an hour, 1 = mild spasms on stimulation only, 0 = none.
# The lower two cut-offs turn the model's continuous rate into the scale's words
# (*unconfirmed* modelling choice).
PENN_CUTOFFS_PER_HOUR = (0.01, 0.1, 1.0, 10.0)


def ashworth_grade(score: float) -> str:
    """The Modified Ashworth grade nearest a continuous score.

    A score half-way between two grades gets the better (lower) one, so that a change of
    one grade always means a change of the continuous score, not a rounding artefact.
    """
    best = "0"
    best_gap = None
    for grade, points in ASHWORTH_GRADES.items():  # in increasing order of points
        gap = abs(float(points) - score)
        if best_gap is None or gap < best_gap:
            best, best_gap = grade, gap
    return best


def penn_score(spasms_per_hour: float) -> int:
    return int(np.searchsorted(np.asarray(PENN_CUTOFFS_PER_HOUR), spasms_per_hour, side="left"))


@dataclass(frozen=True)
class ScreeningOutcome:
    """The trial as the team recorded it, plus the model's view for the summary."""

    record: TrialRecord
    traces: tuple[PatientTrace, ...]
    bolus_times_s: tuple[int, ...]
    notes: tuple[str, ...]

    @property
    def candidate(self) -> bool:
        return self.record.decision is TrialDecision.CANDIDATE

    @property
    def initial_daily_dose_mcg(self) -> Fraction | None:
        return None if self.record.initial_dose is None else self.record.initial_dose.daily_dose_mcg


def assessed_ashworth(before_grade: str, drop: float) -> str:
    """The grade an examiner records after a bolus, from the baseline grade and the true
    fall of the continuous score: the best grade still at or above (baseline - fall).

    Rounding towards the worse grade means a fall of one grade is recorded only when
    the score has really fallen by that much, never by a rounding of a small change.
    """
    target = float(ASHWORTH_GRADES[before_grade]) - drop
    for grade, points in ASHWORTH_GRADES.items():  # in increasing order of points
        if float(points) >= target - 1e-9:
            return grade
    return "4"


def assessed_penn(before_score: int, before_rate: float, rate: float) -> int:
    """The Penn score after a bolus: one level lower for each tenfold fall of the spasm
    rate (the scale's levels are about tenfold bands), never above the baseline score."""
    if rate <= 0:
        return 0
    if before_rate <= 0:
        return before_score
    levels = int(np.floor(np.log10(before_rate / rate) + 1e-9)) if rate < before_rate else 0
    return max(0, before_score - levels)


def run_screening(patient: Patient, section: ScreeningSection, implant_s: int,
                  criterion: PositiveResponseCriterion | None = None) -> ScreeningOutcome:
    """Give the boluses (protocol-driven unless `doses_mcg` lists them), decide after each."""
    criterion = criterion or PositiveResponseCriterion()
    planned = section.doses_mcg or list(SCREENING_DOSES_MCG)
    start = section.start
    boluses: list[ScreeningBolus] = []
    traces: list[PatientTrace] = []
    times: list[int] = []
    notes: list[str] = []
    record: TrialRecord | None = None
    for index, dose in enumerate(planned):
        given = start + timedelta(hours=index * SCREENING_INTERVAL_H)
        given_s = int(given.timestamp())
        if given_s >= implant_s:
            notes.append(f"bolus {index + 1} ({dose} mcg) would come after the implant date; "
                         "the trial stops")
            break
        if patient.now < given:
            traces.append(patient.advance(given, sample_every_s=SAMPLE_S))
        before_state = patient.state_at(given)
        before = SpasticityScore(ashworth_grade(before_state.ashworth),
                                 penn_score(before_state.spasms_per_hour))

        def assessed(trace: PatientTrace, i: int, before: SpasticityScore = before,
                     state: PatientState = before_state) -> SpasticityScore:
            return SpasticityScore(
                assessed_ashworth(before.ashworth, state.ashworth - float(trace.ashworth[i])),
                assessed_penn(before.spasm_frequency, state.spasms_per_hour,
                              float(trace.spasms_per_hour[i])))

        follow_end = min(given_s + FOLLOW_S, implant_s)
        # The barbotage takes a minute, a blink against the 1.5 h CSF half-life: the bolus
        # is put in at once (a timed delivery would also count as the start of pump therapy
        # for the tolerance clock, which a test dose is not).
        trace = patient.advance(datetime.fromtimestamp(follow_end, tz=UTC),
                                [DrugDelivery(given, given, dose, Route.CSF)],
                                sample_every_s=SAMPLE_S)
        traces.append(trace)
        times.append(given_s)
        offset = (given - trace.start).total_seconds()
        rel = trace.t_s - offset
        observe_s = float(section.observe_h * 3600)
        window = (rel >= 0) & (rel <= observe_s)
        if not np.any(window):
            raise AssertionError("no samples in the observation window")  # grid is 5 min
        idx = np.flatnonzero(window)
        best = int(idx[np.argmin(trace.ashworth[idx])])
        after = assessed(trace, best)
        positive = criterion.is_positive(before, after)
        effect_h: Fraction | None = None
        if positive:
            # The effect lasts while the assessed scores stay significantly better.
            better = [criterion.is_positive(before, assessed(trace, i))
                      for i in range(len(trace)) if rel[i] >= 0]
            effect_h = Fraction(sum(better) * SAMPLE_S, 3600)
        boluses.append(screening_bolus(
            dose_mcg=dose, given_at=given, injection_s=section.injection_s,
            observed_h=section.observe_h, before=before, after=after,
            effect_duration_h=effect_h))
        record = evaluate_trial(boluses, criterion)
        if record.decision is not TrialDecision.ESCALATE:
            if index + 1 < len(planned) and section.doses_mcg is not None:
                notes.append("the remaining listed doses were not given: "
                             f"{record.decision.value}")
            break
    if record is None:
        raise AssertionError("the trial gave no bolus")  # validation puts the start first
    return ScreeningOutcome(record, tuple(traces), tuple(times), tuple(notes))
