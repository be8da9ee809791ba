"""From a scenario's program table to the pump's `Program`, and the therapy rules around it.

The clinician enters a program in mcg/day; the pump validates it against its model
and the concentration in the reservoir (whole nL/day rates, flow range, limits). The
dose changes between programs are checked against the labeled titration steps with
`itb.therapy.dosing.check_titration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from itb.pump.catalogue import PumpModel
from itb.pump.programs import (
    ContinuousTherapy,
    FlexStep,
    FlexTherapy,
    HardLimits,
    Program,
    Therapy,
    compile_therapy,
    validate_program,
)
from itb.pump.records import to_datetime
from itb.sim.schema import PatientSection, ProgramSpec
from itb.therapy.catalogue import AgeGroup, Origin, Phase
from itb.therapy.dosing import age_group_for, check_titration
from itb.therapy.flex import MINUTES_PER_DAY, FlexSchedule, constant_schedule, make_schedule
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY

# Default maximum daily dose when a program does not state one: the largest dose the
# program delivers in any 24 h, plus a quarter, rounded up to a whole mcg (the same
# headroom `itb pump simulate` uses by default). A clinician's choice, stated in docs/sim.md.
DEFAULT_LIMIT_HEADROOM = Fraction(5, 4)


@dataclass(frozen=True)
class BuiltProgram:
    """A scenario program, validated for a pump model at a concentration."""

    spec: ProgramSpec
    program: Program
    concentration_mcg_per_ml: Fraction
    daily_dose_mcg: Fraction  # mean dose over a day, exact
    entered_s: int  # when the clinician entered it (sets a zone's flex-clock offset)
    utc_offset_minutes: int

    def refill_schedule(self) -> FlexSchedule:
        """The program as itb.therapy's schedule, for refill planning (`plan_refill`).

        The pump's flex clock is a fixed UTC offset, so the same schedule written in UTC
        (each local start moved by the offset) is exactly equivalent; in UTC the planner
        can also consume whole days at once.
        """
        spec = self.spec
        if spec.type == "simple" or spec.steps is None:
            return constant_schedule(self.daily_dose_mcg)
        offset = self.utc_offset_minutes
        steps = sorted(((step.start_s // 60 - offset) % MINUTES_PER_DAY, step.dose_mcg_per_day)
                       for step in spec.steps)
        return make_schedule([(f"{m // 60:02d}:{m % 60:02d}", dose) for m, dose in steps],
                             "UTC", "program")


def _therapy(spec: ProgramSpec, utc_offset_minutes: int) -> Therapy:
    if spec.type == "simple":
        assert spec.daily_dose_mcg is not None
        return ContinuousTherapy(spec.daily_dose_mcg)
    assert spec.steps is not None
    starts = [step.start_s for step in spec.steps]
    steps = []
    for i, step in enumerate(spec.steps):
        # A step lasts until the next starts; the last wraps past midnight to the first.
        end = starts[i + 1] if i + 1 < len(starts) else starts[0] + SECONDS_PER_DAY
        steps.append(FlexStep(step.start_s, end - step.start_s, step.dose_mcg_per_day))
    return FlexTherapy(tuple(steps), "daily", utc_offset_minutes)


def build_program(spec: ProgramSpec, model: PumpModel, concentration_mcg_per_ml: Fraction,
                  entered_s: int) -> BuiltProgram:
    """The pump `Program` for `spec` entered at `entered_s` (UTC seconds); raises the pump's
    InvalidProgram if it does not fit the model at the concentration."""
    offset = spec.utc_offset_minutes_at(entered_s)
    therapy = _therapy(spec, offset)
    schedule = compile_therapy(therapy, model, concentration_mcg_per_ml, spec.max_bolus_mcg)
    daily = schedule.daily_total_nl() * concentration_mcg_per_ml / NL_PER_ML
    limit = spec.max_daily_dose_mcg
    if limit is None:
        planned = schedule.max_window_nl * concentration_mcg_per_ml / NL_PER_ML
        limit = Fraction(math.ceil(planned * DEFAULT_LIMIT_HEADROOM))
    program = Program(therapy, HardLimits(limit, spec.max_bolus_mcg))
    validate_program(program, model, concentration_mcg_per_ml)
    return BuiltProgram(spec, program, concentration_mcg_per_ml, daily, entered_s, offset)


def scaled_program(spec: ProgramSpec, percent: Fraction, concentration_mcg_per_ml: Fraction
                   ) -> ProgramSpec:
    """`spec` with every rate changed by `percent`, each rounded down to a whole nL/day at
    the concentration (the firmware's rate resolution; down, so never above the intent).
    A stated maximum daily dose is scaled too (rounded up to a whole mcg)."""
    factor = 1 + Fraction(percent) / 100

    def rate(dose: Fraction) -> Fraction:
        flow_nl = math.floor(dose * factor * NL_PER_ML / concentration_mcg_per_ml)
        return Fraction(flow_nl) * concentration_mcg_per_ml / NL_PER_ML

    limit = None if spec.max_daily_dose_mcg is None else Fraction(
        math.ceil(spec.max_daily_dose_mcg * factor))
    if spec.type == "simple":
        assert spec.daily_dose_mcg is not None
        return spec.model_copy(update={"daily_dose_mcg": rate(spec.daily_dose_mcg),
                                       "max_daily_dose_mcg": limit})
    assert spec.steps is not None
    steps = [step.model_copy(update={"dose_mcg_per_day": rate(step.dose_mcg_per_day)})
             for step in spec.steps]
    return spec.model_copy(update={"steps": steps, "max_daily_dose_mcg": limit})


def spasticity_origin(patient: PatientSection) -> tuple[Origin, AgeGroup]:
    """The labeled titration rule that applies to this patient.

    The patient model's "child" origin is a child (under 12) for the dosing rules; the
    label's pediatric step does not depend on origin, so cerebral origin (the commonest
    in children, cerebral palsy) is used for the rest of the rule.
    """
    if patient.origin == "child":
        return Origin.CEREBRAL, AgeGroup.CHILD
    group = AgeGroup.ADULT if patient.age_years is None else age_group_for(patient.age_years)
    return Origin(patient.origin), group


def check_dose_change(current_mcg_per_day: Fraction, proposed_mcg_per_day: Fraction,
                      patient: PatientSection, phase: str, last_change_s: int, now_s: int,
                      override_reason: str | None) -> None:
    """Refuse a daily-dose change outside the labeled steps (itb.therapy); equal doses pass
    (a new flex shape with the same daily dose is not a titration)."""
    if proposed_mcg_per_day == current_mcg_per_day:
        return
    origin, group = spasticity_origin(patient)
    check_titration(current_mcg_per_day=current_mcg_per_day,
                    proposed_mcg_per_day=proposed_mcg_per_day, origin=origin, age_group=group,
                    phase=Phase(phase),
                    last_change_at=to_datetime(last_change_s),
                    now=to_datetime(now_s), override_reason=override_reason)
