"""The refill procedure's checks, step by step, before the pump is touched.

Pure functions over the current `PumpView`, in the order of the clinical procedure:
1. the pump that answered is the patient's pump (`view.require_serial`);
2. the volume withdrawn against the pump's expected residual: a discrepancy beyond
   the threshold stops the refill with its possible causes
   (`itb.therapy.refill.check_refill`, 2 mL [ASRA-2017]);
3. the drug put in: a marketed pump-refill strength (`itb.therapy.catalogue`), the
   prescribed concentration, and no overfill;
4. a change of concentration: the bridge bolus (`itb.therapy.bridge`);
5. (the pump is updated by the command line, which verifies the pump's echo);
6. the new alarm and refill-by dates (`itb.therapy.refill.plan_refill`);
7. the refill record, for the session report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.programmer.errors import PrescriptionMismatch
from itb.programmer.view import Projection, PumpView, project_reservoir
from itb.telemetry.protocol.commands import RefillConfirmation
from itb.therapy.bridge import BridgeBolus, catheter_volume_ml, plan_bridge_bolus
from itb.therapy.catalogue import BRANDS, DrugProduct, find_product
from itb.therapy.refill import RefillCheck, check_refill
from itb.therapy.units import NL_PER_ML, display, exact, ml_to_nl, to_exact_str


def _ml(volume_nl: int | Fraction) -> Fraction:
    return Fraction(volume_nl) / NL_PER_ML


def expected_residual_nl(view: PumpView) -> int:
    """The residual to expect: the pump's estimate, or 0 when it ran below zero.

    After its reservoir-empty alarm the pump keeps the minimum rate and counts every
    stroke, so its estimate goes below 0 mL; the reservoir is then empty (issue 9.1).
    """
    return max(0, view.reservoir_estimate_nl)


def check_withdrawn(view: PumpView, withdrawn_ml: str | Fraction) -> RefillCheck:
    """Step 2: the residual withdrawn against the pump's estimate (raises RefillDiscrepancy).

    The fill is not known yet at this step and the discrepancy does not depend on it,
    so the check runs with the reservoir's capacity as the fill; step 3 checks the
    real fill.
    """
    capacity_ml = _ml(view.report.reservoir.capacity_nl)
    return check_refill(expected_residual_ml=_ml(expected_residual_nl(view)),
                        withdrawn_ml=withdrawn_ml, fill_ml=capacity_ml, capacity_ml=capacity_ml)


def check_drug(brand: str, concentration_mcg_per_ml: str | Fraction,
               prescribed_mcg_per_ml: str | Fraction) -> DrugProduct:
    """Step 3: the drug is a marketed pump-refill strength and is what was prescribed."""
    product = find_product(brand, concentration_mcg_per_ml)
    if product.screening_only:
        raise InvalidInput("concentration", f"{display(product.concentration_mcg_per_ml)} mcg/mL",
                           "a pump-refill strength of " + brand,
                           f"{display(product.concentration_mcg_per_ml)} mcg/mL {brand} is for "
                           "the screening trial only")
    require_prescribed(product.concentration_mcg_per_ml, prescribed_mcg_per_ml, "drug")
    return product


def require_prescribed(concentration_mcg_per_ml: Fraction, prescribed_mcg_per_ml: str | Fraction,
                       what: str) -> None:
    """The strength put in (the `what`: the drug or the dilution) is the prescribed
    concentration; PrescriptionMismatch otherwise, and the refill is refused."""
    prescribed = exact("prescribed concentration", prescribed_mcg_per_ml)
    if concentration_mcg_per_ml != prescribed:
        raise PrescriptionMismatch(
            "concentration", f"{display(concentration_mcg_per_ml)} mcg/mL",
            f"the prescribed {display(prescribed)} mcg/mL",
            f"the {what} does not match the prescription; refill refused")


def check_fill(view: PumpView, withdrawn_ml: str | Fraction,
               added_ml: str | Fraction) -> RefillCheck:
    """Step 3: the volume added fits the reservoir (raises Overfill), after step 2's check."""
    return check_refill(expected_residual_ml=_ml(expected_residual_nl(view)),
                        withdrawn_ml=withdrawn_ml, fill_ml=added_ml,
                        capacity_ml=_ml(view.report.reservoir.capacity_nl))


def catheter_ml(catheter_ml_text: str | None, catheter_length_cm: str | None) -> Fraction:
    """The implanted catheter volume from the clinic's record (volume, or length x mL/cm)."""
    if catheter_ml_text is not None and catheter_length_cm is not None:
        raise InvalidInput("catheter", "both --catheter-ml and --catheter-length-cm",
                           "one of them")
    if catheter_ml_text is not None:
        return exact("catheter_ml", catheter_ml_text)
    if catheter_length_cm is not None:
        return catheter_volume_ml(catheter_length_cm)
    raise InvalidInput("catheter volume", "not given",
                       "--catheter-ml V or --catheter-length-cm L (from the implant record)",
                       "the bridge bolus for a change of concentration needs it")


def plan_bridge(view: PumpView, new_concentration: Fraction,
                catheter_volume_ml: Fraction) -> BridgeBolus:
    """Step 4: the bridge bolus that pushes the old drug out at the old daily dose."""
    if view.daily_dose_mcg is None:
        raise InvalidInput("program", "none", "a program on the pump, to keep its daily dose")
    return plan_bridge_bolus(old_concentration_mcg_per_ml=view.concentration_mcg_per_ml,
                             new_concentration_mcg_per_ml=new_concentration,
                             old_daily_dose_mcg=view.daily_dose_mcg,
                             pump_tubing_ml=_ml(view.facts.tubing_volume_nl),
                             catheter_ml=catheter_volume_ml)


def project_after_refill(view: PumpView, reservoir_nl: int, concentration: Fraction,
                         filled_at: datetime, bridge: BridgeBolus | None = None) -> Projection:
    """Step 5: alarm and refill-by dates for the refilled reservoir and the same program,
    after the bridge bolus if there is one (it runs first, issue 9.3)."""
    bolus_nl, until = 0, None
    if bridge is not None:
        bolus_nl = math.ceil(bridge.dead_volume_nl)
        until = filled_at + timedelta(
            microseconds=int(bridge.bridge_duration_h * 3_600_000_000))
    return project_reservoir(
        reservoir_nl=reservoir_nl, concentration_mcg_per_ml=concentration,
        program=view.schedule if view.schedule is not None else view.daily_dose_mcg,
        alarm_nl=view.report.reservoir.low_reservoir_alarm_nl, now=filled_at,
        filled_at=filled_at, capacity_nl=view.report.reservoir.capacity_nl,
        running_bolus_nl=bolus_nl, bolus_until=until, stroke_nl=view.facts.nominal_stroke_nl)


def verify_refill_echo(*, withdrawn_nl: int, added_nl: int, concentration: Fraction,
                       bridge: bool, echo: RefillConfirmation) -> list[str]:
    """Differences between the refill sent and the pump's echo (empty: verified)."""
    problems = []
    if echo.withdrawn_nl != withdrawn_nl:
        problems.append(f"withdrawn {display(_ml(echo.withdrawn_nl))} mL, "
                        f"not {display(_ml(withdrawn_nl))} mL")
    if echo.added_nl != added_nl:
        problems.append(f"added {display(_ml(echo.added_nl))} mL, not {display(_ml(added_nl))} mL")
    if echo.concentration_mcg_per_ml != concentration:
        problems.append(f"concentration {display(echo.concentration_mcg_per_ml)} mcg/mL, "
                        f"not {display(concentration)} mcg/mL")
    if bridge != (echo.bridge_bolus_nl > 0):
        problems.append("bridge bolus " + ("missing" if bridge else "given but not asked for"))
    return problems


@dataclass(frozen=True)
class RefillRecord:
    """What the clinic files about one refill (step 7)."""

    serial: str
    pump_time: datetime
    outcome: str  # "refilled" or "stopped: ..."
    expected_residual_nl: int
    withdrawn_nl: int | None
    discrepancy_nl: int | None
    brand: str | None
    concentration_mcg_per_ml: Fraction | None
    previous_concentration_mcg_per_ml: Fraction
    prescribed_concentration_mcg_per_ml: Fraction | None
    added_nl: int | None
    reservoir_estimate_nl: int | None
    bridge: BridgeBolus | None
    pump_bridge_bolus_nl: int | None
    bridge_until: datetime | None
    low_reservoir_alarm_at: datetime | None
    refill_by: datetime | None
    refill_by_reason: str | None
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        def ml(volume: int | None) -> str | None:
            return None if volume is None else to_exact_str(_ml(volume))

        def conc(value: Fraction | None) -> str | None:
            return None if value is None else to_exact_str(value)

        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        bridge = self.bridge
        return {
            "serial": self.serial, "pump_time": iso(self.pump_time), "outcome": self.outcome,
            "expected_residual_ml": ml(self.expected_residual_nl),
            "withdrawn_ml": ml(self.withdrawn_nl), "discrepancy_ml": None
            if self.discrepancy_nl is None else to_exact_str(_ml(self.discrepancy_nl)),
            "drug": self.brand, "concentration_mcg_per_ml": conc(self.concentration_mcg_per_ml),
            "previous_concentration_mcg_per_ml": conc(self.previous_concentration_mcg_per_ml),
            "prescribed_concentration_mcg_per_ml": conc(self.prescribed_concentration_mcg_per_ml),
            "added_ml": ml(self.added_nl), "reservoir_estimate_ml": ml(self.reservoir_estimate_nl),
            "bridge_bolus": None if bridge is None else {
                "dead_volume_ml": to_exact_str(bridge.dead_volume_ml),
                "rate_ml_per_day": to_exact_str(bridge.bridge_rate_ml_per_day),
                "duration_h": to_exact_str(bridge.bridge_duration_h),
                "old_drug_mcg": to_exact_str(bridge.bridge_dose_mcg),
                "pump_volume_ml": ml(self.pump_bridge_bolus_nl),
                "until": iso(self.bridge_until)},
            "low_reservoir_alarm_at": iso(self.low_reservoir_alarm_at),
            "refill_by": iso(self.refill_by), "refill_by_reason": self.refill_by_reason,
            "reasons": list(self.reasons),
        }


def volume_nl(field: str, volume_ml: str | Fraction) -> int:
    return ml_to_nl(field, volume_ml)


KNOWN_BRANDS = BRANDS
