"""Therapy acts other than programming and refilling: a clinician bolus, stopping and resuming
the infusion. Each is reviewed on one session and, once the clinician confirms, sent once with
a command id on a new session (see `itb.programmer.wand.changing`)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from itb.errors import InvalidInput
from itb.programmer import guardrail_check, render
from itb.programmer.delivery import DeliveryChecked
from itb.programmer.errors import EchoMismatch
from itb.programmer.view import PumpView
from itb.programmer.wand import changing
from itb.programmer.workflows.reading import iso
from itb.programmer.workflows.visit import Visit, not_confirmed, refuse_blocked
from itb.telemetry.errors import CommandRejected
from itb.telemetry.protocol.commands import Bolus, BolusConfirmation, InfusionChanged, Resume, Stop
from itb.therapy import guardrails
from itb.therapy.guardrails import Finding
from itb.therapy.units import NL_PER_ML, display, in_range, to_exact_str


@dataclass(frozen=True)
class BolusRequest:
    dose_mcg: Fraction
    minutes: Fraction
    override_reason: str | None = None  # lifts a guardrail block (issue 14); recorded

    @classmethod
    def parse(cls, dose: str, duration_min: str, override_reason: str | None = None
              ) -> BolusRequest:
        dose_mcg = in_range("bolus dose", dose, 0, None, "mcg", low_inclusive=False)
        minutes = in_range("duration_min", duration_min, 1, 1440, "min")
        if (minutes * 60).denominator != 1:
            raise InvalidInput("duration_min", duration_min, "a duration in whole seconds")
        guardrails.check_override_reason(override_reason)
        return cls(dose_mcg, minutes, override_reason)

    @property
    def duration_s(self) -> int:
        return int(self.minutes * 60)

    def details(self) -> dict[str, object]:
        return {"dose_mcg": to_exact_str(self.dose_mcg), "duration_s": self.duration_s}


@dataclass(frozen=True)
class BolusReview:
    """A bolus within the program's maximum bolus, with what the next 24 h hold."""

    view: PumpView
    request: BolusRequest
    volume_nl: Fraction
    daily_mcg: Fraction  # the program's dose per day
    max_daily_mcg: Fraction  # the program's hard limit per 24 h
    findings: tuple[Finding, ...] = ()  # the guardrails' warning or block (issue 14)

    def details(self) -> dict[str, object]:
        return {**self.request.details(),
                **guardrails.record(self.findings, self.request.override_reason)}


def review_bolus(visit: Visit, request: BolusRequest) -> BolusReview:
    """Read the pump; a bolus above the program's maximum bolus is journaled and refused."""
    dose = request.dose_mcg
    with visit.session() as client:
        view = visit.read(client)
        if view.program is None:
            raise InvalidInput("program", "none", "a programmed pump (a bolus needs its limits)")
        limits = view.program.limits
        if dose > limits.max_bolus_mcg:
            visit.record("bolus", view, view.serial, "refused",
                         f"bolus {display(dose)} mcg refused: over the maximum bolus",
                         request.details())
            raise InvalidInput("bolus dose", f"{display(dose)} mcg",
                               f"more than 0 to {display(limits.max_bolus_mcg)} mcg "
                               "(the program's maximum bolus)")
    return BolusReview(view, request, dose * NL_PER_ML / view.concentration_mcg_per_ml,
                       view.daily_dose_mcg or Fraction(0), limits.max_daily_dose_mcg,
                       guardrail_check.bolus_findings(dose))


def check_bolus(visit: Visit, review: BolusReview) -> None:
    """Refuse (and journal) a guardrail block that has no override reason (issue 14)."""
    refuse_blocked(visit, "bolus", review.view, f"bolus {display(review.request.dose_mcg)} mcg",
                   review.findings, review.request.override_reason, review.details())


def give_bolus(visit: Visit, review: BolusReview, confirmed: bool) -> BolusConfirmation:
    """Send the confirmed bolus once and check the pump's echo; journaled. A guardrail block
    without an override reason is journaled and refused first."""
    check_bolus(visit, review)
    view, request = review.view, review.request
    dose, details = request.dose_mcg, review.details()
    if not confirmed:
        raise not_confirmed()
    try:
        with changing(visit.open_session, view, "bolus", Bolus(dose, request.duration_s),
                      BolusConfirmation) as (_client, echo):
            pass
    except CommandRejected as exc:
        visit.record("bolus", view, view.serial, "refused",
                     f"bolus {display(dose)} mcg refused by the pump: {exc}", details)
        raise
    except DeliveryChecked as checked:
        visit.record("bolus", view, view.serial, checked.journal_outcome,
                     f"bolus {display(dose)} mcg: link lost; {checked.found.delivery}",
                     {**details, "command_id": checked.command_id, "error": str(checked)})
        raise
    if echo.dose_mcg != dose:
        raise EchoMismatch(f"The pump echoed a bolus of {display(echo.dose_mcg)} mcg, not "
                           f"{display(dose)} mcg.", "Interrogate the pump at once.")
    visit.record("bolus", view, view.serial,
                 "overridden" if guardrails.blocks(review.findings) else "done",
                 f"bolus {display(dose)} mcg over {display(request.minutes)} min, until "
                 f"{render.when(echo.ends)}", {**details, "ends": iso(echo.ends)})
    return echo


def is_stopped(state: str) -> bool:
    """The pump runs only its minimum rate (stopped)."""
    return state.startswith("minimum_rate")


def change_infusion(visit: Visit, view: PumpView, confirmed: bool, *, kind: str,
                    command: Stop | Resume, done: str) -> InfusionChanged:
    """Stop or resume, once the clinician confirmed: sent on a new session, journaled."""
    if not confirmed:
        raise not_confirmed()
    try:
        with changing(visit.open_session, view, kind, command, InfusionChanged) as (_c, changed):
            pass
    except DeliveryChecked as checked:
        visit.record(kind, view, view.serial, checked.journal_outcome,
                     f"{kind}: link lost; {checked.found.delivery}",
                     {"command_id": checked.command_id, "error": str(checked)})
        raise
    visit.record(kind, view, view.serial, "done", f"infusion {done}: {changed.state}",
                 {"state": changed.state, "at": iso(changed.at)})
    return changed


def stop_infusion(visit: Visit, view: PumpView, confirmed: bool) -> InfusionChanged:
    return change_infusion(visit, view, confirmed, kind="stop", command=Stop(), done="stopped")


def resume_infusion(visit: Visit, view: PumpView, confirmed: bool) -> InfusionChanged:
    return change_infusion(visit, view, confirmed, kind="resume", command=Resume(),
                           done="resumed")
