"""A dose change, previewed: the new program, its titration check and its alarm date.

Pure: it takes the current `PumpView`, the clinician's request and the patient's
facts, and computes with `itb.therapy` what the change means before anything is
sent. Where the patient's spasticity origin and age come from is explicit: the
clinician gives them on the command line (`--origin`, `--age-years`), because the
pump stores no patient facts and the programmer keeps none (the clinic's records
will supply them when the clinic service exists).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from itb.errors import InvalidInput
from itb.programmer import schedule as sched
from itb.programmer.errors import OverrideNeeded
from itb.programmer.view import Projection, PumpView, bolus_and_stroke, project_reservoir
from itb.telemetry.protocol.commands import HardLimitsSpec, ProgramConfirmation, ProgramSpec
from itb.therapy.catalogue import (
    MAINTENANCE,
    AgeGroup,
    Origin,
    PediatricRule,
    Phase,
)
from itb.therapy.dosing import (
    TitrationDecision,
    age_group_for,
    assess_titration,
)
from itb.therapy.errors import OverrideRequired, TitrationLimitExceeded, TitrationTooSoon
from itb.therapy.flex import FlexSchedule
from itb.therapy.guardrails import check_override_reason
from itb.therapy.units import display, in_range

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class PatientFacts:
    """What the titration rules need to know about the patient, given by the clinician."""

    origin: Origin
    age_years: Fraction
    phase: Phase = Phase.TITRATION
    pediatric_rule: PediatricRule = PediatricRule.FIVE_TO_FIFTEEN

    @property
    def age_group(self) -> AgeGroup:
        return age_group_for(self.age_years)

    def describe(self) -> str:
        return (f"{self.origin.value} origin, {display(self.age_years)} years "
                f"({self.age_group.value}), {self.phase.value} phase")


def _choice(field: str, value: str, enum: type[E]) -> E:
    try:
        return enum(value)
    except ValueError:
        raise InvalidInput(field, value, "one of: " + ", ".join(m.value for m in enum)) from None


def patient_facts(origin: str, age_years: str, phase: str = "titration",
                  pediatric_rule: str = "5-15") -> PatientFacts:
    """Validated patient facts from command-line text."""
    return PatientFacts(_choice("origin", origin, Origin),
                        in_range("age_years", age_years, 0, 130, "years"),
                        _choice("phase", phase, Phase),
                        _choice("pediatric_rule", pediatric_rule, PediatricRule))


# ---- titration review ------------------------------------------------------------------------

WITHIN = "within the titration rules"
SAME_TOTAL = "same daily total (a redistribution, not a titration step)"
NEEDS_OVERRIDE = "beyond the titration rules: an override with a reason is needed"
OVERRIDDEN = "beyond the titration rules, overridden by the clinician"
NOT_CHECKED = "not checked: the pump has no current program to compare with"


@dataclass(frozen=True)
class TitrationReview:
    current_mcg_per_day: Fraction | None
    proposed_mcg_per_day: Fraction
    status: str
    rule: str
    allowed_low_mcg_per_day: Fraction | None
    allowed_high_mcg_per_day: Fraction | None
    violations: tuple[str, ...]
    override_reason: str | None
    decision: TitrationDecision | None
    # Set when the hard limit, not the dose, is what needs the override: (field, value).
    refused_setting: tuple[str, str] | None = None
    notes: tuple[str, ...] = ()
    large_decrease: bool = False  # a cut beyond the labeled decrease step: confirm it
    withdrawal_warning: str | None = None
    next_increase_at: datetime | None = None  # set when the increase is too soon

    @property
    def change_mcg_per_day(self) -> Fraction | None:
        if self.current_mcg_per_day is None:
            return None
        return self.proposed_mcg_per_day - self.current_mcg_per_day

    @property
    def change_percent(self) -> Fraction | None:
        if not self.current_mcg_per_day:
            return None
        return (self.proposed_mcg_per_day - self.current_mcg_per_day) * 100 \
            / self.current_mcg_per_day

    @property
    def needs_override(self) -> bool:
        return self.status == NEEDS_OVERRIDE

    def refusal(self) -> OverrideNeeded:
        if self.refused_setting is not None:
            field, value = self.refused_setting
            return OverrideNeeded(field, value, self.rule, self.violations)
        if self.next_increase_at is not None:
            # The real reason first (issue 9.8): the timing, not the dose, is what is refused.
            when = self.next_increase_at.isoformat()
            return OverrideNeeded(
                "increase", f"{display(self.proposed_mcg_per_day)} mcg/day now",
                f"at {when} or later", self.violations,
                next_step=f"Wait until {when} (pump time) for the next increase; a decrease "
                          "is allowed at any time. For a clinical need now, give "
                          "--override-reason.")
        low, high = self.allowed_low_mcg_per_day, self.allowed_high_mcg_per_day
        allowed = self.rule if low is None or high is None else \
            f"more than {display(low)} up to {display(high)} mcg/day ({self.rule})"
        return OverrideNeeded("daily dose", f"{display(self.proposed_mcg_per_day)} mcg/day",
                              allowed, self.violations)


def review_titration(*, current_mcg_per_day: Fraction | None, proposed_mcg_per_day: Fraction,
                     patient: PatientFacts, last_change_at: datetime | None, now: datetime,
                     override_reason: str | None) -> TitrationReview:
    """Check a proposed daily dose against the labeled titration rules (`itb.therapy.dosing`).

    Every rule the change breaks is listed (too soon after the last change, beyond the
    step, outside the usual maintenance range). Breaking one needs an override reason;
    with a reason the change may go ahead and the reason goes into the session record.
    """
    check_override_reason(override_reason)
    reason = override_reason.strip() if override_reason else None
    if current_mcg_per_day is None or current_mcg_per_day <= 0:
        # No program to step from (a new pump, or one in memory error after its program was
        # lost): the step rules cannot apply, but the labeled usual maintenance range still
        # does (itb.therapy.dosing: a dose above it needs an override with a reason;
        # catalogue.MAINTENANCE, LIO-LABEL), so a lost program is not a way around it.
        usual = MAINTENANCE[(patient.origin, patient.age_group)]
        if proposed_mcg_per_day <= usual.usual_high_mcg_per_day:
            return TitrationReview(None, proposed_mcg_per_day, NOT_CHECKED, "", None, None, (),
                                   reason, None)
        rule = (f"at most the usual maintenance range's {display(usual.usual_high_mcg_per_day)} "
                f"mcg/day for {patient.origin} origin, {patient.age_group}, with no current "
                "program to step from")
        return TitrationReview(None, proposed_mcg_per_day,
                               NEEDS_OVERRIDE if reason is None else OVERRIDDEN, rule, None,
                               None, (f"outside the usual maintenance range {rule}",), reason,
                               None)
    current = current_mcg_per_day
    if proposed_mcg_per_day == current:
        return TitrationReview(current, proposed_mcg_per_day, SAME_TOTAL, "", None, None, (),
                               reason, None)
    timing: tuple[datetime | None, datetime | None] = (last_change_at, now)
    if last_change_at is not None and last_change_at > now:
        timing = (None, None)  # the pump clock was set back: the 24 h rule cannot be judged
    # The one rule, shared with itb calc titrate (itb.therapy.dosing.assess_titration).
    decision = assess_titration(
        current_mcg_per_day=current, proposed_mcg_per_day=proposed_mcg_per_day,
        origin=patient.origin, age_group=patient.age_group, age_years=patient.age_years,
        pediatric_rule=patient.pediatric_rule, phase=patient.phase,
        last_change_at=timing[0], now=timing[1], override_reason=reason)
    violations = tuple(_violation_text(v) for v in decision.violations)
    too_soon = next((v for v in decision.violations if isinstance(v, TitrationTooSoon)), None)
    if not violations:
        status = WITHIN
    elif reason is None:
        status = NEEDS_OVERRIDE
    else:
        status = OVERRIDDEN
    return TitrationReview(current, proposed_mcg_per_day, status, decision.rule,
                           decision.allowed_low_mcg_per_day, decision.allowed_high_mcg_per_day,
                           violations, reason, decision, notes=decision.notes,
                           large_decrease=decision.large_decrease,
                           withdrawal_warning=decision.withdrawal_warning,
                           next_increase_at=None if too_soon is None
                           else getattr(too_soon, "next_allowed_at", None))


def _violation_text(error: InvalidInput) -> str:
    if isinstance(error, TitrationTooSoon):
        return error.reason or str(error)
    if isinstance(error, TitrationLimitExceeded):
        return f"beyond the largest step: allowed is {error.allowed}"
    if isinstance(error, OverrideRequired):
        return f"outside {error.allowed}"
    return str(error)


def review_hard_limit(titration: TitrationReview, *, current_limit_mcg: Fraction | None,
                      new_limit_mcg: Fraction, patient: PatientFacts) -> TitrationReview:
    """Add the hard-limit check to a titration review.

    The maximum daily dose is the firmware's last line of defence against an overdose, so
    raising it above the highest maintenance dose the label reports for this patient's
    origin and age (LIO-LABEL: spinal 2,003, cerebral 1,400, under 12 1,199 mcg/day;
    catalogue.MAINTENANCE) needs an override with a reason, like a dose outside the rules.
    Keeping or lowering the limit never does.
    """
    reported_high = MAINTENANCE[(patient.origin, patient.age_group)].reported_high_mcg_per_day
    raised = current_limit_mcg is None or new_limit_mcg > current_limit_mcg
    if not raised or new_limit_mcg <= reported_high:
        return titration
    rule = (f"at most {display(reported_high)} mcg per 24 h, the highest maintenance dose the "
            f"label reports for {patient.origin} origin, {patient.age_group}")
    violation = (f"hard limit above the labeled maximum maintenance dose "
                 f"{display(reported_high)} mcg/day")
    status = NEEDS_OVERRIDE if titration.override_reason is None else OVERRIDDEN
    only_limit = not titration.violations
    return replace(titration, status=status, violations=(*titration.violations, violation),
                   rule=rule if only_limit else titration.rule,
                   refused_setting=("max daily dose (hard limit)",
                                    f"{display(new_limit_mcg)} mcg per 24 h")
                   if only_limit else None)


# ---- the preview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramPreview:
    view: PumpView
    spec: ProgramSpec
    schedule: FlexSchedule  # what the pump will run, in UTC
    daily_dose_mcg: Fraction
    hourly: tuple[sched.HourDose, ...]
    titration: TitrationReview
    projection: Projection
    echo: ProgramConfirmation | None  # the pump's own dry run (None: the pump refused it)
    notes: tuple[str, ...]


def new_limits(view: PumpView, max_daily_dose_mcg: Fraction | None,
               max_bolus_mcg: Fraction | None) -> HardLimitsSpec:
    """The hard limits for the new program: the current ones unless the clinician sets new."""
    if view.program is None:
        if max_daily_dose_mcg is None or max_bolus_mcg is None:
            raise InvalidInput("hard limits", "none on the pump",
                               "--max-daily-dose and --max-bolus for a pump without a program")
        return HardLimitsSpec(max_daily_dose_mcg, max_bolus_mcg)
    current = view.program.limits
    return HardLimitsSpec(
        current.max_daily_dose_mcg if max_daily_dose_mcg is None else max_daily_dose_mcg,
        current.max_bolus_mcg if max_bolus_mcg is None else max_bolus_mcg)


def request_spec(view: PumpView, *, daily_dose_mcg: Fraction | None,
                 flex: FlexSchedule | None, limits: HardLimitsSpec) -> tuple[ProgramSpec,
                                                                              tuple[str, ...]]:
    """The program to send for a daily dose or a flex schedule (exactly one of them)."""
    if (daily_dose_mcg is None) == (flex is None):
        raise InvalidInput("program", "both or neither", "exactly one of --daily-dose or --flex")
    patient_bolus = view.program.patient_bolus if view.program is not None else None
    if flex is not None:
        spec = sched.flex_program(flex, view.now, limits, patient_bolus)
        offset = sched.utc_offset_minutes(spec)
        notes: tuple[str, ...] = ()
        if flex.timezone not in ("UTC", "Etc/UTC"):
            notes = (f"The pump clock keeps a fixed offset ({sched.offset_text(offset)} for "
                     f"{flex.timezone} now) and knows no daylight-saving rules: reprogram after "
                     "the next clock change.",)
        return spec, notes
    assert daily_dose_mcg is not None
    return sched.continuous_program(daily_dose_mcg, limits, patient_bolus), ()


def build_preview(view: PumpView, spec: ProgramSpec, echo: ProgramConfirmation | None,
                  patient: PatientFacts, override_reason: str | None,
                  notes: tuple[str, ...] = ()) -> ProgramPreview:
    """Everything the clinician sees before confirming a new program."""
    schedule = sched.program_schedule(spec)
    if schedule is None:
        raise InvalidInput("program", "weekly or with periodic boluses",
                           "a continuous or daily flex program")
    daily = schedule.total_daily_dose_mcg()
    hourly = sched.hourly_doses(spec, view.concentration_mcg_per_ml,
                                sched.local_day(spec, view.now))
    assert hourly is not None
    titration = review_titration(current_mcg_per_day=view.daily_dose_mcg,
                                 proposed_mcg_per_day=daily, patient=patient,
                                 last_change_at=view.last_program_change_at, now=view.now,
                                 override_reason=override_reason)
    titration = review_hard_limit(
        titration, current_limit_mcg=None if view.program is None
        else view.program.limits.max_daily_dose_mcg,
        new_limit_mcg=spec.limits.max_daily_dose_mcg, patient=patient)
    report = view.report
    low_alarm = next((a for a in report.alarms if a.code == "low_reservoir"), None)
    projection = project_reservoir(
        reservoir_nl=report.reservoir.estimate_nl,
        concentration_mcg_per_ml=view.concentration_mcg_per_ml, program=schedule,
        alarm_nl=report.reservoir.low_reservoir_alarm_nl, now=view.now,
        filled_at=view.last_refill_at, capacity_nl=report.reservoir.capacity_nl,
        alarm_raised_at=None if low_alarm is None else low_alarm.raised,
        # A bridge bolus runs on through a program change (issue 9.4); other boluses end.
        **bolus_and_stroke(report, view.facts, kinds=("bridge_bolus",)))
    return ProgramPreview(view, spec, schedule, daily, hourly, titration, projection, echo,
                          notes)


def verify_echo(sent: ProgramSpec, echo: ProgramConfirmation, concentration: Fraction) -> list[str]:
    """Differences between what was sent and what the pump says it runs (empty: verified)."""
    problems = []
    if not echo.applied:
        problems.append("the pump did not apply the program")
    if echo.program != sent:
        problems.append(f"the pump runs {sched.describe_program(echo.program)}, "
                        f"not {sched.describe_program(sent)}")
    if echo.concentration_mcg_per_ml != concentration:
        problems.append(f"the pump counts {display(echo.concentration_mcg_per_ml)} mcg/mL, "
                        f"not {display(concentration)} mcg/mL")
    return problems
