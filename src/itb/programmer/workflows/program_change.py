"""Programming a pump: review (preview and checks) → the clinician's confirmation → send →
verify. The session is closed while the clinician reads the preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from itb.errors import InvalidInput, ItbError
from itb.programmer import guardrail_check, render
from itb.programmer import schedule as sched
from itb.programmer.bridging import bridge_note
from itb.programmer.delivery import journal_outcome
from itb.programmer.errors import NotConfirmed
from itb.programmer.programming import (
    PatientFacts,
    ProgramPreview,
    TitrationReview,
    build_preview,
    new_limits,
    request_spec,
)
from itb.programmer.response_check import review_response
from itb.programmer.view import PumpView
from itb.programmer.wand import LINK_LOST, send_program
from itb.programmer.workflows.reading import iso
from itb.programmer.workflows.visit import Visit, not_confirmed
from itb.telemetry.errors import CommandRejected
from itb.telemetry.protocol.commands import ProgramConfirmation, ProgramSpec
from itb.therapy import guardrails
from itb.therapy.errors import GuardrailBlocked, LargeDecreaseUnconfirmed
from itb.therapy.flex import FlexSchedule, parse_flex_toml
from itb.therapy.guardrails import Finding
from itb.therapy.units import display, to_exact_str


def read_flex_file(path: Path) -> FlexSchedule:
    """A flex schedule from a TOML file; every way the file can be unreadable is a refusal
    naming --flex."""
    if path.exists() and not path.is_file() and not path.is_dir():
        # A FIFO or device would block the read.
        raise InvalidInput("--flex", str(path), "a readable TOML file", "it is not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput("--flex", str(path), "a readable TOML file", exc.strerror) from None
    except UnicodeDecodeError:
        raise InvalidInput("--flex", str(path), "a readable TOML file",
                           "it is not UTF-8 text") from None
    try:
        return parse_flex_toml(text, str(path))
    except ItbError:
        raise
    except ValueError as exc:
        # tomllib's int() refuses numbers over 4300 digits with a plain ValueError.
        raise InvalidInput("--flex", str(path), "a readable TOML file",
                           str(exc).split(";")[0]) from None
    except RecursionError:
        # tomllib recurses per nested array; thousands of '[' must be a refusal, not a
        # "failed unexpectedly" fault report.
        raise InvalidInput("--flex", str(path), "a readable TOML file",
                           "arrays or inline tables nested too deeply") from None


@dataclass(frozen=True)
class ProgramRequest:
    """What the clinician asks for, and the answers the titration check needs."""

    patient: PatientFacts
    daily_dose_mcg: Fraction | None = None
    flex: FlexSchedule | None = None
    max_daily_dose_mcg: Fraction | None = None
    max_bolus_mcg: Fraction | None = None
    override_reason: str | None = None
    response: str | None = None  # spasticity since the last increase
    catheter_checked: str | None = None  # after a poor response: the check and its result
    cancel_bridge_reason: str | None = None


@dataclass
class ProgramReview:
    """The preview and its checks; `refusal` is set when the program may not be sent."""

    view: PumpView
    spec: ProgramSpec
    preview: ProgramPreview
    summary: str
    details: dict[str, Any]
    refusal: ItbError | None = None
    journaled: bool = field(default=False)
    findings: tuple[Finding, ...] = ()  # the guardrails' warnings and blocks (issue 14)

    @property
    def large_decrease(self) -> bool:
        return self.preview.titration.large_decrease


@dataclass(frozen=True)
class ProgramSent:
    echo: ProgramConfirmation
    review: ProgramReview


def review_program(visit: Visit, request: ProgramRequest) -> ProgramReview:
    """Read the pump, build the new program, dry-run it on the pump and check it against the
    titration rule and the patient's response."""
    with visit.session() as client:
        view = visit.read(client)
        limits = new_limits(view, request.max_daily_dose_mcg, request.max_bolus_mcg)
        spec, notes = request_spec(view, daily_dose_mcg=request.daily_dose_mcg,
                                   flex=request.flex, limits=limits)
        bridge = bridge_note(view, request.cancel_bridge_reason)
        notes = (*notes, bridge) if bridge else notes
        pump_refusal: CommandRejected | None = None
        try:
            dry_run = client.program(spec, confirm_only=True,
                                     cancel_bridge_reason=request.cancel_bridge_reason)
        except CommandRejected as exc:
            dry_run, pump_refusal = None, exc
    checked = review_response(view, sched.daily_dose_mcg(spec) or Fraction(0), request.response,
                              request.catheter_checked, request.override_reason)
    preview = build_preview(view, spec, dry_run, request.patient, request.override_reason,
                            notes + ((checked.note,) if checked.note else ()))
    titration = preview.titration
    details = {"previous": None if view.program is None else sched.program_to_json(view.program),
               "new": sched.program_to_json(spec), "patient": request.patient.describe(),
               "titration": titration.status, "violations": list(titration.violations),
               "override_reason": titration.override_reason,
               "titration_notes": list(titration.notes),
               "response": request.response,
               "poor_response": checked.note if checked.poor else None,
               "catheter_checked": request.catheter_checked,
               "large_decrease_confirmed": titration.large_decrease or None,
               "previous_daily_dose_mcg": None if view.daily_dose_mcg is None
               else to_exact_str(view.daily_dose_mcg),
               "daily_dose_mcg": to_exact_str(preview.daily_dose_mcg),
               "low_reservoir_alarm_at": iso(preview.projection.low_reservoir_alarm_at),
               "bridge_bolus": bridge}
    summary = (f"program {sched.describe_program(spec)} "
               f"(from {render.mcg(view.daily_dose_mcg, 'mcg/day')})")
    findings = guardrail_check.program_findings(view, titration, request.patient,
                                                preview.daily_dose_mcg, request.flex)
    details.update(guardrails.record(findings, request.override_reason))
    return ProgramReview(view, spec, preview, summary, details,
                         _refusal(titration, findings, request.override_reason, pump_refusal),
                         findings=findings)


def _refusal(titration: TitrationReview, findings: tuple[Finding, ...], override_reason: str | None,
             pump_refusal: ItbError | None) -> ItbError | None:
    """One rule: a block (the titration rule's or a guardrail's) needs an override reason; the
    titration rule's own words come first, then the guardrails', then the pump's dry run."""
    if titration.needs_override:
        return titration.refusal()
    try:
        guardrails.blocked(findings, override_reason)
    except GuardrailBlocked as exc:
        return exc
    return pump_refusal


class ProgramChange:
    """One program change on one visit: `review`, then `check` (a refusal is journaled and
    raised), then `send` with the clinician's answers."""

    def __init__(self, visit: Visit, request: ProgramRequest) -> None:
        self.visit = visit
        self.request = request

    def review(self) -> ProgramReview:
        return review_program(self.visit, self.request)

    def check(self, review: ProgramReview) -> None:
        """Raise the review's refusal (the titration rule's, or the pump's), journaled once."""
        if review.refusal is None:
            return
        if not review.journaled:
            review.journaled = True
            view = review.view
            if isinstance(review.refusal, CommandRejected):
                self.visit.record("program", view, view.serial, "refused",
                                  "refused by the pump: " + review.summary,
                                  {**review.details, "error": str(review.refusal)})
            else:
                self.visit.record("program", view, view.serial, "refused",
                                  "refused: " + review.summary, review.details)
        raise review.refusal

    def send(self, review: ProgramReview, *, confirmed: bool,
             large_decrease_confirmed: bool = False) -> ProgramSent:
        """Send the reviewed program once, if the clinician confirmed it (and, for a cut beyond
        the labeled decrease step, the large decrease on its own), and verify it."""
        self.check(review)
        view, details = review.view, review.details
        try:
            if not confirmed:
                raise not_confirmed()
            if review.large_decrease and not large_decrease_confirmed:
                titration = review.preview.titration
                raise LargeDecreaseUnconfirmed(
                    "daily dose", f"{display(titration.proposed_mcg_per_day)} mcg/day",
                    "a large decrease confirmed with --confirm-large-decrease",
                    titration.withdrawal_warning)
            with self.visit.send_session(view, "new program") as client:
                echo, _after = send_program(client, self.visit.open_session, view.program,
                                            review.spec, view.concentration_mcg_per_ml,
                                            view.report.log_next_index,
                                            self.request.cancel_bridge_reason)
        except (NotConfirmed, LargeDecreaseUnconfirmed):
            self.visit.record("program", view, view.serial, "cancelled",
                              "cancelled: " + review.summary, details)
            raise
        except (*LINK_LOST, ItbError) as exc:
            outcome = journal_outcome(exc)
            self.visit.record("program", view, view.serial, outcome,
                              f"{outcome}: " + review.summary, {**details, "error": str(exc)})
            raise
        titration = review.preview.titration
        details["verified"] = True
        details["effective"] = iso(echo.effective)
        details["warnings_confirmed"] = bool(guardrails.warnings(review.findings)) or None
        overridden = titration.violations or guardrails.blocks(review.findings)
        self.visit.record("program", view, view.serial,
                          "overridden" if titration.override_reason and overridden
                          else "done", review.summary, details)
        return ProgramSent(echo, review)
