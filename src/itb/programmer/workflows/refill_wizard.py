"""The refill wizard as explicit steps, each with a typed result.

1. `confirm_pump`: the clinician confirms the patient and the pump;
2. `check_residual`: the volume withdrawn against the pump's expected residual;
3. `check_drug`: the drug, strength, prescription and volume put in, and the record fields;
4. `plan_bridge`: a bridge bolus when the concentration changes;
5. `update`: the pump is updated on a new session, once, and its echo checked;
6. the new alarm and refill dates (`RefillUpdated.after.projection`);
7. `write_record`: the refill record in the session journal.

A step that refuses stops the wizard: the refusal is raised unchanged, `stopped` says why
(`StopReason`) and the journal holds a stopped refill record. The pump is read once at the
start; the session is closed while the clinician works through the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import NoReturn, TypeVar

from itb.errors import InvalidInput, ItbError
from itb.programmer import guardrail_check, refill_details, render
from itb.programmer import refill as checks
from itb.programmer.delivery import LINK_LOST, Delivery, DeliveryChecked
from itb.programmer.errors import EchoMismatch
from itb.programmer.refill import RefillRecord
from itb.programmer.refill_details import PrescribedDilution, RefillDetails
from itb.programmer.view import Projection, PumpView, view_to_json
from itb.programmer.wand import changing
from itb.programmer.workflows.visit import Visit, not_confirmed
from itb.telemetry.protocol.commands import Refill, RefillConfirmation
from itb.therapy import guardrails
from itb.therapy.bridge import BridgeBolus
from itb.therapy.errors import RefillDiscrepancy
from itb.therapy.guardrails import Finding
from itb.therapy.refill import RefillCheck
from itb.therapy.units import display, exact, ml_to_nl

T = TypeVar("T")


class StopReason(StrEnum):
    PUMP_NOT_CONFIRMED = "pump not confirmed"
    RESIDUAL_DISCREPANCY = "residual discrepancy"
    DRUG_OR_VOLUME_REFUSED = "drug or volume refused"
    UPDATE_NOT_CONFIRMED = "update not confirmed"
    PUMP_NOT_REACHABLE = "pump not reachable for the update"
    PUMP_REFUSED = "the pump refused the refill or changed"
    LINK_LOST = "link lost during the update"
    ECHO_MISMATCH = "echo mismatch"


@dataclass(frozen=True)
class RefillStop:
    """Why the wizard stopped, and the stopped refill record it journaled."""

    reason: StopReason
    words: str  # the reason as journaled (after a lost link, with what the pump's log shows)
    outcome: str  # the journal's outcome: "stopped", or what the pump's log shows
    record: RefillRecord
    cause: BaseException


@dataclass(frozen=True)
class Residual:
    """Step 2: the volume withdrawn, within the threshold of the expected residual."""

    withdrawn_nl: int
    expected_nl: int
    check: RefillCheck


@dataclass(frozen=True)
class DrugAnswers:
    """Step 3's answers, as the clinician gave them (text)."""

    brand: str
    concentration: str
    prescribed_concentration: str
    added_ml: str
    diluted_from: str | None = None
    diluent: str | None = None
    lot: str | None = None
    expiry: str | None = None
    second_check_by: str | None = None
    wasted_ml: str | None = None
    pocket_skin_check: str | None = None
    override_reason: str | None = None  # lifts the strength guardrail's block (issue 14)


@dataclass(frozen=True)
class DrugPut:
    """Step 3: what goes into the reservoir, checked."""

    brand: str
    concentration_mcg_per_ml: Fraction
    prescribed_mcg_per_ml: Fraction
    dilution: PrescribedDilution | None
    fill: RefillCheck
    details: RefillDetails
    findings: tuple[Finding, ...] = ()  # the strength guardrail (issue 14)
    override_reason: str | None = None


@dataclass(frozen=True)
class RefillUpdated:
    """Step 5: the pump's echo and the refilled pump read on the same session."""

    echo: RefillConfirmation
    after: PumpView


@dataclass
class _Known:
    """What the wizard has learned so far (for a stopped refill's record)."""

    withdrawn_nl: int | None = None
    discrepancy_nl: int | None = None
    brand: str | None = None
    conc: Fraction | None = None
    prescribed: Fraction | None = None
    added_nl: int | None = None


@dataclass
class RefillWizard:
    """One refill on one visit; `start` reads the pump."""

    visit: Visit
    view: PumpView
    expected_nl: int  # the pump's expected residual (an estimate below 0 is empty)
    stopped: RefillStop | None = None
    residual: Residual | None = None
    drug: DrugPut | None = None
    bridge: BridgeBolus | None = None
    updated: RefillUpdated | None = None
    _known: _Known = field(default_factory=_Known)
    _withdrawn_ml: str = ""  # step 2's answer as given (step 3 checks the fill with it)

    @classmethod
    def start(cls, visit: Visit) -> RefillWizard:
        view = visit.read_closed()
        return cls(visit, view, checks.expected_residual_nl(view))

    @property
    def concentration_now(self) -> Fraction:
        return self.view.concentration_mcg_per_ml

    # ---- the steps ---------------------------------------------------------------------------

    def confirm_pump(self, confirmed: bool) -> None:
        """Step 1: the clinician confirms this is the patient's pump."""
        if not confirmed:
            self._stop(StopReason.PUMP_NOT_CONFIRMED, not_confirmed())

    def check_residual(self, withdrawn_ml: str) -> Residual:
        """Step 2: a discrepancy beyond the threshold stops the refill with its causes."""
        withdrawn_nl = ml_to_nl("withdrawn_ml", withdrawn_ml)
        try:
            check = checks.check_withdrawn(self.view, withdrawn_ml)
        except RefillDiscrepancy as exc:
            self._known = _Known(withdrawn_nl, withdrawn_nl - self.expected_nl)
            self._stop(StopReason.RESIDUAL_DISCREPANCY, exc)
        self._withdrawn_ml = withdrawn_ml
        self.residual = Residual(withdrawn_nl, self.expected_nl, check)
        return self.residual

    def check_drug(self, answers: DrugAnswers) -> DrugPut:
        """Step 3: a marketed strength or a declared dilution, as prescribed, that the pump can
        deliver, and no overfill; the record fields are checked too (expired drug refused)."""
        residual = self._done(self.residual)
        known = self._known = _Known(residual.withdrawn_nl, residual.check.discrepancy_nl,
                                     answers.brand)
        try:
            conc, dilution = refill_details.check_strength(
                answers.brand, answers.concentration, answers.prescribed_concentration,
                answers.diluted_from, answers.diluent)
            known.conc = conc
            known.prescribed = exact("prescribed concentration",
                                     answers.prescribed_concentration)
            known.added_nl = ml_to_nl("added_ml", answers.added_ml)
            fill = checks.check_fill(self.view, self._withdrawn_ml, answers.added_ml)
            refill_details.check_min_flow(self.view, conc)
            details = refill_details.refill_details(
                lot=answers.lot, expiry=answers.expiry, second_check_by=answers.second_check_by,
                wasted_ml=answers.wasted_ml, pocket_skin_check=answers.pocket_skin_check,
                withdrawn_nl=residual.withdrawn_nl, pump_time=self.view.now, dilution=dilution)
            reason = answers.override_reason
            guardrails.check_override_reason(reason)
            findings = guardrail_check.strength_findings(self.view, conc)
            guardrails.blocked(findings, reason)
        except InvalidInput as exc:
            self._stop(StopReason.DRUG_OR_VOLUME_REFUSED, exc)
        self.drug = DrugPut(answers.brand, conc, known.prescribed, dilution, fill, details,
                            findings, reason)
        return self.drug

    @property
    def needs_bridge(self) -> bool:
        """Step 4 applies: the concentration changes."""
        return self._done(self.drug).concentration_mcg_per_ml != self.concentration_now

    def plan_bridge(self, catheter_ml: str | None, catheter_length_cm: str | None
                    ) -> BridgeBolus | None:
        """Step 4: the bridge bolus that pushes the old drug out of the dead volume."""
        drug = self._done(self.drug)
        self.bridge = None if not self.needs_bridge else checks.plan_bridge(
            self.view, drug.concentration_mcg_per_ml,
            checks.catheter_ml(catheter_ml, catheter_length_cm))
        return self.bridge

    def projection(self) -> Projection:
        """Step 5's preview: the alarm and refill dates if the update is confirmed."""
        drug = self._done(self.drug)
        return checks.project_after_refill(self.view, drug.fill.fill_nl,
                                           drug.concentration_mcg_per_ml, self.view.now,
                                           self.bridge)

    def update(self, confirmed: bool) -> RefillUpdated:
        """Step 5: the refill sent once on a new session, its echo checked, the pump read."""
        if not confirmed:
            self._stop(StopReason.UPDATE_NOT_CONFIRMED, not_confirmed())
        residual, drug = self._done(self.residual), self._done(self.drug)
        command = Refill(residual.withdrawn_nl, drug.fill.fill_nl, drug.concentration_mcg_per_ml,
                         self.bridge is not None)
        echo: RefillConfirmation | None = None
        try:
            with changing(self.visit.open_session, self.view, "refill", command,
                          RefillConfirmation) as (client, echo):
                problems = checks.verify_refill_echo(
                    withdrawn_nl=residual.withdrawn_nl, added_nl=drug.fill.fill_nl,
                    concentration=drug.concentration_mcg_per_ml, bridge=self.bridge is not None,
                    echo=echo)
                after = None if problems else self.visit.read(client)
        except DeliveryChecked as checked:
            self._lost(checked)
        except (*LINK_LOST, ItbError) as exc:
            if echo is not None:
                raise  # the refill was confirmed; only reading the pump afterwards failed
            self._stop(StopReason.PUMP_NOT_REACHABLE if isinstance(exc, LINK_LOST)
                       else StopReason.PUMP_REFUSED, exc)
        if after is None:
            self._stop(StopReason.ECHO_MISMATCH, EchoMismatch(
                "The pump's refill echo differs from what was sent: " + "; ".join(problems)
                + ".", "Interrogate the pump at once and check its reservoir and concentration."))
        self.updated = RefillUpdated(echo, after)
        return self.updated

    def bridge_differs(self) -> bool:
        """Step 6: the pump's bridge bolus is not the clinic's dead volume (check the catheter
        volume stored in the pump)."""
        updated = self._done(self.updated)
        return (self.bridge is not None
                and updated.echo.bridge_bolus_nl != round(self.bridge.dead_volume_nl))

    def write_record(self) -> RefillRecord:
        """Step 7: the refill record, journaled."""
        residual, drug, updated = (self._done(self.residual), self._done(self.drug),
                                   self._done(self.updated))
        echo, after, bridge = updated.echo, updated.after, self.bridge
        plan = after.projection.plan
        record = RefillRecord(
            serial=self.view.serial, pump_time=after.now, outcome="refilled",
            expected_residual_nl=self.expected_nl, withdrawn_nl=residual.withdrawn_nl,
            discrepancy_nl=echo.discrepancy_nl, brand=drug.brand,
            concentration_mcg_per_ml=drug.concentration_mcg_per_ml,
            previous_concentration_mcg_per_ml=self.concentration_now,
            prescribed_concentration_mcg_per_ml=drug.prescribed_mcg_per_ml,
            added_nl=drug.fill.fill_nl, reservoir_estimate_nl=echo.reservoir_estimate_nl,
            bridge=bridge, pump_bridge_bolus_nl=echo.bridge_bolus_nl if bridge else None,
            bridge_until=echo.bridge_until,
            low_reservoir_alarm_at=after.projection.low_reservoir_alarm_at,
            refill_by=None if plan is None else plan.refill_by,
            refill_by_reason=None if plan is None else plan.refill_by_reason)
        self.visit.record("refill", after, self.view.serial, "done",
                          f"refilled {render.ml(drug.fill.fill_nl)} of {drug.brand} "
                          f"{display(drug.concentration_mcg_per_ml)} mcg/mL (withdrawn "
                          f"{render.ml(residual.withdrawn_nl)}, expected "
                          f"{render.ml(self.expected_nl)})",
                          {"refill": record.to_json() | drug.details.to_json()
                           | guardrails.record(drug.findings, drug.override_reason),
                           # the pump as read after the refill: the clinic's newest
                           # projection (refill-by, alarm dates) is this one, not the last
                           # interrogation's from before the refill (docs/clinic-feed.md)
                           "pump_after": view_to_json(after)})
        return record

    # ---- stopping ----------------------------------------------------------------------------

    def _lost(self, checked: DeliveryChecked) -> NoReturn:
        """The link was lost during the update: a refill the pump's log shows carried out is
        journaled as done, never as lost."""
        delivery = checked.found.delivery
        if delivery is Delivery.NOT_CARRIED_OUT:
            checked.next_step = ("Run the refill again from step 1: the drug is already in the "
                                 "reservoir, so enter the same volumes.")
        outcome = ("refilled" if delivery is Delivery.CARRIED_OUT
                   else checked.journal_outcome.replace("not done", "stopped"))
        self._stop(StopReason.LINK_LOST, checked, outcome,
                   f"{StopReason.LINK_LOST}; {delivery} (pump log)")

    def _stop(self, reason: StopReason, exc: BaseException, outcome: str = "stopped",
              words: str | None = None) -> NoReturn:
        words = words or str(reason)
        known = self._known
        record = RefillRecord(
            serial=self.view.serial, pump_time=self.view.now, outcome=f"{outcome}: {words}",
            expected_residual_nl=self.expected_nl, withdrawn_nl=known.withdrawn_nl,
            discrepancy_nl=known.discrepancy_nl, brand=known.brand,
            concentration_mcg_per_ml=known.conc,
            previous_concentration_mcg_per_ml=self.concentration_now,
            prescribed_concentration_mcg_per_ml=known.prescribed,
            added_nl=known.added_nl, reservoir_estimate_nl=None, bridge=None,
            pump_bridge_bolus_nl=None, bridge_until=None, low_reservoir_alarm_at=None,
            refill_by=None, refill_by_reason=None,
            reasons=tuple(getattr(exc, "possible_causes", ())) or (str(exc),))
        self.visit.record("refill", self.view, self.view.serial, outcome,
                          f"refill {outcome}: {words}", {"refill": record.to_json()})
        self.stopped = RefillStop(reason, words, outcome, record, exc)
        raise exc

    @staticmethod
    def _done(step: T | None) -> T:
        if step is None:
            raise RuntimeError("the refill wizard's steps are taken in order")
        return step
