"""One fleet patient's run as data: the pump and patient in service, the agenda, the faults
and what is written down (events and counters).

`care.py` acts on it (refills, investigations, replacements, revisions); `patient_run.py`
moves it through time. Times are whole seconds (UTC epoch), like `itb.pump`.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from itb.fleet.hazards import Streams
from itb.fleet.study import STUDY_START_S, Study
from itb.physiology import Patient
from itb.physiology.population import PatientParameters
from itb.pump import ContinuousTherapy, HardLimits, Program, Pump
from itb.therapy.appointments import Projection

DAY_S = 86_400
HOUR_S = 3_600
FINE_STEP_S = 3 * HOUR_S
FAULT_STEP_S = 12 * HOUR_S
SETTLE_S = 2 * DAY_S  # fine steps this long after a change to delivery
# Event categories in events.parquet.
FAULT, ALARM, DETECTION, SYMPTOM, REFILL, PUMP, REVISION, TITRATION = (
    "fault", "alarm", "detection", "symptom", "refill", "pump", "revision", "titration")
# Faults of the catheter, found by a catheter study and mended by a revision.
CATHETER_FAULTS = ("catheter_occlusion", "catheter_disconnection", "catheter_leak")
FAULT_KINDS = ("motor_stall", "overinfusion", *CATHETER_FAULTS, "pocket_fill",
               "wrong_strength")
ROUTES = ("alarm", "residual", "symptoms")


def program_for(dose_mcg: int) -> Program:
    """Continuous therapy at a whole daily dose; the hard limit at twice the dose leaves
    room for titration steps (label: at most +30 % a day) and catches a tenfold error."""
    return Program(ContinuousTherapy(Fraction(dose_mcg)),
                   HardLimits(max_daily_dose_mcg=Fraction(2 * dose_mcg),
                              max_bolus_mcg=Fraction(dose_mcg)))


@dataclass
class Fault:
    """A fault in the truth, from onset to its detection (if ever) and its end."""

    kind: str
    start_s: int
    pump_no: int
    detected_s: int | None = None  # its route is written down (events), never read back
    ended_s: int | None = None

    @property
    def active(self) -> bool:
        return self.ended_s is None


@dataclass
class RunState:
    study: Study
    index: int
    streams: Streams
    params: PatientParameters
    origin: str
    unapproved: bool
    dose_mcg: int
    concentration_mcg_per_ml: Fraction  # the strength this patient's pump is filled with
    pump: Pump
    patient: Patient
    now_s: int
    pump_no: int = 1
    pump_implant_s: int = STUDY_START_S
    queue: list[tuple[int, int, str, Any]] = field(default_factory=list)
    seq: int = 0
    events: list[tuple[int, float, str, str, str, float]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    next_refill_s: int = 0
    refill_generation: int = 0
    catheter_generation: int = 0
    replacement_pending: bool = False
    revision_pending: bool = False
    quiet_from_s: int = 0
    excess_ppm: int = 0
    call_pending: bool = False
    symptomatic: bool = False
    log_index: int = 0
    first_pump_days: float | None = None
    first_pump_stalled: bool = False
    # the appointment rules (care.adherence = "appointments", adherence.py)
    projection: Projection | None = None  # the pump's, at the last refill's interrogation
    booked_s: int = 0  # when the next refill was booked (its reminders' lead time)
    clinic_booked: bool = False  # False: the patient came after an alarm (always attends)
    misses_in_a_row: int = 0
    attendance_draws: tuple[float, ...] = ()  # this refill cycle's, one per booked visit

    # -- the agenda -------------------------------------------------------------------
    def book_refill(self, at_s: int, *, by_clinic: bool = False,
                    booked_s: int | None = None) -> None:
        """A refill visit at `at_s` (booked now, or at `booked_s`) replaces any later one."""
        self.refill_generation += 1
        self.next_refill_s = at_s
        self.booked_s = self.now_s if booked_s is None else booked_s
        self.clinic_booked = by_clinic
        self.schedule(at_s, "refill", self.refill_generation)

    def schedule(self, at_s: int, kind: str, payload: Any = None) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (max(at_s, self.now_s), self.seq, kind, payload))

    # -- what is written down ---------------------------------------------------------
    def note(self, category: str, kind: str, detail: str = "", value: float = float("nan"),
             at_s: int | None = None) -> None:
        day = ((self.now_s if at_s is None else at_s) - STUDY_START_S) / DAY_S
        self.events.append((self.index, round(day, 6), category, kind, detail, value))

    def start_fault(self, kind: str, at_s: int | None = None) -> Fault:
        at = self.now_s if at_s is None else at_s
        fault = Fault(kind, at, self.pump_no)
        self.faults.append(fault)
        self.counts[f"fault_{kind}"] += 1
        self.note(FAULT, kind, f"pump {self.pump_no}",
                  round((at - self.pump_implant_s) / DAY_S, 6), at)
        return fault

    def detect(self, route: str, kinds: tuple[str, ...], at_s: int | None = None) -> list[Fault]:
        """Active faults of `kinds` not yet known are found now, by `route`."""
        at = self.now_s if at_s is None else at_s
        found = [f for f in self.faults
                 if f.active and f.detected_s is None and f.kind in kinds]
        for fault in found:
            fault.detected_s = at
            self.counts[f"detected_{route}"] += 1
            self.note(DETECTION, fault.kind, route, round((at - fault.start_s) / HOUR_S, 6), at)
        return found

    def end_faults(self, kinds: tuple[str, ...], *, pump_no: int | None = None) -> None:
        for fault in self.faults:
            if fault.active and fault.kind in kinds and (pump_no is None
                                                         or fault.pump_no == pump_no):
                fault.ended_s = self.now_s

    def active(self, *kinds: str) -> list[Fault]:
        return [f for f in self.faults if f.active and f.kind in kinds]

    def step_limit_s(self) -> int | None:
        """How far the run may move in one pass before looking at the patient again: 3 h
        while something has just changed, a critical alarm sounds or the patient has
        symptoms worth a call; 12 h while a fault lies in the truth; else up to the next
        event (a quiet patient costs a few passes a year)."""
        if self.symptomatic or self.now_s < self.quiet_from_s or any(
                alarm.kind.critical for alarm in self.pump.state.alarms.values()):
            return FINE_STEP_S
        if any(f.active for f in self.faults):
            return FAULT_STEP_S
        return None
