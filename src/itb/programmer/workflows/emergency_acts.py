"""Emergency acts on a read pump (the plans are `itb.programmer.emergency`): an overdose
(stop, the pump told its reservoir was emptied), withdrawal (restore the previous dose) and a bolus
through the catheter access port (aspirate the dead volume first)."""

from __future__ import annotations

from fractions import Fraction

from itb.programmer import emergency as plans
from itb.programmer.view import PumpView
from itb.programmer.wand import changing
from itb.programmer.workflows.infusion import change_infusion, is_stopped
from itb.programmer.workflows.visit import Visit, not_confirmed
from itb.telemetry.protocol.commands import (
    InfusionChanged,
    Refill,
    RefillConfirmation,
    Resume,
    Stop,
)
from itb.therapy.units import NL_PER_ML, display


def overdose(visit: Visit, view: PumpView, withdrawn_nl: int, confirmed: bool
             ) -> tuple[str, int]:
    """Stop the infusion (unless stopped) and tell the pump its reservoir was emptied (a refill
    of 0 mL with the syringe reading); returns the pump's infusion state and its reservoir
    estimate afterwards (0: its empty alarm sounds until the next refill)."""
    if not confirmed:
        raise not_confirmed()
    withdrawn = display(Fraction(withdrawn_nl, NL_PER_ML))
    state = view.report.infusion.state
    if not is_stopped(state):
        # A therapy change like any other: sent once with a command id (issue 14).
        with changing(visit.open_session, view, "emergency stop", Stop(),
                      InfusionChanged) as (_c, done):
            state = done.state
    emptied = Refill(withdrawn_nl, 0, view.concentration_mcg_per_ml)
    with changing(visit.open_session, view, "emptying the reservoir", emptied,
                  RefillConfirmation) as (_c, confirmation):
        estimate_nl = confirmation.reservoir_estimate_nl
    visit.record("emergency", view, view.serial, "done",
                 f"overdose: infusion stopped, reservoir emptied ({withdrawn} mL withdrawn)",
                 {"act": "overdose", "withdrawn_ml": withdrawn, "state": state,
                  "pump_estimate_before_ml": display(Fraction(view.reservoir_estimate_nl,
                                                              NL_PER_ML)),
                  "pump_estimate_ml": display(Fraction(estimate_nl, NL_PER_ML))})
    return state, estimate_nl


def withdrawal_running(visit: Visit, view: PumpView) -> None:
    """Withdrawal on a pump that runs its program: the catheter is the suspect; journaled."""
    visit.record("emergency", view, view.serial, "done",
                 "withdrawal: pump running its program; catheter check and intrathecal bolus "
                 "advised", {"act": "withdrawal", "resumed": False})


def withdrawal_resume(visit: Visit, view: PumpView, confirmed: bool) -> InfusionChanged:
    """Withdrawal on a stopped pump: resume the previous dose."""
    return change_infusion(visit, view, confirmed, kind="emergency", command=Resume(),
                           done="resumed (withdrawal)")


def cap_bolus(visit: Visit, view: PumpView, plan: plans.CapBolusPlan, aspirated: bool,
              injected: bool) -> None:
    """Record a catheter access port bolus the clinician confirms was given after aspirating."""
    if not (aspirated and injected):
        raise not_confirmed()
    visit.record("emergency", view, view.serial, "done",
                 f"catheter access port bolus {display(plan.dose_mcg)} mcg after aspirating "
                 f"{display(plan.aspirate_ml)} mL", {
                     "act": "cap-bolus", "dose_mcg": display(plan.dose_mcg),
                     "inject_ml": display(plan.inject_ml),
                     "aspirated_ml": display(plan.aspirate_ml)})
