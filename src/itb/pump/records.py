"""The pump's value objects: segments of delivery, reports of acts, the interrogated status.

Plain data, shared by the firmware (`engine`, `acts`), the facade (`pump.Pump`) and every
reader (simulator, telemetry, programmer). Times are int UTC seconds; volumes whole nL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, NamedTuple

from itb.errors import InvalidInput
from itb.pump.physical import PocketDeposit, mcg_in
from itb.pump.programs import Program, program_to_dict
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY, display

DAY_S = SECONDS_PER_DAY
DEFAULT_CATHETER_VOLUME_NL = 110_000  # unconfirmed: 50 cm of catheter at about 0.0022 mL/cm
MAX_BOLUS_DURATION_S = DAY_S
# The log entry that names the telemetry command id of a therapy change.
COMMAND_LOG_KIND = "command_carried_out"
MAX_CATHETER_VOLUME_NL = 1_000_000  # unconfirmed: itb's bound (a long catheter is ~0.3 mL)


def to_seconds(field_name: str, when: datetime) -> int:
    """Whole UTC seconds of an aware datetime (refuses naive times and sub-second parts)."""
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise InvalidInput(field_name, when, "a timezone-aware datetime")
    if when.microsecond:
        raise InvalidInput(field_name, when.isoformat(), "a time in whole seconds")
    return int(when.timestamp())


def to_datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class DeliverySegment(NamedTuple):
    """Drug delivered evenly over [start_s, end_s) (UTC seconds): `volume_nl` at a (mean)
    concentration, so `mcg` is exact. A NamedTuple because years of them are made."""

    start_s: int
    end_s: int
    volume_nl: int
    mcg_per_ml: Fraction

    @property
    def mcg(self) -> Fraction:
        return mcg_in(self.volume_nl, self.mcg_per_ml)

    @property
    def start(self) -> datetime:
        return to_datetime(self.start_s)

    @property
    def end(self) -> datetime:
        return to_datetime(self.end_s)


class CommandedSegment(NamedTuple):
    """The firmware's ideal delivery over [start_s, end_s): a flow (nL/day), the concentration
    it counts the dose at, and the maximum daily dose in force."""

    start_s: int
    end_s: int
    flow_nl_per_day: int
    dose_mcg_per_ml: Fraction
    limit_mcg: Fraction

    @property
    def ideal_mcg(self) -> Fraction:
        return Fraction(self.flow_nl_per_day * (self.end_s - self.start_s), DAY_S) \
            * self.dose_mcg_per_ml / NL_PER_ML


@dataclass
class AdvanceReport:
    """What happened during one `advance`: the true drug into the CSF (piecewise constant),
    drug lost elsewhere, pocket deposits, the firmware's commanded segments and new log entries."""

    start_s: int
    end_s: int
    csf_segments: list[DeliverySegment] = field(default_factory=list)
    leak_segments: list[DeliverySegment] = field(default_factory=list)
    pocket_deposits: list[PocketDeposit] = field(default_factory=list)
    commanded_segments: list[CommandedSegment] = field(default_factory=list)
    events: int = 0

    def appenders(self) -> tuple[Callable[[DeliverySegment], None],
                                 Callable[[DeliverySegment], None],
                                 Callable[[CommandedSegment], None]]:
        """The appends of the CSF, leak and commanded segments (for the time engine's loop)."""
        return (self.csf_segments.append, self.leak_segments.append,
                self.commanded_segments.append)

    def add_outflow(self, start_s: int, end_s: int, csf_nl: int, csf_mcg_per_ml: Fraction,
                    leak_nl: int, leak_mcg_per_ml: Fraction) -> None:
        """Record what one segment's strokes sent into the CSF and leaked (if anything)."""
        if csf_nl:
            self.csf_segments.append(DeliverySegment(start_s, end_s, csf_nl, csf_mcg_per_ml))
        if leak_nl:
            self.leak_segments.append(DeliverySegment(start_s, end_s, leak_nl, leak_mcg_per_ml))

    @property
    def csf_mcg(self) -> Fraction:
        return sum((s.mcg for s in self.csf_segments), Fraction(0))

    @property
    def leaked_mcg(self) -> Fraction:
        return sum((s.mcg for s in self.leak_segments), Fraction(0))


@dataclass(frozen=True)
class Overlay:
    """A bolus that replaces the base flow while it runs: pieces of (end_s, flow nL/day)."""

    kind: str  # "clinician", "patient", "priming", "bridge"
    started_s: int
    pieces: tuple[tuple[int, int], ...]
    volume_nl: int
    dose_mcg_per_ml: Fraction  # concentration its dose is counted at (0 for priming)

    @property
    def end_s(self) -> int:
        return self.pieces[-1][0]

    def flow_at(self, time_s: int) -> tuple[int, int]:
        for end, flow in self.pieces:
            if time_s < end:
                return flow, end
        return 0, self.end_s


@dataclass(frozen=True)
class PatientBolusOutcome:
    granted: bool
    reason: str


@dataclass(frozen=True)
class RefillReport:
    """A refill as the programmer sees it, plus the truth (for the simulator)."""

    time_s: int
    expected_residual_nl: int  # the firmware's estimate before the refill
    withdrawn_nl: int  # the syringe reading (the true volume when the reservoir was emptied)
    discrepancy_nl: int  # withdrawn minus expected (an estimate below 0 counts as empty)
    added_nl: int
    concentration_mcg_per_ml: Fraction
    reservoir_estimate_nl: int
    pocket_deposit: PocketDeposit | None
    bridge_bolus: bool
    left_in_syringe_nl: int = 0  # truth: drug that did not fit in the full reservoir


@dataclass(frozen=True)
class PumpStatus:
    """The firmware's view, as interrogation shows it."""

    serial: str
    model: str
    implant_date: datetime
    clock: datetime
    battery_state: str
    battery_remaining_fraction: Fraction
    reservoir_estimate_nl: int
    concentration_mcg_per_ml: Fraction
    program: Program | None
    mode: str
    alarms: tuple[tuple[str, bool, bool], ...]  # (kind, critical, sounding)
    log_length: int
    log_next_index: int
    log_overflowed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial, "model": self.model,
            "implant_date": self.implant_date.isoformat(), "clock": self.clock.isoformat(),
            "battery_state": self.battery_state,
            "battery_remaining_fraction": str(self.battery_remaining_fraction),
            "reservoir_estimate_nl": self.reservoir_estimate_nl,
            "concentration_mcg_per_ml": str(self.concentration_mcg_per_ml),
            "program": None if self.program is None else program_to_dict(self.program),
            "mode": self.mode,
            "alarms": [{"kind": k, "critical": c, "sounding": s} for k, c, s in self.alarms],
            "log_length": self.log_length, "log_next_index": self.log_next_index,
            "log_overflowed": self.log_overflowed,
        }


def positive_concentration(field_name: str, value: Fraction) -> Fraction:
    if not isinstance(value, Fraction) or value <= 0 or value > 100_000:
        raise InvalidInput(field_name, value, "more than 0 to 100000 mcg/mL (an exact Fraction)")
    return value


def whole_nl(field_name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        # Shown in mL, as every volume a clinician reads (a refusal is user-facing).
        shown = f"{display(Fraction(value, NL_PER_ML), 6)} mL" \
            if isinstance(value, int) and not isinstance(value, bool) else repr(value)[:40]
        raise InvalidInput(field_name, shown,
                           f"{display(Fraction(low, NL_PER_ML), 6)} to "
                           f"{display(Fraction(high, NL_PER_ML), 6)} mL in whole nL")
    return value

