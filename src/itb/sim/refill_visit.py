"""A refill visit: withdraw the residual, compare it with the pump's estimate, refill.

The residual-volume comparison (`itb.therapy.check_refill`) is how a silent catheter
fault shows itself at a refill: the volume drawn out of the reservoir differs from what
the pump's stroke count expects. On a discrepancy the refill stops until the cause is found,
unless the scenario overrides it. A refill may also go wrong (issue 16: a pocket fill, a
wrong concentration) or be missed.
"""

from __future__ import annotations

from fractions import Fraction

from itb.sim.clinic import Clinic, ml
from itb.sim.programs import build_program
from itb.sim.records import FaultRecord, RefillRecord
from itb.sim.schema import RefillEvent
from itb.therapy.errors import RefillDiscrepancy
from itb.therapy.refill import check_refill
from itb.therapy.units import NL_PER_ML, display


def planned_refill(clinic: Clinic, when: int) -> None:
    """The refill on the date the plan gave (auto_refill), to its fill."""
    auto = clinic.spec.auto_refill
    assert auto is not None
    event = RefillEvent(event="refill", day=Fraction(0), fill_ml=auto.fill_ml,
                        note="planned refill (auto_refill)")
    refill(clinic, when, event, "auto")


def refill(clinic: Clinic, when: int, event: RefillEvent, label: str) -> None:
    pump = clinic.pump
    journal = clinic.journal
    if event.error == "missed":
        journal.refills.append(RefillRecord(when, "missed", error="missed"))
        journal.faults.append(FaultRecord(when, "refill_missed", "refill appointment missed"))
        clinic.note(when, "clinic", "refill_missed", "the patient missed the refill appointment")
        return
    expected = pump.reservoir_estimate_nl
    withdrawn = pump.physical.reservoir_nl  # what really comes out into the syringe
    fill_nl = clinic.capacity_nl if event.fill_ml is None else int(event.fill_ml * NL_PER_ML)
    conc = event.concentration_mcg_per_ml or pump.concentration_mcg_per_ml
    pocket_nl = 0
    if event.error == "pocket_fill":
        pocket_nl = fill_nl if event.pocket_fill_ml is None else int(
            event.pocket_fill_ml * NL_PER_ML)
    # The programmer shows an estimate below zero as an empty reservoir (0 mL).
    shown_expected = max(0, expected)
    check_text = "ok"
    try:
        check_refill(expected_residual_ml=ml(shown_expected), withdrawn_ml=ml(withdrawn),
                     fill_ml=ml(fill_nl), capacity_ml=ml(clinic.capacity_nl))
    except RefillDiscrepancy as discrepancy:
        check_text = f"discrepancy: {discrepancy}"
        clinic.note(when, "clinic", "refill_discrepancy", str(discrepancy))
        if not event.override_discrepancy:
            _block(clinic, when, event, expected, withdrawn, shown_expected, check_text)
            return
    report = pump.refill(
        added_nl=fill_nl, concentration_mcg_per_ml=conc, pocket_fill_nl=pocket_nl,
        true_concentration_mcg_per_ml=event.true_concentration_mcg_per_ml,
        bridge_bolus=event.bridge_bolus)
    program = clinic.program
    if conc != program.concentration_mcg_per_ml:
        # The same program (same flex clock) now counted at the new concentration.
        clinic.built = build_program(program.spec, pump.model, conc, program.entered_s)
    journal.refill_times_s.append(when)
    error_text = extra_detail(pocket_nl, conc, event.true_concentration_mcg_per_ml)
    if event.error in ("pocket_fill", "wrong_concentration"):
        journal.faults.append(FaultRecord(when, f"refill_{event.error}", error_text))
    journal.refills.append(RefillRecord(
        when, "refilled", report.expected_residual_nl, report.withdrawn_nl,
        withdrawn - shown_expected, check_text, fill_nl, conc,
        event.true_concentration_mcg_per_ml, pocket_nl, report.bridge_bolus, event.error))
    extra = "" if event.error == "none" else "; " + error_text
    if report.bridge_bolus:
        extra += "; bridge bolus"
    clinic.note(when, "clinic", "refill",
                f"{label}: {display(ml(fill_nl))} mL at {display(conc)} mcg/mL; residual "
                f"expected {display(ml(shown_expected))} mL, found {display(ml(withdrawn))} mL"
                + extra)
    _prime_aspirated_catheter(clinic, when)
    clinic.plan(when)


def _prime_aspirated_catheter(clinic: Clinic, when: int) -> None:
    """After refilling an emptied pump whose catheter was aspirated (it holds CSF), a priming
    bolus of the catheter's volume brings the drug to the tip at the pump's maximum flow
    instead of at the program's slow rate (the manufacturer's priming bolus, Medtronic
    'Important Labeling Updates Related to Priming Bolus'; its use after an empty reservoir
    is *unconfirmed*). Only the aspirated volume is primed: more would push drug out as an
    unintended bolus. The firmware allows it only after its own empty alarm."""
    volume = min(clinic.catheter_aspirated_nl, clinic.pump.catheter_volume_nl)
    if not volume or clinic.pump.state.refusal("prime") is not None:
        return
    clinic.pump.prime(volume)
    clinic.catheter_aspirated_nl = 0
    clinic.note(when, "clinic", "priming_bolus",
                f"{display(ml(volume))} mL: the CSF in the aspirated catheter pushed out so the "
                "new drug reaches the tip")


def _block(clinic: Clinic, when: int, event: RefillEvent, expected: int, withdrawn: int,
           shown_expected: int, check_text: str) -> None:
    """The residual is drawn out into the syringe (that is how it was measured) and
    discarded before the check stops the refill (issue 16.8): the pump is left empty, and
    the next refill finds nothing to withdraw."""
    pump = clinic.pump
    pump.refill(added_nl=0, concentration_mcg_per_ml=pump.concentration_mcg_per_ml)
    clinic.journal.refills.append(RefillRecord(
        when, "blocked", expected, withdrawn, withdrawn - shown_expected, check_text,
        error=event.error))
    clinic.note(when, "clinic", "refill_blocked",
                f"residual {display(ml(withdrawn))} mL withdrawn and discarded; "
                "the refill is stopped until the cause is found (itb.therapy rule)")


def extra_detail(pocket_nl: int, conc: Fraction, true_conc: Fraction | None) -> str:
    """Words for a refill error."""
    if pocket_nl:
        return f"POCKET FILL: {display(ml(pocket_nl))} mL injected into the pocket"
    if true_conc is not None:
        return (f"WRONG CONCENTRATION: {display(true_conc)} mcg/mL given, {display(conc)} "
                "mcg/mL programmed")
    return ""
