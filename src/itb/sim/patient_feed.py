"""The patient as a part of a run: fed the drug that truly arrived, in closed-form passes.

The patient model (`itb.physiology.Patient`) takes the delivery history as it is: drug
into the CSF, drug that leaked into the tissue or was injected into the pocket (absorbed
like a pocket deposit), and boluses through the catheter access port. `PatientFeed`
remembers how much of the history it has given, so the clinic can examine the patient
in the middle of a run (`observe`) and the rest is given at the end; splitting a pass
gives the same samples.
"""

from __future__ import annotations

from fractions import Fraction

from itb.physiology import DrugDelivery, Patient, PatientTrace, Route
from itb.pump.pump import DeliverySegment
from itb.pump.records import to_datetime
from itb.sim.records import PumpHistory
from itb.therapy.units import NL_PER_ML

SAMPLE_S = 300  # the timeline's resolution: 5 minutes


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


class PatientFeed:
    def __init__(self, patient: Patient) -> None:
        self.patient = patient
        self.traces: list[PatientTrace] = []
        # History items already given (csf, leak, pocket deposits, access-port boluses).
        self._fed = [0, 0, 0, 0]

    def feed(self, history: PumpHistory, end_s: int) -> PatientTrace:
        """The patient under all the drug that truly arrived and was not yet given to them,
        up to `end_s`, in one closed-form pass."""
        patient = self.patient
        now_s = int(patient.now.timestamp())
        deliveries: list[DrugDelivery] = []
        for slot, (segments, route) in enumerate(((history.csf, Route.CSF),
                                                  (history.leak, Route.POCKET))):
            # Drug that leaks out of a disconnected or broken catheter goes into the tissue
            # around it, from where it is absorbed like a pocket deposit.
            fresh = segments[self._fed[slot]:]
            self._fed[slot] = len(segments)
            for segment, mcg in zip(fresh, exact_mcg(fresh), strict=True):
                if segment.start_s >= now_s:
                    deliveries.append(DrugDelivery(to_datetime(segment.start_s),
                                                   to_datetime(segment.end_s), mcg, route))
        for deposit in history.deposits[self._fed[2]:]:
            if deposit.time_s >= now_s:
                at = to_datetime(deposit.time_s)
                deliveries.append(DrugDelivery(at, at, deposit.mcg, Route.POCKET))
        self._fed[2] = len(history.deposits)
        for time_s, mcg in history.access_port[self._fed[3]:]:
            if time_s >= now_s:
                at = to_datetime(time_s)
                deliveries.append(DrugDelivery(at, at, mcg, Route.CSF))
        self._fed[3] = len(history.access_port)
        return patient.advance(to_datetime(end_s), deliveries, sample_every_s=SAMPLE_S)

    def observe(self, history: PumpHistory, when: int) -> float:
        """The clinic examines the patient now: the Modified Ashworth score (the patient
        model is brought up to now with what has truly arrived)."""
        if when > int(self.patient.now.timestamp()):
            self.traces.append(self.feed(history, when))
        return self.patient.state_at(to_datetime(when)).ashworth
