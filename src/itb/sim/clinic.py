"""The simulated clinic sees the patient: the patient model is fed in pieces, and the clinic
checks the response before a dose increase (issue 16.15).

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
from datetime import UTC, datetime
from fractions import Fraction
from typing import TYPE_CHECKING

from itb.physiology import DrugDelivery, Patient, PatientTrace, Route
from itb.pump import Pump
from itb.pump.physical import DISCONNECTED, OCCLUDED, PARTIAL_OCCLUSION
from itb.therapy.units import NL_PER_ML, display

if TYPE_CHECKING:
    from itb.pump.pump import DeliverySegment
    from itb.sim.runner import _Run

SAMPLE_S = 300  # the timeline's resolution: 5 minutes


def _dt(seconds_utc: int) -> datetime:
    return datetime.fromtimestamp(seconds_utc, tz=UTC)


def exact_mcg(segments: list[DeliverySegment]) -> list[Fraction]:
    """The exact drug in each segment (a run has few concentrations: each is split into
    numerator and denominator once, so each amount is one Fraction construction)."""
    parts: dict[Fraction, tuple[int, int]] = {}
    out = []
    for segment in segments:
        conc = segment.mcg_per_ml
        pair = parts.get(conc)
        if pair is None:
            pair = parts[conc] = (conc.numerator, conc.denominator * NL_PER_ML)
        out.append(Fraction(segment.volume_nl * pair[0], pair[1]))
    return out

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


def feed_patient(run: _Run, patient: Patient, end_s: int) -> PatientTrace:
    """The patient under all the drug that truly arrived and was not yet given to them
    (`observe` gives it in pieces when the clinic examines the patient), in one
    closed-form pass; splitting a pass gives the same samples."""
    h = run.history
    now_s = int(patient.now.timestamp())
    deliveries: list[DrugDelivery] = []
    for slot, (segments, route) in enumerate(((h.csf, Route.CSF), (h.leak, Route.POCKET))):
        # Drug that leaks out of a disconnected or broken catheter goes into the tissue
        # around it, from where it is absorbed like a pocket deposit.
        fresh = segments[run.fed[slot]:]
        run.fed[slot] = len(segments)
        for segment, mcg in zip(fresh, exact_mcg(fresh), strict=True):
            if segment.start_s >= now_s:
                deliveries.append(DrugDelivery(_dt(segment.start_s), _dt(segment.end_s),
                                               mcg, route))
    for deposit in h.deposits[run.fed[2]:]:
        if deposit.time_s >= now_s:
            at = _dt(deposit.time_s)
            deliveries.append(DrugDelivery(at, at, deposit.mcg, Route.POCKET))
    run.fed[2] = len(h.deposits)
    for time_s, mcg in h.access_port[run.fed[3]:]:
        if time_s >= now_s:
            at = _dt(time_s)
            deliveries.append(DrugDelivery(at, at, mcg, Route.CSF))
    run.fed[3] = len(h.access_port)
    return patient.advance(_dt(end_s), deliveries, sample_every_s=SAMPLE_S)

def observe(run: _Run, when: int) -> float:
    """The clinic examines the patient now: the Modified Ashworth score (the patient
    model is brought up to now with what has truly arrived)."""
    patient = run.patient
    assert patient is not None
    if when > int(patient.now.timestamp()):
        run.patient_traces.append(feed_patient(run, patient, when))
    return patient.state_at(_dt(when)).ashworth

def response_check(run: _Run, when: int, proposed: Fraction) -> bool:
    """Before an increase: on a poor response to rising doses the clinic checks the
    pump and catheter first (sim.clinic); True if the increase may go ahead."""
    assert run.built is not None and run.pump is not None
    current = run.built.daily_dose_mcg
    if proposed <= current or not run.recording:
        return True
    ashworth = observe(run, when)
    if poor_response(run.increases, when, current, ashworth):
        finding = check_pump_and_catheter(run.pump)
        run.note(when, "clinic", "catheter_check",
                  f"poor response to rising doses (Ashworth {ashworth:.1f}): pump and "
                  f"catheter checked before the next increase: "
                  + (f"found {finding}; the increase is held" if finding else
                     "no fault found"))
        if finding:
            return False
    run.increases.append(Increase(when, current, ashworth))
    return True
