"""Emergency acts on a read pump (the plans are `itb.programmer.emergency`): an overdose
(stop, the emptied reservoir recorded), withdrawal (restore the previous dose) and a bolus
through the catheter access port (aspirate the dead volume first)."""

from __future__ import annotations

from fractions import Fraction

from itb.programmer import emergency as plans
from itb.programmer.view import PumpView
from itb.programmer.wand import changing
from itb.programmer.workflows.infusion import change_infusion, is_stopped
from itb.programmer.workflows.visit import Visit, not_confirmed
from itb.telemetry.protocol.commands import InfusionChanged, Resume, Stop
from itb.therapy.units import NL_PER_ML, display


def overdose(visit: Visit, view: PumpView, withdrawn_nl: int, confirmed: bool) -> str:
    """Stop the infusion (unless stopped) and record the reservoir emptied; returns the
    pump's infusion state."""
    if not confirmed:
        raise not_confirmed()
    withdrawn = display(Fraction(withdrawn_nl, NL_PER_ML))
    state = view.report.infusion.state
    if not is_stopped(state):
        # A therapy change like any other: sent once with a command id (issue 14).
        with changing(visit.open_session, view, "emergency stop", Stop(),
                      InfusionChanged) as (_c, done):
            state = done.state
    # The wand protocol's refill needs a volume added, so the firmware cannot be told the
    # reservoir is empty: its estimate stays until the next refill, which must account for it.
    visit.record("emergency", view, view.serial, "done",
                 f"overdose: infusion stopped, reservoir emptied ({withdrawn} mL withdrawn)",
                 {"act": "overdose", "withdrawn_ml": withdrawn, "state": state,
                  "pump_estimate_ml": display(Fraction(view.reservoir_estimate_nl, NL_PER_ML))})
    return state


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
