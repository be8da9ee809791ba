"""Emergency acts at the programmer, as plans from the pump's own figures (issue 16.17). Pure.

- **Overdose**: no specific antidote exists; the label gives guidance for emptying the
  pump [LIO-LABEL "Overdosage", via devices.md]: stop the infusion and withdraw the
  reservoir's contents at once. (Withdrawing 30-40 mL of CSF by lumbar puncture or the
  catheter access port early on is the label's further advice as recalled, *unconfirmed*,
  and is the physician's act, not the programmer's.)
- **Catheter access port (CAP) bolus**: the catheter holds drug at the pump's strength.
  Its dead volume is aspirated and discarded before anything is injected, or that drug
  would be pushed in as an unplanned bolus (catheter volume from the clinic's record or
  length x 0.0026 mL/cm [PROMETRA]; the aspirate-first rule is the manufacturers' CAP
  procedure as summarised in issue 16.16, primary text *unconfirmed*).
- **Withdrawal**: restore intrathecal baclofen at or near the previous dose (the boxed
  warning: abrupt discontinuation can be fatal [LIO-LABEL]); oral baclofen alone is
  unreliable cover. A stopped pump is resumed on its program; a running pump that is not
  delivering (catheter fault) needs the catheter checked and an intrathecal bolus by the
  CAP or lumbar puncture while it is fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from itb.errors import InvalidInput
from itb.programmer.view import PumpView
from itb.therapy.units import NL_PER_ML, display, in_range

# The largest single intrathecal bolus the label describes is the 100 mcg screening dose
# [LIO-LABEL "Screening"]; a larger CAP bolus is refused here (a physician's decision).
MAX_CAP_BOLUS_MCG = Fraction(100)


@dataclass(frozen=True)
class CapBolusPlan:
    dose_mcg: Fraction
    concentration_mcg_per_ml: Fraction  # the syringe's strength
    inject_ml: Fraction
    aspirate_ml: Fraction  # at least the catheter's dead volume, discarded first
    catheter_drug_mcg: Fraction  # what would be pushed in without aspirating

    def steps(self) -> tuple[str, ...]:
        return (
            f"1. Access the catheter access port; aspirate at least "
            f"{display(self.aspirate_ml)} mL (the catheter's dead volume) and discard it. "
            "Clear CSF confirms the catheter is in the intrathecal space.",
            f"   Not aspirating would push {display(self.catheter_drug_mcg)} mcg of the "
            "pump's drug in as an unplanned bolus.",
            f"2. Only then inject {display(self.dose_mcg)} mcg: {display(self.inject_ml)} mL of "
            f"{display(self.concentration_mcg_per_ml)} mcg/mL, slowly (over at least 1 minute).",
            "3. Observe breathing, consciousness and tone; record the act.")


def cap_bolus_plan(view: PumpView, *, dose_mcg: str | Fraction,
                   syringe_mcg_per_ml: str | Fraction, catheter_ml: Fraction) -> CapBolusPlan:
    dose = in_range("--dose", dose_mcg, 0, MAX_CAP_BOLUS_MCG, "mcg", low_inclusive=False)
    strength = in_range("--syringe-concentration", syringe_mcg_per_ml, 0, 2000, "mcg/mL",
                        low_inclusive=False)
    catheter = in_range("catheter volume", catheter_ml, 0, 2, "mL", low_inclusive=False)
    return CapBolusPlan(dose, strength, dose / strength, catheter,
                        catheter * view.concentration_mcg_per_ml)


def overdose_steps(view: PumpView) -> tuple[str, ...]:
    estimate = Fraction(view.reservoir_estimate_nl, NL_PER_ML)
    return (
        "Overdose: no specific antidote. Support breathing and circulation first.",
        f"1. Stop the infusion on pump {view.serial} (it keeps only its minimum rate).",
        f"2. Empty the reservoir through the refill port: the pump's estimate is "
        f"{display(estimate)} mL of {display(view.concentration_mcg_per_ml)} mcg/mL "
        f"({display(estimate * view.concentration_mcg_per_ml)} mcg); record what is withdrawn.",
        "3. Early on, the physician may withdraw CSF (30-40 mL, label as recalled, "
        "unconfirmed) by lumbar puncture or the catheter access port.",
        "4. Plan the restart: after an overdose, restart lower and titrate again.")


def previous_daily_dose(view: PumpView) -> Fraction:
    """The dose to restore: the program the pump holds (its daily dose)."""
    if view.daily_dose_mcg is None or view.daily_dose_mcg <= 0:
        raise InvalidInput("program", "none readable on the pump",
                           "a programmed pump (the previous dose is restored from it)")
    return view.daily_dose_mcg


def withdrawal_steps(view: PumpView, stopped: bool) -> tuple[str, ...]:
    dose = previous_daily_dose(view)
    first = (f"1. Resume the program: {display(dose)} mcg/day, the previous dose (the pump "
             "is stopped)." if stopped else
             f"1. The pump runs its program ({display(dose)} mcg/day) but the patient shows "
             "withdrawal: suspect the catheter (or an empty reservoir). Check it through the "
             "catheter access port (aspirate its dead volume first).")
    return (
        "Withdrawal: restore intrathecal baclofen at or near the previous dose; oral baclofen "
        "alone is unreliable cover (boxed warning: abrupt discontinuation can be fatal).",
        first,
        "2. If the pump or catheter cannot deliver now: an intrathecal bolus by the catheter "
        "access port (itb programmer emergency cap-bolus) or lumbar puncture, then repair.",
        "3. Treat in hospital if severe (fever, rigidity, altered mental status).")
