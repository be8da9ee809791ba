"""What a run writes down: the journal of what happened, and the pumps' delivery history.

The journal is the run's only shared record. The parts of a run (the pump recorder, the
clinic, the acts, the faults) each write to it; nothing reads it back during the run
except the summary and the timeline afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from itb.pump.physical import PocketDeposit
from itb.pump.pump import CommandedSegment, DeliverySegment
from itb.therapy.refill import RefillPlan


@dataclass(frozen=True)
class SimEvent:
    """Something that happened: a clinical act, a fault, a pump log entry, a detection."""

    time_s: int
    source: str  # "scenario", "clinic", "pump", "screening", "patient"
    kind: str
    detail: str = ""


@dataclass(frozen=True)
class AlarmSpan:
    """A firmware alarm from raised to cleared (or the end of the run / of that pump)."""

    kind: str
    critical: bool
    raised_s: int
    cleared_s: int | None


@dataclass(frozen=True)
class RefillRecord:
    time_s: int
    outcome: str  # "refilled", "blocked", "missed", "refused"
    expected_residual_nl: int | None = None
    withdrawn_nl: int | None = None
    discrepancy_nl: int | None = None
    check: str = ""
    added_nl: int = 0
    concentration_mcg_per_ml: Fraction | None = None
    true_concentration_mcg_per_ml: Fraction | None = None
    pocket_fill_nl: int = 0
    bridge_bolus: bool = False
    error: str = "none"


@dataclass(frozen=True)
class FaultRecord:
    time_s: int
    fault: str
    detail: str


@dataclass
class PumpHistory:
    """Everything the pumps did from the scenario start on (truth and belief)."""

    csf: list[DeliverySegment] = field(default_factory=list)
    leak: list[DeliverySegment] = field(default_factory=list)
    deposits: list[PocketDeposit] = field(default_factory=list)
    commanded: list[CommandedSegment] = field(default_factory=list)
    # (time_s, true reservoir nL, firmware estimate nL, cumulative true outflow nL,
    #  cumulative commanded volume in 1/86,400 nL) at each act and advance.
    anchors: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    # Drug injected through the catheter access port straight into the CSF: (time_s, mcg).
    access_port: list[tuple[int, Fraction]] = field(default_factory=list)
    # Aspirated at the catheter access port before each injection: (time_s, nL, mcg drawn).
    aspirated: list[tuple[int, int, Fraction]] = field(default_factory=list)
    out_total_nl: int = 0
    commanded_units: int = 0


@dataclass
class Journal:
    """The run's record of acts and outcomes. Off while a pump's history before the scenario
    start is simulated (`recording` False): only the scenario's own span is reported."""

    recording: bool = False
    events: list[SimEvent] = field(default_factory=list)
    alarms: list[AlarmSpan] = field(default_factory=list)
    refills: list[RefillRecord] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    plans: list[tuple[int, RefillPlan]] = field(default_factory=list)
    program_changes_s: list[int] = field(default_factory=list)
    refill_times_s: list[int] = field(default_factory=list)
    implant_times_s: list[int] = field(default_factory=list)
    calls: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)

    def note(self, time_s: int, source: str, kind: str, detail: str = "") -> None:
        if self.recording:
            self.events.append(SimEvent(time_s, source, kind, detail))
