"""The physical pump: what really happens to the drug (truth, invisible to the firmware).

Volumes are whole nanolitres; drug amounts are exact `Fraction` micrograms. The
drug path is reservoir -> pump tubing -> catheter -> catheter tip, with the
tubing and catheter held as a FIFO of parcels (volume, concentration), so that
after a concentration change the old drug really leaves first. Where the drug
goes at the outlet depends on the catheter: patent (CSF), partially or fully
occluded (less or no drug leaves the reservoir), disconnected or leaking (into
the tissue, not the CSF).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from itb.pump.catalogue import SECONDS_PER_YEAR, PumpModel
from itb.therapy.units import NL_PER_ML

PPM = 1_000_000
DRIFT_EPOCH_S = 30 * 86_400  # the true stroke volume is re-evaluated monthly (itb choice)

PATENT = "patent"
PARTIAL_OCCLUSION = "partial_occlusion"
OCCLUDED = "occluded"
DISCONNECTED = "disconnected"


@dataclass
class Catheter:
    """Catheter state: the share of each stroke that leaves the reservoir and the share
    of the outflow that leaks before the tip (both in parts per million)."""

    state: str = PATENT
    flow_ppm: int = PPM
    leak_ppm: int = 0


@dataclass(frozen=True)
class PocketDeposit:
    """Drug injected into the subcutaneous pocket at a refill (for the patient model)."""

    time_s: int
    volume_nl: int
    mcg: Fraction


@dataclass(frozen=True)
class PhysicalRefill:
    """The truth of one refill: what really came out and went in (for the simulator)."""

    withdrawn_nl: int  # really withdrawn (never more than the reservoir held)
    into_reservoir_nl: int
    left_in_syringe_nl: int  # drug that did not fit: the reservoir was full
    pocket_deposit: PocketDeposit | None


_ZERO = Fraction(0)


def mcg_in(volume_nl: int, concentration_mcg_per_ml: Fraction) -> Fraction:
    return volume_nl * concentration_mcg_per_ml / NL_PER_ML


def add_run(runs: list[list[Any]], concentration: Fraction, volume_nl: int) -> None:
    if runs and (runs[-1][0] is concentration or runs[-1][0] == concentration):
        runs[-1][0] = concentration  # identical object next time: `is` beats Fraction ==
        runs[-1][1] += volume_nl
    else:
        runs.append([concentration, volume_nl])


@dataclass
class PhysicalPump:
    """Truth: reservoir, stroke volume, dead-volume FIFO, catheter, battery, and the ledger."""

    model: PumpModel
    implant_s: int
    calibration_ppm: int
    drift_ppm_per_year: int
    reservoir_nl: int = 0
    reservoir_mcg_per_ml: Fraction = Fraction(0)
    stroke_nl: int = 0
    next_drift_s: int = 0
    catheter: Catheter = field(default_factory=Catheter)
    # Dead volume, outlet first: [volume_nl, concentration].
    fifo: deque[list[Any]] = field(default_factory=deque)
    battery_nc: int = 0
    # Ledger (exact): filled = csf + leak + withdrawn + reservoir + fifo - initial dead volume.
    filled_nl: int = 0
    filled_mcg: Fraction = Fraction(0)
    withdrawn_nl: int = 0
    withdrawn_mcg: Fraction = Fraction(0)
    csf_nl: int = 0
    leak_nl: int = 0
    # Running totals by concentration, [[concentration, nL], ...]; the last entry is the
    # current run, so the hot path adds integers and never builds a Fraction.
    csf_by_concentration: list[list[Any]] = field(default_factory=list)
    leak_by_concentration: list[list[Any]] = field(default_factory=list)
    pocket_nl: int = 0
    pocket_mcg: Fraction = Fraction(0)
    pocket_deposits: list[PocketDeposit] = field(default_factory=list)

    def true_stroke_nl_at(self, time_s: int) -> int:
        """Nominal × (1 + calibration) × (1 + drift × age), rounded to whole nL."""
        age_s = max(0, time_s - self.implant_s)
        scale = PPM * SECONDS_PER_YEAR + self.calibration_ppm * SECONDS_PER_YEAR \
            + self.drift_ppm_per_year * age_s
        num = self.model.nominal_stroke_nl * scale
        den = PPM * SECONDS_PER_YEAR
        return (2 * num + den) // (2 * den)

    def update_drift(self, time_s: int) -> None:
        self.stroke_nl = self.true_stroke_nl_at(time_s)
        while self.next_drift_s <= time_s:
            self.next_drift_s += DRIFT_EPOCH_S

    @property
    def moved_per_stroke_nl(self) -> int:
        return self.stroke_nl * self.catheter.flow_ppm // PPM

    @property
    def dead_volume_nl(self) -> int:
        return sum(p[0] for p in self.fifo)

    @property
    def fifo_mcg(self) -> Fraction:
        return sum((mcg_in(v, c) for v, c in self.fifo), Fraction(0))

    @property
    def csf_mcg(self) -> Fraction:
        return sum((mcg_in(v, c) for c, v in self.csf_by_concentration), Fraction(0))

    @property
    def leak_mcg(self) -> Fraction:
        return sum((mcg_in(v, c) for c, v in self.leak_by_concentration), Fraction(0))

    @property
    def reservoir_mcg(self) -> Fraction:
        return mcg_in(self.reservoir_nl, self.reservoir_mcg_per_ml)

    def strokes_until_event(self) -> int | None:
        """Strokes until the reservoir runs dry or a parcel boundary reaches the outlet."""
        per = self.moved_per_stroke_nl
        if per <= 0 or self.reservoir_nl <= 0:
            return None
        best = -(-self.reservoir_nl // per)
        fifo = self.fifo
        # A parcel boundary exists (or the next push creates one): split the segment where it
        # reaches the outlet, so the patient sees the concentration change at the right time.
        if fifo and (len(fifo) > 1 or fifo[-1][1] != self.reservoir_mcg_per_ml):
            best = min(best, -(-fifo[0][0] // per))
        return best

    def single_parcel(self) -> bool:
        """One parcel at the reservoir's strength fills the dead volume: a stroke's outflow
        is then that same drug, and the parcel's volume does not change (see `run_strokes`)."""
        fifo = self.fifo
        return len(fifo) == 1 and fifo[0][1] == self.reservoir_mcg_per_ml

    def settle_outflow(self, reservoir_nl: int, csf_nl: int, leak_nl: int) -> None:
        """Book strokes moved through a single parcel (`single_parcel`) in one go: the
        reservoir left, and the drug into the CSF and leaked, at the parcel's strength."""
        self.reservoir_nl = reservoir_nl
        strength = self.fifo[0][1]
        if csf_nl:
            add_run(self.csf_by_concentration, strength, csf_nl)
            self.csf_nl += csf_nl
        if leak_nl:
            add_run(self.leak_by_concentration, strength, leak_nl)
            self.leak_nl += leak_nl

    def run_strokes(self, strokes: int) -> tuple[int, Fraction, int, Fraction]:
        """Move `strokes` motor strokes of drug.

        Returns (nL into CSF, their mean concentration, nL leaked, their mean concentration).
        """
        moved = strokes * self.moved_per_stroke_nl
        if moved > self.reservoir_nl:
            moved = self.reservoir_nl
        if moved <= 0:
            return 0, _ZERO, 0, _ZERO
        conc = self.reservoir_mcg_per_ml
        self.reservoir_nl -= moved
        fifo = self.fifo
        last = fifo[-1] if fifo else None
        if last is not None and (last[1] is conc or last[1] == conc):
            last[1] = conc
            last[0] += moved
        else:
            fifo.append([moved, conc])
        leak_ppm = self.catheter.leak_ppm
        parcel = fifo[0]
        if parcel[0] > moved:
            # Common case: the outflow comes from one parcel.
            parcel[0] -= moved
            leak = moved * leak_ppm // PPM if leak_ppm else 0
            csf = moved - leak
            pc = parcel[1]
            if csf:
                add_run(self.csf_by_concentration, pc, csf)
            if leak:
                add_run(self.leak_by_concentration, pc, leak)
            self.csf_nl += csf
            self.leak_nl += leak
            return csf, pc, leak, pc
        need = moved
        csf_total = leak_total = 0
        csf_mcg = leak_mcg = _ZERO
        while need > 0:
            parcel = fifo[0]
            take = parcel[0] if parcel[0] <= need else need
            parcel[0] -= take
            need -= take
            if parcel[0] == 0:
                fifo.popleft()
            leak = take * leak_ppm // PPM
            csf = take - leak
            if csf:
                add_run(self.csf_by_concentration, parcel[1], csf)
                csf_mcg += mcg_in(csf, parcel[1])
            if leak:
                add_run(self.leak_by_concentration, parcel[1], leak)
                leak_mcg += mcg_in(leak, parcel[1])
            csf_total += csf
            leak_total += leak
        self.csf_nl += csf_total
        self.leak_nl += leak_total
        csf_conc = csf_mcg * NL_PER_ML / csf_total if csf_total else _ZERO
        leak_conc = leak_mcg * NL_PER_ML / leak_total if leak_total else _ZERO
        return csf_total, csf_conc, leak_total, leak_conc

    def refill(self, time_s: int, withdrawn_reading_nl: int | None, added_nl: int,
               pocket_fill_nl: int, true_mcg_per_ml: Fraction) -> PhysicalRefill:
        """What physically happens at a refill, whatever the nurse's readings say.

        The syringe reading is an observation: one cannot withdraw more than the reservoir
        holds, so a reading above the true volume (within the syringe's resolution) means
        the reservoir was emptied. A fill beyond the reservoir's capacity stops when the
        reservoir is full and the excess stays in the syringe (the nurse sees it).
        """
        withdrawn = self.reservoir_nl if withdrawn_reading_nl is None \
            else min(withdrawn_reading_nl, self.reservoir_nl)
        if withdrawn:
            self.withdrawn_nl += withdrawn
            self.withdrawn_mcg += mcg_in(withdrawn, self.reservoir_mcg_per_ml)
            self.reservoir_nl -= withdrawn
        into = min(added_nl - pocket_fill_nl, self.model.reservoir_capacity_nl - self.reservoir_nl)
        if into:
            total = self.reservoir_nl + into
            self.reservoir_mcg_per_ml = (self.reservoir_nl * self.reservoir_mcg_per_ml
                                         + into * true_mcg_per_ml) / total
            self.reservoir_nl = total
        deposit = None
        if pocket_fill_nl:
            deposit = PocketDeposit(time_s, pocket_fill_nl, mcg_in(pocket_fill_nl, true_mcg_per_ml))
            self.pocket_nl += pocket_fill_nl
            self.pocket_mcg += deposit.mcg
            self.pocket_deposits.append(deposit)
        self.filled_nl += into + pocket_fill_nl
        self.filled_mcg += mcg_in(into + pocket_fill_nl, true_mcg_per_ml)
        return PhysicalRefill(withdrawn, into, added_nl - pocket_fill_nl - into, deposit)

    def _draw_catheter(self, volume_nl: int) -> tuple[int, Fraction]:
        """Draw up to `volume_nl` out of the catheter, tip first (counted as withdrawn); never
        more than the catheter holds (the dead volume beyond the pump tubing)."""
        want = min(volume_nl, max(0, self.dead_volume_nl - self.model.tubing_volume_nl))
        removed, mcg = 0, Fraction(0)
        fifo = self.fifo
        while fifo and removed < want:
            parcel = fifo[0]
            take = min(parcel[0], want - removed)
            parcel[0] -= take
            removed += take
            mcg += mcg_in(take, parcel[1])
            if parcel[0] == 0:
                fifo.popleft()
        self.withdrawn_nl += removed
        self.withdrawn_mcg += mcg
        return removed, mcg

    def replace_catheter(self, catheter_volume_nl: int) -> None:
        """Surgery: the old catheter comes out with its drug (counted as withdrawn) and a new,
        patent one full of saline goes in. The true catheter is the dead volume beyond the
        pump tubing, whatever the firmware stores."""
        self._draw_catheter(self.dead_volume_nl)
        self.fifo.appendleft([catheter_volume_nl, Fraction(0)])
        self.filled_nl += catheter_volume_nl  # saline enters the system
        self.catheter = Catheter()

    def aspirate_catheter(self, volume_nl: int) -> tuple[int, Fraction]:
        """Aspiration at the catheter access port before an injection: the drug in the
        catheter is drawn out and discarded, and CSF flows back into the catheter in its
        place (so nothing the syringe pushes carries the pump's drug in as an unplanned
        bolus). Returns the volume and the drug drawn out."""
        removed, mcg = self._draw_catheter(volume_nl)
        if removed:
            self.fifo.appendleft([removed, Fraction(0)])
            self.filled_nl += removed  # CSF enters the fluid path (the ledger's balance)
        return removed, mcg

    def occlude_catheter(self, flow_fraction: Fraction) -> None:
        """Occlusion: `flow_fraction` of each stroke still gets through (0 = full)."""
        ppm = int(flow_fraction * PPM)
        self.catheter = Catheter(OCCLUDED if ppm == 0 else PARTIAL_OCCLUSION, ppm, 0)

    def disconnect_catheter(self, leak_fraction: Fraction) -> None:
        """Disconnection (1) or fracture (<1): that share of the outflow leaks."""
        self.catheter = Catheter(DISCONNECTED, PPM, int(leak_fraction * PPM))

    def to_state(self) -> dict[str, Any]:
        return {
            "implant_s": self.implant_s, "calibration_ppm": self.calibration_ppm,
            "drift_ppm_per_year": self.drift_ppm_per_year, "reservoir_nl": self.reservoir_nl,
            "reservoir_mcg_per_ml": str(self.reservoir_mcg_per_ml), "stroke_nl": self.stroke_nl,
            "next_drift_s": self.next_drift_s,
            "catheter": {"state": self.catheter.state, "flow_ppm": self.catheter.flow_ppm,
                         "leak_ppm": self.catheter.leak_ppm},
            "fifo": [[v, str(c)] for v, c in self.fifo], "battery_nc": self.battery_nc,
            "filled_nl": self.filled_nl, "filled_mcg": str(self.filled_mcg),
            "withdrawn_nl": self.withdrawn_nl, "withdrawn_mcg": str(self.withdrawn_mcg),
            "csf_nl": self.csf_nl, "leak_nl": self.leak_nl,
            "csf_by_concentration": [[str(c), v] for c, v in self.csf_by_concentration],
            "leak_by_concentration": [[str(c), v] for c, v in self.leak_by_concentration],
            "pocket_nl": self.pocket_nl, "pocket_mcg": str(self.pocket_mcg),
            "pocket_deposits": [[d.time_s, d.volume_nl, str(d.mcg)] for d in self.pocket_deposits],
        }

    @classmethod
    def from_state(cls, model: PumpModel, data: dict[str, Any]) -> PhysicalPump:
        cat = data["catheter"]
        return cls(
            model=model, implant_s=int(data["implant_s"]),
            calibration_ppm=int(data["calibration_ppm"]),
            drift_ppm_per_year=int(data["drift_ppm_per_year"]),
            reservoir_nl=int(data["reservoir_nl"]),
            reservoir_mcg_per_ml=Fraction(data["reservoir_mcg_per_ml"]),
            stroke_nl=int(data["stroke_nl"]), next_drift_s=int(data["next_drift_s"]),
            catheter=Catheter(str(cat["state"]), int(cat["flow_ppm"]), int(cat["leak_ppm"])),
            fifo=deque([int(v), Fraction(c)] for v, c in data["fifo"]),
            battery_nc=int(data["battery_nc"]),
            filled_nl=int(data["filled_nl"]), filled_mcg=Fraction(data["filled_mcg"]),
            withdrawn_nl=int(data["withdrawn_nl"]), withdrawn_mcg=Fraction(data["withdrawn_mcg"]),
            csf_nl=int(data["csf_nl"]), leak_nl=int(data["leak_nl"]),
            csf_by_concentration=[[Fraction(c), int(v)] for c, v in data["csf_by_concentration"]],
            leak_by_concentration=[[Fraction(c), int(v)]
                                   for c, v in data["leak_by_concentration"]],
            pocket_nl=int(data["pocket_nl"]), pocket_mcg=Fraction(data["pocket_mcg"]),
            pocket_deposits=[PocketDeposit(int(t), int(v), Fraction(m))
                             for t, v, m in data["pocket_deposits"]],
        )
