"""Concentration change: the bridge bolus and the new flow rate.

When the reservoir is emptied and refilled at a new concentration, the pump
tubing and the catheter still hold the old drug (the dead volume). The pump must
push that old drug out at the rate that keeps the *old* daily dose, otherwise the
patient gets the old concentration at the new flow rate (an under- or overdose).
This is the bridge bolus; when the dead volume has been pushed out, the new drug
reaches the patient and the new program (new daily dose at the new concentration)
takes over.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY, ExactLike, display, in_range


def catheter_volume_ml(length_cm: ExactLike,
                       volume_ml_per_cm: ExactLike = catalogue.DEFAULT_CATHETER_VOLUME_ML_PER_CM
                       ) -> Fraction:
    """Implanted catheter volume: length x volume per cm.

    The default 0.0026 mL/cm is the Prometra intrathecal catheter figure (catalogue
    [PROMETRA]); other catheters differ, so pass the catheter's own figure.
    """
    length = in_range("catheter_length_cm", length_cm, 0, 200, "cm", low_inclusive=False)
    per_cm = in_range("catheter_volume_ml_per_cm", volume_ml_per_cm, 0, Fraction("0.1"),
                      "mL/cm", low_inclusive=False)
    return length * per_cm


@dataclass(frozen=True)
class BridgeBolus:
    """The bridge bolus and the program that follows it."""

    pump_tubing_ml: Fraction
    catheter_ml: Fraction
    dead_volume_ml: Fraction  # old drug to push out (pump tubing + catheter)
    old_concentration_mcg_per_ml: Fraction
    new_concentration_mcg_per_ml: Fraction
    old_daily_dose_mcg: Fraction
    new_daily_dose_mcg: Fraction
    bridge_rate_ml_per_day: Fraction  # keeps the old daily dose with the old drug
    bridge_dose_mcg_per_day: Fraction  # equals old_daily_dose_mcg
    bridge_duration_s: Fraction
    bridge_dose_mcg: Fraction  # old drug delivered during the bridge
    new_rate_ml_per_day: Fraction  # new daily dose at the new concentration

    @property
    def bridge_duration_h(self) -> Fraction:
        return self.bridge_duration_s / 3600

    @property
    def dead_volume_nl(self) -> Fraction:
        return self.dead_volume_ml * NL_PER_ML


def plan_bridge_bolus(*, old_concentration_mcg_per_ml: ExactLike,
                      new_concentration_mcg_per_ml: ExactLike,
                      old_daily_dose_mcg: ExactLike, new_daily_dose_mcg: ExactLike | None = None,
                      pump_tubing_ml: ExactLike, catheter_ml: ExactLike) -> BridgeBolus:
    """The bridge bolus for a concentration change.

    `new_daily_dose_mcg` defaults to the old one (a change of concentration only).
    `pump_tubing_ml` (the pump's internal path) has no default: it is model-specific
    and *unconfirmed* in devices.md, so it must be given; `catheter_ml` comes from
    `catheter_volume_ml`.
    """
    old_conc = in_range("old_concentration_mcg_per_ml", old_concentration_mcg_per_ml, 0, None,
                        "mcg/mL", low_inclusive=False)
    new_conc = in_range("new_concentration_mcg_per_ml", new_concentration_mcg_per_ml, 0, None,
                        "mcg/mL", low_inclusive=False)
    if new_conc == old_conc:
        raise InvalidInput("new_concentration_mcg_per_ml", display(new_conc),
                           f"a concentration other than the old {display(old_conc)} mcg/mL",
                           "a bridge bolus is only needed when the concentration changes")
    old_dose = in_range("old_daily_dose_mcg", old_daily_dose_mcg, 0, None, "mcg/day",
                        low_inclusive=False)
    new_dose = old_dose if new_daily_dose_mcg is None else in_range(
        "new_daily_dose_mcg", new_daily_dose_mcg, 0, None, "mcg/day", low_inclusive=False)
    tubing = in_range("pump_tubing_ml", pump_tubing_ml, 0, 5, "mL")
    catheter = in_range("catheter_ml", catheter_ml, 0, 5, "mL")
    dead = tubing + catheter
    if dead <= 0:
        raise InvalidInput("dead volume (pump_tubing_ml + catheter_ml)", display(dead),
                           "more than 0 mL")
    bridge_rate = old_dose / old_conc
    duration_s = dead / bridge_rate * SECONDS_PER_DAY
    return BridgeBolus(
        pump_tubing_ml=tubing, catheter_ml=catheter, dead_volume_ml=dead,
        old_concentration_mcg_per_ml=old_conc, new_concentration_mcg_per_ml=new_conc,
        old_daily_dose_mcg=old_dose, new_daily_dose_mcg=new_dose,
        bridge_rate_ml_per_day=bridge_rate, bridge_dose_mcg_per_day=bridge_rate * old_conc,
        bridge_duration_s=duration_s, bridge_dose_mcg=dead * old_conc,
        new_rate_ml_per_day=new_dose / new_conc,
    )
