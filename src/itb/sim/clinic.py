"""The simulated clinic's response check before a dose increase (issue 16.15).

A poor response to rising doses prompts a pump and catheter check before the next
increase (issue 16.15; Saulino et al., "Best practices for intrathecal baclofen therapy:
troubleshooting", Neuromodulation 2016;19(6):632-41, via lioresal.com; seed 004 lists
catheter blockage, migration and pump failure among the device complications). The clinic
examines the patient (Modified Ashworth) at each increase; when the dose has risen by
POOR_RESPONSE_DOSE_RISE over the last two increases within POOR_RESPONSE_WINDOW_S and the
tone has not fallen by POOR_RESPONSE_ASHWORTH_DROP or is still at least
UNCONTROLLED_ASHWORTH (spasticity not controlled despite the rise), it interrogates the
pump and checks
the catheter (an access-port aspiration or a dye study: a physical test, so it finds what
is physically there) before giving another increase. All three figures are *unconfirmed*
clinic choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from itb.pump import Pump
from itb.pump.physical import DISCONNECTED, OCCLUDED, PARTIAL_OCCLUSION
from itb.therapy.units import display

POOR_RESPONSE_DOSE_RISE = Fraction(6, 5)
POOR_RESPONSE_WINDOW_S = 14 * 86_400
POOR_RESPONSE_ASHWORTH_DROP = 0.25
UNCONTROLLED_ASHWORTH = 2.5


@dataclass(frozen=True)
class Increase:
    """One dose increase the clinic gave: when, the dose before it, the tone then."""

    time_s: int
    dose_before_mcg_per_day: Fraction
    ashworth: float


def poor_response(increases: list[Increase], now_s: int, dose_now: Fraction,
                  ashworth_now: float) -> bool:
    """Two increases within the window raised the dose enough, and the tone did not fall."""
    if len(increases) < 2:
        return False
    first = increases[-2]
    return (now_s - first.time_s <= POOR_RESPONSE_WINDOW_S
            and dose_now >= first.dose_before_mcg_per_day * POOR_RESPONSE_DOSE_RISE
            and (ashworth_now > first.ashworth - POOR_RESPONSE_ASHWORTH_DROP
                 or ashworth_now >= UNCONTROLLED_ASHWORTH))


def check_pump_and_catheter(pump: Pump) -> str | None:
    """What an interrogation and a catheter check find, in words; None if nothing."""
    status = pump.status()
    found = []
    if status.alarms:
        found.append("pump alarms: " + ", ".join(kind for kind, _critical, _on in status.alarms))
    if pump.stalled:
        found.append("the pump's motor is stalled")
    catheter = pump.physical.catheter
    if catheter.state == OCCLUDED:
        found.append("the catheter is blocked (nothing can be aspirated)")
    elif catheter.state == PARTIAL_OCCLUSION:
        found.append("the catheter is partly blocked")
    elif catheter.state == DISCONNECTED:
        share = Fraction(catheter.leak_ppm, 1_000_000)
        found.append("the catheter leaks" + ("" if share == 1 else
                                             f" ({display(share * 100, 1)} % of the flow)")
                     + " before its tip")
    return "; ".join(found) or None
