"""The implanted pump: firmware (belief) driving a physical pump (truth), event by event.

`Pump` is the one aggregate: every clinical act is a method named for it
(`program`, `refill`, `give_bolus`, ...), validates everything first and changes
nothing if it refuses. Time moves only through `advance(to)`, which jumps from
event to event (rate changes, bolus ends, alarms, battery and reservoir
thresholds) and computes the strokes of each constant-rate segment in closed form.

Internals: true time is int UTC seconds (`now_s`); the pump clock is
`now_s + clock_error_s`. The firmware's *ideal* volume is an int in units of
1/86,400 nL (a flow of R nL/day adds R units per second), so commanded strokes
are `ideal // (stroke × 86,400)`: never more than one stroke from the ideal.
"""

from __future__ import annotations

import json
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, NamedTuple

from itb.errors import InvalidInput
from itb.pump.alarms import AlarmKind, AlarmState
from itb.pump.catalogue import PumpModel, get_model
from itb.pump.errors import ActRefused, LimitExceeded, ProgramNotCommitted
from itb.pump.eventlog import EventLog, LogEntry
from itb.pump.memory import NonVolatileMemory, WriteFault
from itb.pump.physical import (
    DISCONNECTED,
    OCCLUDED,
    PARTIAL_OCCLUSION,
    PPM,
    Catheter,
    PhysicalPump,
    PocketDeposit,
    add_run,
    mcg_in,
)
from itb.pump.programs import (
    Program,
    RateSchedule,
    bolus_segments,
    program_from_dict,
    program_to_dict,
    validate_program,
    volume_for_dose,
)
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


def _positive_concentration(field_name: str, value: Fraction) -> Fraction:
    if not isinstance(value, Fraction) or value <= 0 or value > 100_000:
        raise InvalidInput(field_name, value, "more than 0 to 100000 mcg/mL (an exact Fraction)")
    return value


def _whole_nl(field_name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        # Shown in mL, as every volume a clinician reads (a refusal is user-facing).
        shown = f"{display(Fraction(value, NL_PER_ML), 6)} mL" \
            if isinstance(value, int) and not isinstance(value, bool) else repr(value)[:40]
        raise InvalidInput(field_name, shown,
                           f"{display(Fraction(low, NL_PER_ML), 6)} to "
                           f"{display(Fraction(high, NL_PER_ML), 6)} mL in whole nL")
    return value


class Pump:
    """One implanted pump: firmware state plus its physical pump. Build it with `implant`."""

    # The steady-schedule loop is an optimisation of `_step`; tests run both and compare.
    fast_path: bool = True

    def __init__(self, model: PumpModel, serial: str, implant_s: int,
                 physical: PhysicalPump) -> None:
        self.model = model
        self.serial = serial
        self.implant_s = implant_s
        self.now_s = implant_s
        self.clock_error_s = 0
        self.physical = physical
        self.ideal_units = 0
        self.strokes = 0
        # [[concentration the dose is counted at, strokes], ...], last entry = current run.
        self.strokes_by_dose_concentration: list[list[Any]] = []
        self.estimate_offset_nl = 0  # reservoir estimate = offset − strokes × nominal stroke
        self.fw_filled_nl = 0
        self.fw_withdrawn_nl = 0
        self.concentration_mcg_per_ml = Fraction(0)
        self.active_program: Program | None = None  # `program(...)` is the act that sets it
        self.schedule: RateSchedule | None = None
        self.low_reservoir_alarm_nl = model.low_reservoir_alarm_default_nl
        self.catheter_volume_nl = DEFAULT_CATHETER_VOLUME_NL
        self.stopped = False
        self.stalled = False
        self.stall_cause = ""
        self.end_of_service = False
        self.elective_replacement = False
        self.safe_state: str | None = None
        self.needs_priming = True
        self.overlay: Overlay | None = None
        self.alarms: dict[AlarmKind, AlarmState] = {}
        self.log = EventLog()
        self.nvm = NonVolatileMemory()
        self.history: deque[CommandedSegment] = deque()
        self.patient_boluses: deque[tuple[int, int]] = deque()
        self.last_patient_bolus_s: int | None = None
        self.pending_deposits: list[PocketDeposit] = []
        self._cache_valid = False
        self._stroke_event_at = 0
        self._fixed_event_s = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def implant(cls, model: str | PumpModel, *, serial: str, at: datetime, fill_nl: int,
                concentration_mcg_per_ml: Fraction, program: Program, seed: int = 0,
                catheter_volume_nl: int = DEFAULT_CATHETER_VOLUME_NL,
                low_reservoir_alarm_nl: int | None = None) -> Pump:
        """A freshly implanted pump, filled, programmed, with saline in tubing and catheter.

        Give the priming bolus (`prime`) next so that drug reaches the catheter tip.
        `seed` draws this pump's stroke calibration and drift (reproducible).
        """
        pump_model = model if isinstance(model, PumpModel) else get_model(model)
        if not isinstance(serial, str) or not serial.strip() or len(serial) > 64:
            raise InvalidInput("serial", serial, "1 to 64 characters")
        at_s = to_seconds("at", at)
        _whole_nl("fill_nl", fill_nl, 0, pump_model.reservoir_capacity_nl)
        conc = _positive_concentration("concentration_mcg_per_ml", concentration_mcg_per_ml)
        _whole_nl("catheter_volume_nl", catheter_volume_nl, 0, MAX_CATHETER_VOLUME_NL)
        alarm_nl = pump_model.low_reservoir_alarm_default_nl if low_reservoir_alarm_nl is None \
            else low_reservoir_alarm_nl
        _whole_nl("low_reservoir_alarm_nl", alarm_nl, pump_model.low_reservoir_alarm_min_nl,
                  pump_model.low_reservoir_alarm_max_nl)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidInput("seed", seed, "a whole number")
        schedule = validate_program(program, pump_model, conc)
        rng = random.Random(seed)
        spread = pump_model.calibration_spread_ppm
        drift = pump_model.max_drift_ppm_per_year
        physical = PhysicalPump(
            model=pump_model, implant_s=at_s,
            calibration_ppm=rng.randint(-spread, spread),
            drift_ppm_per_year=rng.randint(-drift, drift),
            reservoir_nl=fill_nl, reservoir_mcg_per_ml=conc, next_drift_s=at_s,
            battery_nc=pump_model.battery_usable_nc,
            filled_nl=fill_nl, filled_mcg=mcg_in(fill_nl, conc),
        )
        physical.update_drift(at_s)
        # At implant the tubing and catheter hold saline (no drug), which priming pushes out.
        physical.fifo.append([pump_model.tubing_volume_nl + catheter_volume_nl, Fraction(0)])
        pump = cls(pump_model, serial.strip(), at_s, physical)
        pump.catheter_volume_nl = catheter_volume_nl
        pump.low_reservoir_alarm_nl = alarm_nl
        pump.concentration_mcg_per_ml = conc
        pump.estimate_offset_nl = fill_nl
        pump.fw_filled_nl = fill_nl
        pump.active_program = program
        pump.schedule = schedule
        pump.nvm.write(pump._settings_payload(program, conc, alarm_nl))
        pump._log("implanted", model=pump_model.name, serial=pump.serial,
                  fill_nl=fill_nl, concentration_mcg_per_ml=conc)
        pump._log("program_changed", program=json.dumps(program_to_dict(program), sort_keys=True))
        pump._evaluate_conditions()
        return pump

    # ------------------------------------------------------------------ small helpers
    @property
    def firmware_clock_s(self) -> int:
        return self.now_s + self.clock_error_s

    @property
    def stroke_units(self) -> int:
        return self.model.nominal_stroke_nl * DAY_S

    @property
    def reservoir_estimate_nl(self) -> int:
        return self.estimate_offset_nl - self.strokes * self.model.nominal_stroke_nl

    @property
    def commanded_nl(self) -> int:
        return self.strokes * self.model.nominal_stroke_nl

    @property
    def commanded_mcg(self) -> Fraction:
        """The firmware's count of drug delivered (strokes × nominal stroke × concentration)."""
        return sum((mcg_in(n * self.model.nominal_stroke_nl, c)
                    for c, n in self.strokes_by_dose_concentration), Fraction(0))

    @property
    def ideal_nl(self) -> Fraction:
        return Fraction(self.ideal_units, DAY_S)

    def _log(self, event: str, /, **details: object) -> LogEntry:
        return self.log.append(self.firmware_clock_s, event, **details)

    def _settings_payload(self, program: Program, conc: Fraction, alarm_nl: int) -> bytes:
        return json.dumps({"program": program_to_dict(program), "concentration": str(conc),
                           "low_reservoir_alarm_nl": alarm_nl}, sort_keys=True).encode()

    def _current_payload(self) -> bytes:
        assert self.active_program is not None
        return self._settings_payload(self.active_program, self.concentration_mcg_per_ml,
                                      self.low_reservoir_alarm_nl)

    def _limit_mcg(self) -> Fraction:
        return self.active_program.limits.max_daily_dose_mcg if self.active_program else Fraction(0)

    @property
    def mode(self) -> str:
        if self.end_of_service:
            return "end_of_service"
        if self.stalled:
            return "motor_stall"
        if self.overlay is not None:
            return f"{self.overlay.kind}_bolus"
        if self.safe_state is not None:
            return f"minimum_rate ({self.safe_state})"
        if self.stopped:
            return "minimum_rate (stopped)"
        if AlarmKind.RESERVOIR_EMPTY in self.alarms:
            return "minimum_rate (reservoir empty)"
        return "running"

    def bolus_remaining_nl(self) -> int:
        """What the running bolus still has to deliver (rounded up: dates stay early)."""
        overlay = self.overlay
        if overlay is None:
            return 0
        units, start = 0, overlay.started_s
        for end, flow in overlay.pieces:
            if end > self.now_s:
                units += flow * (end - max(start, self.now_s))
            start = end
        return -(-units // DAY_S)

    def _at_minimum_rate(self) -> bool:
        return (self.stopped or self.safe_state is not None
                or AlarmKind.RESERVOIR_EMPTY in self.alarms)

    def _flow_now(self) -> tuple[int, int | None, Fraction]:
        """(flow nL/day, true time of the next flow change or None, dose concentration)."""
        if self.end_of_service or self.stalled:
            return 0, None, self.concentration_mcg_per_ml
        if self.overlay is not None:
            flow, end = self.overlay.flow_at(self.now_s)
            return flow, end, self.overlay.dose_mcg_per_ml
        if self._at_minimum_rate() or self.schedule is None:
            return self.model.min_flow_nl_per_day, None, self.concentration_mcg_per_ml
        flow, nxt = self.schedule.rate_and_next(self.firmware_clock_s)
        change = None if nxt is None else nxt - self.clock_error_s
        return flow, change, self.concentration_mcg_per_ml

    # ------------------------------------------------------------------ time
    def advance(self, to: datetime) -> AdvanceReport:
        """Run the pump until `to`, event by event; returns what was delivered and where."""
        to_s = to_seconds("to", to)
        if to_s < self.now_s:
            raise InvalidInput("to", to.isoformat(), f"no earlier than {to_datetime(self.now_s)}")
        report = AdvanceReport(self.now_s, to_s)
        report.pocket_deposits.extend(self.pending_deposits)
        self.pending_deposits = []
        first_log = self.log.next_index
        while self.now_s < to_s:
            if self.fast_path and self._steady_schedule_run(to_s, report):
                continue
            if self._step(to_s, report):
                self._handle_events()
        report.events = self.log.next_index - first_log
        return report

    def _refresh_cache(self) -> None:
        """Absolute stroke count and time of the next threshold events (valid until a change)."""
        stroke_nl = self.model.nominal_stroke_nl
        best: int | None = None
        estimate_offset = self.estimate_offset_nl
        for kind, level in ((AlarmKind.LOW_RESERVOIR, self.low_reservoir_alarm_nl),
                            (AlarmKind.RESERVOIR_EMPTY, self.model.empty_reservoir_nl)):
            if kind not in self.alarms:
                k = -(-(estimate_offset - level) // stroke_nl)
                if k > self.strokes and (best is None or k < best):
                    best = k
        phys = self.physical.strokes_until_event()
        if phys is not None and (best is None or self.strokes + phys < best):
            best = self.strokes + phys
        self._stroke_event_at = -1 if best is None else best
        fixed = [self.physical.next_drift_s]
        if not self.end_of_service:
            fixed.append(self.implant_s + self.model.automatic_shutoff_s)
        if not self.elective_replacement:
            fixed.append(self.implant_s + self.model.automatic_shutoff_s - self.model.eri_warning_s)
        fixed.extend(a.rearm_at_s for a in self.alarms.values() if a.rearm_at_s is not None)
        if self.overlay is not None:
            fixed.append(self.overlay.end_s)
        self._fixed_event_s = min(fixed)
        self._cache_valid = True

    def _steady_schedule_run(self, to_s: int, report: AdvanceReport) -> bool:
        """Run whole flex steps in a tight loop while nothing but the schedule changes.

        Same arithmetic as `_step`, specialised for the common case (base schedule, one
        drug parcel in the dead volume at the reservoir's concentration, no tones); it stops
        before any step in which an event would fall, and `_step` takes over. Returns True
        if it ran at least one step.
        """
        schedule = self.schedule
        phys = self.physical
        fifo = phys.fifo
        if (schedule is None or len(schedule.offsets_s) < 2 or self.overlay is not None
                or self.end_of_service or self.stalled or self._at_minimum_rate()
                or len(fifo) != 1 or fifo[0][1] != phys.reservoir_mcg_per_ml
                or (phys.reservoir_nl <= 0 and phys.moved_per_stroke_nl > 0)
                or any(a.sounding_from_s is not None for a in self.alarms.values())):
            # (A dry reservoir moves less than whole strokes: `run_strokes` handles it.)
            return False
        if not self._cache_valid:
            self._refresh_cache()
        m = self.model
        offsets = schedule.offsets_s
        rates = schedule.rates_nl_per_day
        period = schedule.period_s
        count = len(offsets)
        phase = (self.firmware_clock_s + schedule.anchor_shift_s) % period
        if phase not in offsets:
            return False  # start mid-step: let `_step` reach the next boundary
        i = offsets.index(phase)
        durations = [*(offsets[k + 1] - offsets[k] for k in range(count - 1)),
                     period - offsets[-1]]
        fixed_s = self._fixed_event_s
        stroke_event = self._stroke_event_at if self._stroke_event_at > self.strokes else None
        su = self.stroke_units
        idle = m.idle_current_na
        per_stroke_charge = m.stroke_charge_nc
        eri_done = self.elective_replacement
        eri_lhs = m.nominal_stroke_nl * DAY_S
        eri_idle = idle * DAY_S * m.nominal_stroke_nl
        eri_s = m.eri_warning_s
        per = phys.moved_per_stroke_nl
        leak_ppm = phys.catheter.leak_ppm
        conc = phys.reservoir_mcg_per_ml
        dose_conc = self.concentration_mcg_per_ml
        limit = self._limit_mcg()
        t = self.now_s
        ideal = self.ideal_units
        strokes = self.strokes
        charge = phys.battery_nc
        reservoir = phys.reservoir_nl
        csf_sum = leak_sum = strokes_sum = 0
        csf_out = report.csf_segments.append
        leak_out = report.leak_segments.append
        cmd_out = report.commanded_segments.append
        history = self.history
        ran = False
        while True:
            duration = durations[i]
            end = t + duration
            if end > to_s or end >= fixed_s:
                break
            rate = rates[i]
            new_ideal = ideal + rate * duration
            new_strokes = new_ideal // su
            if stroke_event is not None and new_strokes >= stroke_event:
                break
            n = new_strokes - strokes
            left = charge - idle * duration - per_stroke_charge * n
            if left <= 0 or (not eri_done and left * eri_lhs
                             <= (eri_idle + per_stroke_charge * rate) * eri_s):
                break
            ideal = new_ideal
            strokes = new_strokes
            charge = left
            if n:
                moved = n * per
                reservoir -= moved
                leak = moved * leak_ppm // PPM if leak_ppm else 0
                csf = moved - leak
                strokes_sum += n
                if csf:
                    csf_sum += csf
                    csf_out(DeliverySegment(t, end, csf, conc))
                if leak:
                    leak_sum += leak
                    leak_out(DeliverySegment(t, end, leak, conc))
            seg = CommandedSegment(t, end, rate, dose_conc, limit)
            cmd_out(seg)
            history.append(seg)
            horizon = end - DAY_S
            while history[0].end_s <= horizon:
                history.popleft()
            t = end
            i = i + 1 if i + 1 < count else 0
            ran = True
        if not ran:
            return False
        self.now_s = t
        self.ideal_units = ideal
        self.strokes = strokes
        phys.battery_nc = charge
        phys.reservoir_nl = reservoir
        if strokes_sum:
            add_run(self.strokes_by_dose_concentration, dose_conc, strokes_sum)
        if csf_sum:
            add_run(phys.csf_by_concentration, conc, csf_sum)
            phys.csf_nl += csf_sum
        if leak_sum:
            add_run(phys.leak_by_concentration, conc, leak_sum)
            phys.leak_nl += leak_sum
        return True

    def _step(self, to_s: int, report: AdvanceReport) -> bool:
        """Run one constant-flow segment from now; True if it ended on an event to handle.

        The segment ends at the first of: `to_s`, a flow change (flex step, bolus piece), a
        timed event (drift, re-arm, shut-off), the stroke at which a reservoir threshold or a
        parcel boundary is reached (closed form), or the second the battery crosses ERI/EOS.
        """
        if not self._cache_valid:
            self._refresh_cache()
        now = self.now_s
        flow, change, dose_conc = self._flow_now()
        end = to_s
        event = False
        if change is not None and change < end:
            end = change
        if self._fixed_event_s <= end:
            end = max(self._fixed_event_s, now + 1)
            event = True
        stroke_units = self.stroke_units
        if flow > 0 and self._stroke_event_at > self.strokes:
            at = now - ((self.ideal_units - self._stroke_event_at * stroke_units) // flow)
            if at < end:
                end = at
                event = True
        drain = self._drain_nc(now, end, flow)
        if not self.end_of_service:
            left = self.physical.battery_nc - drain
            if left <= 0 or (not self.elective_replacement and self._eri_reached(left, flow)):
                end = self._battery_crossing(now, end, flow)
                drain = self._drain_nc(now, end, flow)
                event = True
        # Apply the segment.
        self.physical.battery_nc -= drain
        if flow > 0:
            self.ideal_units += flow * (end - now)
            new_strokes = self.ideal_units // stroke_units
            n = new_strokes - self.strokes
            self.strokes = new_strokes
            if n:
                add_run(self.strokes_by_dose_concentration, dose_conc, n)
                csf, csf_conc, leak, leak_conc = self.physical.run_strokes(n)
                if csf:
                    report.csf_segments.append(DeliverySegment(now, end, csf, csf_conc))
                if leak:
                    report.leak_segments.append(DeliverySegment(now, end, leak, leak_conc))
            seg = CommandedSegment(now, end, flow, dose_conc, self._limit_mcg())
            report.commanded_segments.append(seg)
            history = self.history
            history.append(seg)
            horizon = end - DAY_S
            while history[0].end_s <= horizon:
                history.popleft()
        self.now_s = end
        return event

    def _drain_nc(self, start_s: int, end_s: int, flow: int) -> int:
        """True battery drain over [start_s, end_s) at a constant commanded flow."""
        m = self.model
        drain = m.idle_current_na * (end_s - start_s)
        if flow:
            strokes = (self.ideal_units + flow * (end_s - start_s)) // self.stroke_units \
                - self.strokes
            drain += m.stroke_charge_nc * strokes
        for alarm in self.alarms.values():
            if alarm.sounding_from_s is not None:
                n = alarm.tones_between(start_s, end_s, m.alarm_repeat_s)
                if n:
                    drain += n * alarm.tone_charge_nc(m)
        return drain

    def _eri_reached(self, charge_nc: int, flow: int) -> bool:
        """ERI: the charge left is no more than `eri_warning_s` of the present drain.

        The drain includes the ERI alarm's own tone, which sounds from ERI on (every
        `alarm_repeat_s`), so that at a steady rate the pump stops `eri_warning_s` after
        ERI, as devices.md states ("stops after 90 days"), not ~3 days sooner.
        """
        m = self.model
        per_day_units = Fraction(m.idle_current_na * DAY_S * m.nominal_stroke_nl
                                 + m.stroke_charge_nc * flow) \
            + Fraction(m.noncritical_tone_charge_nc * DAY_S * m.nominal_stroke_nl,
                       m.alarm_repeat_s)
        return charge_nc * m.nominal_stroke_nl * DAY_S <= per_day_units * m.eri_warning_s

    def _battery_crossing(self, start_s: int, end_s: int, flow: int) -> int:
        """The first second in (start_s, end_s] at which ERI or EOS is reached."""
        charge = self.physical.battery_nc

        def crossed(t: int) -> bool:
            left = charge - self._drain_nc(start_s, t, flow)
            return left <= 0 or (not self.elective_replacement and self._eri_reached(left, flow))

        lo, hi = start_s, end_s  # crossed(hi) holds; find the smallest such t > start_s
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if crossed(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def _handle_events(self) -> None:
        """Apply whatever became true at `now_s` (alarms, bolus end, drift, re-arm)."""
        now = self.now_s
        if now >= self._fixed_event_s or self._stroke_event_at == self.strokes:
            self._cache_valid = False
        if now >= self.physical.next_drift_s:
            self.physical.update_drift(now)
            self._cache_valid = False
        if self.overlay is not None and now >= self.overlay.end_s:
            kind = self.overlay.kind
            self._log(f"{kind}_bolus_completed", volume_nl=self.overlay.volume_nl)
            self.overlay = None
            self._cache_valid = False
        for alarm in self.alarms.values():
            if alarm.rearm_at_s is not None and now >= alarm.rearm_at_s:
                alarm.rearm_at_s = None
                alarm.sounding_from_s = now
                self._log("alarm_rearmed", kind=alarm.kind.value)
                self._cache_valid = False
        self._evaluate_conditions()

    def _evaluate_conditions(self) -> None:
        now = self.now_s
        estimate = self.reservoir_estimate_nl
        if AlarmKind.LOW_RESERVOIR not in self.alarms and estimate <= self.low_reservoir_alarm_nl:
            self._raise(AlarmKind.LOW_RESERVOIR)
        empty = estimate <= self.model.empty_reservoir_nl
        if AlarmKind.RESERVOIR_EMPTY not in self.alarms and empty:
            self._raise(AlarmKind.RESERVOIR_EMPTY)
            self._cancel_overlay("reservoir empty")
        flow, _c, _d = self._flow_now()
        charge = self.physical.battery_nc
        age_s = now - self.implant_s
        shutoff = self.model.automatic_shutoff_s
        if not self.elective_replacement and (
                age_s >= shutoff - self.model.eri_warning_s or self._eri_reached(charge, flow)):
            self.elective_replacement = True
            self._log("battery_milestone", milestone="elective_replacement_indicator",
                      charge_nc=charge)
            self._raise(AlarmKind.ELECTIVE_REPLACEMENT)
        if not self.end_of_service and (age_s >= shutoff or charge <= 0):
            self.end_of_service = True
            self._log("battery_milestone", milestone="end_of_service", charge_nc=charge,
                      reason="automatic shut-off" if age_s >= shutoff else "battery depleted")
            self._cancel_overlay("end of service")
            self._raise(AlarmKind.END_OF_SERVICE)

    def _raise(self, kind: AlarmKind) -> None:
        self.alarms[kind] = AlarmState(kind, self.now_s, self.now_s)
        self._log("alarm_raised", kind=kind.value, critical=kind.critical, pattern=kind.pattern,
                  repeat_s=self.model.alarm_repeat_s)
        self._cache_valid = False

    def _clear(self, kind: AlarmKind, reason: str) -> None:
        if self.alarms.pop(kind, None) is not None:
            self._log("alarm_cleared", kind=kind.value, reason=reason)
            self._cache_valid = False

    def _cancel_overlay(self, reason: str) -> None:
        if self.overlay is not None:
            self._log(f"{self.overlay.kind}_bolus_interrupted", reason=reason)
            self.overlay = None
            self._cache_valid = False

    # ------------------------------------------------------------------ dose limits
    def _plan(self, schedule: RateSchedule | None, overlay: Overlay | None, conc: Fraction,
              minimum_rate: bool,
              horizon_s: int = 2 * DAY_S) -> list[tuple[int, int, int, Fraction]]:
        """The firmware's planned flow from now: (start_s, end_s, flow, dose concentration)."""
        out: list[tuple[int, int, int, Fraction]] = []
        t = self.now_s
        stop = t + horizon_s
        if overlay is not None:
            for end, flow in overlay.pieces:
                if end > t:
                    out.append((t, min(end, stop), flow, overlay.dose_mcg_per_ml))
                    t = min(end, stop)
        while t < stop:
            if minimum_rate or schedule is None:
                out.append((t, stop, self.model.min_flow_nl_per_day, conc))
                break
            flow, nxt = schedule.rate_and_next(t + self.clock_error_s)
            end = stop if nxt is None else min(stop, nxt - self.clock_error_s)
            out.append((t, end, flow, conc))
            t = end
        return out

    def _check_limits(self, act: str, schedule: RateSchedule | None, overlay: Overlay | None,
                      conc: Fraction, program: Program, *,
                      minimum_rate: bool | None = None) -> None:
        """Refuse unless every 24 h window touching now stays within the limit.

        Window dose = the commanded history + the plan + the patient-bolus allowance + one
        stroke of quantisation; the limit for a window is the largest maximum daily dose in
        force at any time in it (so lowering the limit never retroactively blocks a reduction).
        """
        now = self.now_s
        new_limit = program.limits.max_daily_dose_mcg
        pieces: list[tuple[int, int, Fraction, Fraction]] = []  # start, end, mcg/s, limit
        for seg in self.history:
            if seg.end_s > now - DAY_S:
                rate = seg.flow_nl_per_day * seg.dose_mcg_per_ml / (DAY_S * NL_PER_ML)
                pieces.append((max(seg.start_s, now - DAY_S), seg.end_s, rate, seg.limit_mcg))
        # Plan far enough that every window touching the bolus is seen (a bridge bolus at a
        # low flow can last days); windows after it hold only the validated base program.
        reach_s = DAY_S if overlay is None else max(DAY_S, overlay.end_s - now)
        if minimum_rate is None:
            minimum_rate = self._at_minimum_rate()
        plan = self._plan(schedule, overlay, conc, minimum_rate, reach_s + DAY_S)
        for start, end, flow, dconc in plan:
            if end > start:
                pieces.append((start, end, flow * dconc / (DAY_S * NL_PER_ML), new_limit))
        pieces.sort(key=lambda p: p[0])

        def cumulative(x: int) -> Fraction:
            total = Fraction(0)
            for s, e, rate, _lim in pieces:
                if s >= x:
                    break
                total += rate * (min(e, x) - s)
            return total

        candidates = {now - DAY_S, now, now + reach_s}
        for s, e, _r, _l in pieces:
            for b in (s, e):
                for a in (b, b - DAY_S):
                    if now - DAY_S <= a <= now + reach_s:
                        candidates.add(a)
        settings = program.patient_bolus
        max_conc = max([conc, *(seg.dose_mcg_per_ml for seg in self.history)])
        stroke_mcg = mcg_in(self.model.nominal_stroke_nl, max_conc)
        for a in sorted(candidates):
            if a + DAY_S <= now:
                continue  # a window wholly in the past cannot change
            # Patient boluses still possible in the window: the count rule allows at most
            # `max_per_24h` whose delivery touches any 24 h, and those given are in history.
            allowance = Fraction(0)
            if settings is not None:
                given = sum(1 for _start, end in self.patient_boluses if end > a)
                allowance = settings.dose_mcg * max(0, settings.max_per_24h - given)
            limit = new_limit
            for s, e, _r, lim in pieces:
                if s < a + DAY_S and e > a and s < now and lim > limit:
                    limit = lim
            dose = cumulative(a + DAY_S) - cumulative(a) + allowance + stroke_mcg
            if dose > limit:
                raise LimitExceeded(
                    act, f"{display(dose)} mcg in the 24 h from {to_datetime(a).isoformat()}",
                    f"at most {display(limit)} mcg per 24 h (maximum daily dose, including "
                    f"patient-bolus allowance {display(allowance)} mcg and one stroke)")

    # ------------------------------------------------------------------ clinical acts
    def program(self, program: Program, *, write_fault: WriteFault | None = None,
                cancel_bridge_reason: str | None = None) -> None:
        """Install a new program: validate, check limits, write NVM (inactive slot), switch.

        An active clinician or patient bolus ends. A bridge bolus runs on to its end (it
        pushes out the old-strength drug in the catheter, whatever the program) unless
        `cancel_bridge_reason` says why the clinician ends it (issue 9.4). With an injected
        write fault the firmware reboots from the memory: the old program stays in force
        (ProgramNotCommitted) unless the fault came after the commit.
        """
        if self.end_of_service:
            raise ActRefused("program", "the pump has reached end of service")
        schedule = validate_program(program, self.model, self.concentration_mcg_per_ml)
        keep = self._bridge_kept(cancel_bridge_reason)
        # After the change the pump runs the program (a stop or safe state ends), unless the
        # reservoir is empty.
        self._check_limits("program", schedule, keep, self.concentration_mcg_per_ml, program,
                           minimum_rate=AlarmKind.RESERVOIR_EMPTY in self.alarms)
        payload = self._settings_payload(program, self.concentration_mcg_per_ml,
                                         self.low_reservoir_alarm_nl)
        if write_fault is not None:
            steps = len(NonVolatileMemory.write_steps(0, payload))
            if not isinstance(write_fault, WriteFault) or not 0 <= write_fault.step < steps \
                    or write_fault.kind not in ("power_loss", "bit_flip"):
                raise InvalidInput("write_fault", write_fault,
                                   f"a WriteFault at step 0 to {steps - 1}, power_loss or bit_flip")
        _slot, power_lost = self.nvm.write(payload, write_fault)
        if power_lost:
            self._log("power_on_reset", reason="power lost during memory write")
            self._boot_from_memory()
            raise ProgramNotCommitted(write_fault.step if write_fault else -1)
        record = self.nvm.active()
        if record is None or record.payload != payload:
            # Read-back failed: the new slot is not valid, so the previous one stays in force.
            self._log("memory_write_failed", reason="read-back CRC mismatch")
            self._boot_from_memory()
            raise ProgramNotCommitted(write_fault.step if write_fault else -1)
        if keep is None:
            self._cancel_overlay("program changed" if cancel_bridge_reason is None
                                 else f"program changed; cancelled: {cancel_bridge_reason}")
        self.active_program = program
        self.schedule = schedule
        self.stopped = False
        if self.safe_state is not None:
            self.safe_state = None
            self._clear(AlarmKind.MEMORY_ERROR, "reprogrammed")
            self._clear(AlarmKind.LOW_BATTERY_RESET, "reprogrammed")
        self._log("program_changed", program=json.dumps(program_to_dict(program), sort_keys=True))
        self._cache_valid = False

    def _bridge_kept(self, cancel_reason: str | None) -> Overlay | None:
        """The bridge bolus that a program change leaves running (None: nothing runs on)."""
        if cancel_reason is not None and (not isinstance(cancel_reason, str)
                                          or not cancel_reason.strip()
                                          or len(cancel_reason) > 500):
            raise InvalidInput("cancel_bridge_reason", repr(cancel_reason)[:40],
                               "1 to 500 characters saying why the bridge bolus ends")
        overlay = self.overlay
        if overlay is None or overlay.kind != "bridge" or cancel_reason is not None:
            return None
        return overlay

    def _boot_from_memory(self) -> None:
        """After a reset: the newest valid slot is in force; none valid -> memory error."""
        self._cancel_overlay("reset")
        record = self.nvm.active()
        if record is None:
            self._enter_memory_error("no valid program in memory")
            return
        data = json.loads(record.payload)
        program = program_from_dict(data["program"])
        conc = Fraction(data["concentration"])
        self.active_program = program
        self.concentration_mcg_per_ml = conc
        self.low_reservoir_alarm_nl = int(data["low_reservoir_alarm_nl"])
        self.schedule = validate_program(program, self.model, conc, limits_set_now=False)
        self._cache_valid = False

    def _enter_memory_error(self, reason: str) -> None:
        self.safe_state = "memory_error"
        self._cancel_overlay("memory error")
        self._log("memory_fault", reason=reason, safe_state="minimum rate")
        if AlarmKind.MEMORY_ERROR not in self.alarms:
            self._raise(AlarmKind.MEMORY_ERROR)
        self._cache_valid = False

    def _require_running(self, act: str) -> None:
        if self.end_of_service:
            raise ActRefused(act, "the pump has reached end of service")
        if self.stalled:
            raise ActRefused(act, "the motor is stalled")
        if self.safe_state is not None:
            raise ActRefused(act, f"the pump is in its safe state ({self.safe_state}); "
                             "reprogram it")
        if self.stopped:
            raise ActRefused(act, "the pump is stopped; resume it first")
        if AlarmKind.RESERVOIR_EMPTY in self.alarms:
            raise ActRefused(act, "the reservoir is empty; refill it first")
        if self.overlay is not None:
            raise ActRefused(act, f"a {self.overlay.kind} bolus is in progress")

    def _bolus_overlay(self, kind: str, field_prefix: str, dose_mcg: Fraction,
                       duration_s: int) -> Overlay:
        assert self.active_program is not None
        if not isinstance(dose_mcg, Fraction):  # a float 10.0 is not "over the limit"
            raise InvalidInput(f"{field_prefix}dose_mcg", dose_mcg, "an exact Fraction of mcg",
                               "binary floats are not exact")
        if dose_mcg <= 0 or dose_mcg > self.active_program.limits.max_bolus_mcg:
            raise LimitExceeded(f"{field_prefix}dose_mcg", dose_mcg,
                                f"more than 0 to "
                                f"{display(self.active_program.limits.max_bolus_mcg)} mcg "
                                "(the program's maximum bolus)")
        if isinstance(duration_s, bool) or not isinstance(duration_s, int) \
                or not 60 <= duration_s <= MAX_BOLUS_DURATION_S:
            raise InvalidInput(f"{field_prefix}duration_s", duration_s,
                               f"60 to {MAX_BOLUS_DURATION_S} s")
        volume = volume_for_dose(f"{field_prefix}dose_mcg", dose_mcg, self.concentration_mcg_per_ml)
        if volume * DAY_S > self.model.max_flow_nl_per_day * duration_s:
            shortest = -(-volume * DAY_S // self.model.max_flow_nl_per_day)
            raise InvalidInput(f"{field_prefix}duration_s", f"{duration_s} s",
                               f"at least {shortest} s for {display(dose_mcg)} mcg "
                               "(the model's maximum flow)")
        return self._overlay(kind, volume, duration_s, self.concentration_mcg_per_ml)

    def _overlay(self, kind: str, volume_nl: int, duration_s: int, dose_conc: Fraction) -> Overlay:
        t = self.now_s
        pieces = []
        for length, flow in bolus_segments(volume_nl, duration_s):
            t += length
            pieces.append((t, flow))
        return Overlay(kind, self.now_s, tuple(pieces), volume_nl, dose_conc)

    def give_bolus(self, dose_mcg: Fraction, duration_s: int) -> None:
        """A single (clinician) bolus over `duration_s`, then back to the base program."""
        self._require_running("give_bolus")
        assert self.active_program is not None
        overlay = self._bolus_overlay("clinician", "", dose_mcg, duration_s)
        self._check_limits("dose_mcg", self.schedule, overlay, self.concentration_mcg_per_ml,
                           self.active_program)
        self.overlay = overlay
        self._log("bolus_given", source="clinician", dose_mcg=dose_mcg, duration_s=duration_s)
        self._cache_valid = False

    def request_patient_bolus(self) -> PatientBolusOutcome:
        """A patient-activated bolus request; a refusal is logged with its reason."""
        now = self.now_s
        settings = self.active_program.patient_bolus if self.active_program else None
        reason = ""
        if settings is None:
            reason = "no patient bolus is programmed"
        else:
            try:
                self._require_running("patient bolus")
            except ActRefused as refused:
                reason = refused.reason
        if not reason and settings is not None:
            while self.patient_boluses and self.patient_boluses[0][1] <= now - DAY_S:
                self.patient_boluses.popleft()
            last = self.last_patient_bolus_s
            if last is not None and now - last < settings.lockout_s:
                reason = f"lockout: {settings.lockout_s - (now - last)} s left"
            elif len(self.patient_boluses) >= settings.max_per_24h:
                reason = f"maximum of {settings.max_per_24h} boluses in 24 h reached"
        if reason or settings is None:
            self._log("bolus_refused", source="patient", reason=reason)
            return PatientBolusOutcome(False, reason)
        overlay = self._bolus_overlay("patient", "patient_bolus.", settings.dose_mcg,
                                      self.model.patient_bolus_duration_s)
        self.overlay = overlay
        self.patient_boluses.append((now, overlay.end_s))
        self.last_patient_bolus_s = now
        self._log("bolus_given", source="patient", dose_mcg=settings.dose_mcg)
        self._cache_valid = False
        return PatientBolusOutcome(True, "given")

    def prime(self, volume_nl: int | None = None) -> None:
        """Priming bolus: fill pump tubing and catheter at the maximum flow.

        Allowed only after implant or a catheter revision. It pushes out what the dead volume
        held (saline), so the firmware does not count it as a dose.
        """
        if not self.needs_priming:
            raise ActRefused("prime", "the catheter is already primed (prime after implant or a "
                             "catheter revision only)")
        self._require_running("prime")
        dead = self.model.tubing_volume_nl + self.catheter_volume_nl
        volume = dead if volume_nl is None else _whole_nl("volume_nl", volume_nl, 1, dead)
        duration = -(-volume * DAY_S // self.model.max_flow_nl_per_day)
        self.overlay = self._overlay("priming", volume, duration, Fraction(0))
        self.needs_priming = False
        self._log("bolus_given", source="priming", volume_nl=volume, duration_s=duration)
        self._cache_valid = False

    def stop(self) -> None:
        """Stop the pump: it runs at the minimum rate (devices.md: about 0.048 mL/day)."""
        if self.end_of_service:
            raise ActRefused("stop", "the pump has reached end of service")
        self._cancel_overlay("pump stopped")
        self.stopped = True
        self._log("pump_stopped")
        self._cache_valid = False

    def resume(self) -> None:
        """Resume the programmed therapy after `stop`."""
        if not self.stopped:
            raise ActRefused("resume", "the pump is not stopped")
        if self.safe_state is not None:
            raise ActRefused("resume", f"the pump is in its safe state ({self.safe_state})")
        assert self.active_program is not None
        self.stopped = False
        try:
            self._check_limits("resume", self.schedule, None, self.concentration_mcg_per_ml,
                               self.active_program)
        except LimitExceeded:
            self.stopped = True
            raise
        self._log("pump_resumed")
        self._cache_valid = False

    def refill(self, *, added_nl: int, concentration_mcg_per_ml: Fraction,
               withdrawn_nl: int | None = None, pocket_fill_nl: int = 0,
               true_concentration_mcg_per_ml: Fraction | None = None,
               bridge_bolus: bool = False) -> RefillReport:
        """Empty (or partly empty) the reservoir and add drug.

        `withdrawn_nl` is the syringe reading (None: the reservoir is emptied and read
        exactly); the physical layer decides what really comes out and goes in
        (`PhysicalPump.refill`). Injected errors: `pocket_fill_nl` of the
        added drug goes into the subcutaneous pocket (the firmware still believes it filled
        the reservoir); `true_concentration_mcg_per_ml` differs from the one programmed. With
        `bridge_bolus`, the old drug in tubing and catheter is pushed out at the old daily
        dose's flow before the new concentration's rates start.
        """
        if self.end_of_service:
            raise ActRefused("refill", "the pump has reached end of service")
        conc = _positive_concentration("concentration_mcg_per_ml", concentration_mcg_per_ml)
        true_conc = conc if true_concentration_mcg_per_ml is None else _positive_concentration(
            "true_concentration_mcg_per_ml", true_concentration_mcg_per_ml)
        phys = self.physical
        cap = self.model.reservoir_capacity_nl
        # The firmware checks the readings against what a pump can know (its capacity),
        # never against the true volume: the physical layer decides what really happens.
        if withdrawn_nl is not None:
            _whole_nl("withdrawn_nl", withdrawn_nl, 0, cap)
        _whole_nl("added_nl", added_nl, 0, cap)
        _whole_nl("pocket_fill_nl", pocket_fill_nl, 0, added_nl)
        assert self.active_program is not None
        schedule = validate_program(self.active_program, self.model, conc, limits_set_now=False)
        overlay = None
        old_conc = self.concentration_mcg_per_ml
        if bridge_bolus:
            if conc == old_conc:
                raise InvalidInput("bridge_bolus", True, "only with a change of concentration")
            # The refill itself clears a low or empty reservoir, so only the other states bar it.
            # (A bolus in progress ends with the refill.)
            if self.stalled or self.safe_state is not None or self.stopped:
                self._require_running("bridge bolus")
            assert self.schedule is not None
            old_flow = int(self.schedule.daily_total_nl())  # floor: never above the old dose
            volume = self.model.tubing_volume_nl + self.catheter_volume_nl
            duration = -(-volume * DAY_S // old_flow)
            overlay = self._overlay("bridge", volume, duration, old_conc)
            self._check_limits("bridge_bolus", schedule, overlay, conc, self.active_program,
                               minimum_rate=False)
        # All checks passed: apply atomically.
        expected = self.reservoir_estimate_nl
        truth = phys.refill(self.now_s, withdrawn_nl, added_nl, pocket_fill_nl, true_conc)
        deposit = truth.pocket_deposit
        if deposit is not None:
            self.pending_deposits.append(deposit)
        # The firmware is told the syringe reading and the volume added; the procedure
        # empties the reservoir first, so it believes the reservoir now holds what was added.
        withdrawn = truth.withdrawn_nl if withdrawn_nl is None else withdrawn_nl
        new_estimate = added_nl
        self.fw_withdrawn_nl += expected
        self.fw_filled_nl += added_nl
        self.estimate_offset_nl = new_estimate + self.strokes * self.model.nominal_stroke_nl
        self._cancel_overlay("refill")
        self.concentration_mcg_per_ml = conc
        self.schedule = schedule
        self.nvm.write(self._current_payload())
        self._log("refill", expected_residual_nl=expected, withdrawn_nl=withdrawn,
                  added_nl=added_nl, concentration_mcg_per_ml=conc, estimate_nl=new_estimate)
        if new_estimate > self.model.empty_reservoir_nl:
            self._clear(AlarmKind.RESERVOIR_EMPTY, "refilled")
        if new_estimate > self.low_reservoir_alarm_nl:
            self._clear(AlarmKind.LOW_RESERVOIR, "refilled")
        if overlay is not None:
            self.overlay = overlay
            self._log("bolus_given", source="bridge", volume_nl=overlay.volume_nl,
                      old_concentration_mcg_per_ml=old_conc)
        self._cache_valid = False
        self._evaluate_conditions()
        return RefillReport(self.now_s, expected, withdrawn, withdrawn - max(0, expected),
                            added_nl, conc, new_estimate, deposit, overlay is not None,
                            truth.left_in_syringe_nl)

    def acknowledge_alarm(self, kind: AlarmKind | None = None) -> int:
        """Silence sounding alarms (one kind or all); they re-arm later if the cause persists."""
        if kind is not None and not isinstance(kind, AlarmKind):
            raise InvalidInput("kind", kind,
                               "an AlarmKind: " + ", ".join(k.value for k in AlarmKind))
        targets = [a for a in self.alarms.values()
                   if a.sounding_from_s is not None and (kind is None or a.kind == kind)]
        for alarm in targets:
            alarm.sounding_from_s = None
            alarm.acknowledged = True
            alarm.rearm_at_s = self.now_s + alarm.rearm_interval_s(self.model)
            self._log("alarm_acknowledged", kind=alarm.kind.value)
        self._cache_valid = False
        return len(targets)

    def set_clock(self, clock_reads: datetime) -> None:
        """Set the pump clock so that it now reads `clock_reads`."""
        reads_s = to_seconds("clock_reads", clock_reads)
        if abs(reads_s - self.now_s) > 366 * DAY_S:
            raise InvalidInput("clock_reads", clock_reads.isoformat(), "within a year of true time")
        old = self.firmware_clock_s
        self.clock_error_s = reads_s - self.now_s
        self._log("clock_set", old=to_datetime(old).isoformat(), new=clock_reads.isoformat())
        self._cache_valid = False

    def set_alarm_volume(self, low_reservoir_alarm_nl: int) -> None:
        """Set the clinician's low-reservoir alarm volume (within the model's range)."""
        _whole_nl("low_reservoir_alarm_nl", low_reservoir_alarm_nl,
                  self.model.low_reservoir_alarm_min_nl, self.model.low_reservoir_alarm_max_nl)
        self.low_reservoir_alarm_nl = low_reservoir_alarm_nl
        if self.active_program is not None:
            self.nvm.write(self._current_payload())
        self._log("alarm_volume_set", low_reservoir_alarm_nl=low_reservoir_alarm_nl)
        if self.reservoir_estimate_nl > low_reservoir_alarm_nl:
            self._clear(AlarmKind.LOW_RESERVOIR, "alarm volume changed")
        self._cache_valid = False
        self._evaluate_conditions()

    def set_catheter_volume(self, catheter_volume_nl: int) -> None:
        """Store the implanted catheter's volume (from the implant or revision record).

        Only the firmware's figure changes: the pump uses it for its priming and bridge
        boluses. The real catheter is the physical layer's (`revise_catheter` is the surgery).
        """
        _whole_nl("catheter_volume_nl", catheter_volume_nl, 0, MAX_CATHETER_VOLUME_NL)
        old = self.catheter_volume_nl
        self.catheter_volume_nl = catheter_volume_nl
        self._log("catheter_volume_set", old_nl=old, catheter_volume_nl=catheter_volume_nl)
        self._cache_valid = False

    def telemetry_session(self, programmer_id: str, role: str = "clinician") -> None:
        """Called by the telemetry layer for each wand session: logs it and costs battery."""
        if not isinstance(programmer_id, str) or not programmer_id or len(programmer_id) > 128:
            raise InvalidInput("programmer_id", programmer_id, "1 to 128 characters")
        if not isinstance(role, str) or not role or len(role) > 64:
            raise InvalidInput("role", role, "1 to 64 characters")
        self.physical.battery_nc -= self.model.telemetry_session_charge_nc
        self._log("telemetry_session", programmer_id=programmer_id, role=role)
        self._cache_valid = False
        self._evaluate_conditions()

    def record_command(self, command_id: str, act: str) -> LogEntry:
        """Log the telemetry command id of the act just carried out (same firmware instant),
        so a retry is answered from the log and a lost answer can be looked up."""
        return self._log(COMMAND_LOG_KIND, command_id=command_id, act=act)

    def find_command(self, command_id: str) -> LogEntry | None:
        """The log entry of `command_id`, if the log still holds it."""
        for entry in reversed(self.log.entries()):
            if entry.kind == COMMAND_LOG_KIND and dict(entry.details).get("command_id") \
                    == command_id:
                return entry
        return None

    # ------------------------------------------------------------------ fault injection
    def occlude_catheter(self, flow_fraction: Fraction = Fraction(0)) -> None:
        """Occlude the catheter: `flow_fraction` of each stroke still gets through (0 = full)."""
        if not isinstance(flow_fraction, Fraction) or not 0 <= flow_fraction < 1:
            raise InvalidInput("flow_fraction", flow_fraction, "0 (full) to less than 1 (partial)")
        ppm = int(flow_fraction * PPM)
        self.physical.catheter = Catheter(OCCLUDED if ppm == 0 else PARTIAL_OCCLUSION, ppm, 0)
        self._cache_valid = False

    def disconnect_catheter(self, leak_fraction: Fraction = Fraction(1)) -> None:
        """Disconnect (1) or fracture (<1) the catheter: that share of the outflow leaks."""
        if not isinstance(leak_fraction, Fraction) or not 0 < leak_fraction <= 1:
            raise InvalidInput("leak_fraction", leak_fraction, "more than 0 to 1")
        self.physical.catheter = Catheter(DISCONNECTED, PPM, int(leak_fraction * PPM))
        self._cache_valid = False

    def revise_catheter(self, catheter_volume_nl: int = DEFAULT_CATHETER_VOLUME_NL) -> None:
        """Surgical catheter revision: a new, patent catheter full of saline; prime it next."""
        _whole_nl("catheter_volume_nl", catheter_volume_nl, 0, MAX_CATHETER_VOLUME_NL)
        phys = self.physical
        # Drug in the old catheter is explanted with it (counted as withdrawn). The true
        # catheter is the dead volume beyond the pump tubing, whatever the firmware stores.
        old_catheter = max(0, phys.dead_volume_nl - self.model.tubing_volume_nl)
        removed = 0
        while phys.fifo and removed < old_catheter:
            parcel = phys.fifo[0]
            take = min(parcel[0], old_catheter - removed)
            parcel[0] -= take
            removed += take
            phys.withdrawn_nl += take
            phys.withdrawn_mcg += mcg_in(take, parcel[1])
            if parcel[0] == 0:
                phys.fifo.popleft()
        phys.fifo.appendleft([catheter_volume_nl, Fraction(0)])
        phys.filled_nl += catheter_volume_nl  # saline enters the system
        phys.catheter = Catheter()
        self.catheter_volume_nl = catheter_volume_nl
        self.needs_priming = True
        self._log("catheter_revised", catheter_volume_nl=catheter_volume_nl)
        self._cache_valid = False

    def start_motor_stall(self, cause: str = "mechanical") -> None:
        """Inject a motor stall ("mri", "mechanical", "corrosion"): delivery stops, alarm."""
        if cause not in ("mri", "mechanical", "corrosion"):
            raise InvalidInput("cause", cause, "mri, mechanical or corrosion")
        if self.stalled:
            raise ActRefused("start_motor_stall", "the motor is already stalled")
        self.stalled = True
        self.stall_cause = cause
        self._cancel_overlay("motor stall")
        self._log("motor_stall", cause=cause)
        self._raise(AlarmKind.MOTOR_STALL)

    def clear_motor_stall(self) -> None:
        """The stall clears (e.g. out of the MRI field): the motor turns, the alarm clears."""
        if not self.stalled:
            raise ActRefused("clear_motor_stall", "the motor is not stalled")
        self.stalled = False
        self._log("motor_stall_cleared", cause=self.stall_cause)
        self.stall_cause = ""
        self._clear(AlarmKind.MOTOR_STALL, "motor turning again")

    def corrupt_memory(self, slot: int | None = None, bit: int = 0) -> None:
        """Flip a stored bit (default: in the active slot); the self-test runs at once."""
        active = self.nvm.active()
        target = (active.slot if active else 0) if slot is None else slot
        if target not in (0, 1):
            raise InvalidInput("slot", slot, "0 or 1")
        if isinstance(bit, bool) or not isinstance(bit, int) or bit < 0:
            raise InvalidInput("bit", bit, "a bit position ≥ 0")
        self.nvm.flip_bit(target, bit)
        self.memory_self_test()

    def memory_self_test(self) -> bool:
        """Compare the program in force with memory; a mismatch enters the safe state."""
        record = self.nvm.active()
        if self.active_program is None:
            return True
        if record is None or record.payload != self._current_payload():
            self._enter_memory_error("stored program fails its CRC or differs from the one in use")
            return False
        return True

    def restored_from_backup(self, reason: str) -> None:
        """The host started this pump from its previous saved copy (telemetry issue 17.8).

        Logged, and the critical memory-error alarm sounds so that a clinician interrogates
        the pump; the program keeps running (the copy is the last good save, and a stop
        would risk withdrawal). Reprogramming clears the alarm, as for any memory error.
        """
        self._log("memory_fault", reason=reason[:200], safe_state="none: the copy runs")
        if AlarmKind.MEMORY_ERROR not in self.alarms:
            self._raise(AlarmKind.MEMORY_ERROR)

    def inject_low_battery_reset(self) -> None:
        """A low battery reset (devices.md: battery fault pre-2011): flow drops to minimum rate."""
        self.safe_state = "low_battery_reset"
        self._cancel_overlay("low battery reset")
        self._log("power_on_reset", reason="low battery reset")
        if AlarmKind.LOW_BATTERY_RESET not in self.alarms:
            self._raise(AlarmKind.LOW_BATTERY_RESET)
        self._cache_valid = False

    # ------------------------------------------------------------------ interrogation
    def status(self) -> PumpStatus:
        if self.end_of_service:
            battery = "end_of_service"
        elif self.elective_replacement:
            battery = "elective_replacement"
        else:
            battery = "ok"
        left = Fraction(max(0, self.physical.battery_nc), self.model.battery_usable_nc)
        return PumpStatus(
            serial=self.serial, model=self.model.name, implant_date=to_datetime(self.implant_s),
            clock=to_datetime(self.firmware_clock_s), battery_state=battery,
            battery_remaining_fraction=left, reservoir_estimate_nl=self.reservoir_estimate_nl,
            concentration_mcg_per_ml=self.concentration_mcg_per_ml, program=self.active_program,
            mode=self.mode,
            alarms=tuple((a.kind.value, a.kind.critical, a.sounding_from_s is not None)
                         for a in self.alarms.values()),
            log_length=len(self.log), log_next_index=self.log.next_index,
            log_overflowed=self.log.overflowed)

    def log_since(self, index: int, limit: int = 100) -> list[LogEntry]:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidInput("index", index, "a whole number ≥ 0")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 4096:
            raise InvalidInput("limit", limit, "1 to 4096")
        return self.log.since(index, limit)

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict[str, Any]:
        """Everything, JSON-able and exact (Fractions as text, volumes and times as ints)."""
        ov = self.overlay
        return {
            "format": 1, "model": self.model.name, "serial": self.serial,
            "implant_s": self.implant_s, "now_s": self.now_s, "clock_error_s": self.clock_error_s,
            "physical": self.physical.to_state(), "ideal_units": self.ideal_units,
            "strokes": self.strokes,
            "strokes_by_dose_concentration": [[str(c), n] for c, n in
                                              self.strokes_by_dose_concentration],
            "estimate_offset_nl": self.estimate_offset_nl, "fw_filled_nl": self.fw_filled_nl,
            "fw_withdrawn_nl": self.fw_withdrawn_nl,
            "concentration_mcg_per_ml": str(self.concentration_mcg_per_ml),
            "program": (None if self.active_program is None
                        else program_to_dict(self.active_program)),
            "low_reservoir_alarm_nl": self.low_reservoir_alarm_nl,
            "catheter_volume_nl": self.catheter_volume_nl, "stopped": self.stopped,
            "stalled": self.stalled, "stall_cause": self.stall_cause,
            "end_of_service": self.end_of_service,
            "elective_replacement": self.elective_replacement, "safe_state": self.safe_state,
            "needs_priming": self.needs_priming,
            "overlay": None if ov is None else {
                "kind": ov.kind, "started_s": ov.started_s, "pieces": [list(p) for p in ov.pieces],
                "volume_nl": ov.volume_nl, "dose_mcg_per_ml": str(ov.dose_mcg_per_ml)},
            "alarms": [a.to_state() for a in self.alarms.values()],
            "log": self.log.to_state(), "nvm": self.nvm.to_state(),
            "history": [[s.start_s, s.end_s, s.flow_nl_per_day, str(s.dose_mcg_per_ml),
                         str(s.limit_mcg)] for s in self.history],
            "patient_boluses": [list(p) for p in self.patient_boluses],
            "last_patient_bolus_s": self.last_patient_bolus_s,
            "pending_deposits": [[d.time_s, d.volume_nl, str(d.mcg)]
                                 for d in self.pending_deposits],
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Pump:
        if data.get("format") != 1:
            raise InvalidInput("format", data.get("format"), "1")
        model = get_model(data["model"])
        pump = cls(model, str(data["serial"]), int(data["implant_s"]),
                   PhysicalPump.from_state(model, data["physical"]))
        pump.now_s = int(data["now_s"])
        pump.clock_error_s = int(data["clock_error_s"])
        pump.ideal_units = int(data["ideal_units"])
        pump.strokes = int(data["strokes"])
        pump.strokes_by_dose_concentration = [
            [Fraction(c), int(n)] for c, n in data["strokes_by_dose_concentration"]]
        pump.estimate_offset_nl = int(data["estimate_offset_nl"])
        pump.fw_filled_nl = int(data["fw_filled_nl"])
        pump.fw_withdrawn_nl = int(data["fw_withdrawn_nl"])
        pump.concentration_mcg_per_ml = Fraction(data["concentration_mcg_per_ml"])
        pump.low_reservoir_alarm_nl = int(data["low_reservoir_alarm_nl"])
        if data["program"] is not None:
            pump.active_program = program_from_dict(data["program"])
            pump.schedule = validate_program(pump.active_program, model,
                                             pump.concentration_mcg_per_ml,
                                             limits_set_now=False)
        pump.catheter_volume_nl = int(data["catheter_volume_nl"])
        pump.stopped = bool(data["stopped"])
        pump.stalled = bool(data["stalled"])
        pump.stall_cause = str(data["stall_cause"])
        pump.end_of_service = bool(data["end_of_service"])
        pump.elective_replacement = bool(data["elective_replacement"])
        pump.safe_state = data["safe_state"]
        pump.needs_priming = bool(data["needs_priming"])
        ov = data["overlay"]
        if ov is not None:
            pump.overlay = Overlay(str(ov["kind"]), int(ov["started_s"]),
                                   tuple((int(e), int(f)) for e, f in ov["pieces"]),
                                   int(ov["volume_nl"]), Fraction(ov["dose_mcg_per_ml"]))
        for a in data["alarms"]:
            state = AlarmState.from_state(a)
            pump.alarms[state.kind] = state
        pump.log = EventLog.from_state(data["log"])
        pump.nvm = NonVolatileMemory.from_state(data["nvm"])
        pump.history = deque(CommandedSegment(int(a), int(b), int(f), Fraction(c), Fraction(lim))
                             for a, b, f, c, lim in data["history"])
        pump.patient_boluses = deque((int(a), int(b)) for a, b in data["patient_boluses"])
        last = data["last_patient_bolus_s"]
        pump.last_patient_bolus_s = None if last is None else int(last)
        pump.pending_deposits = [PocketDeposit(int(t), int(v), Fraction(m))
                                 for t, v, m in data["pending_deposits"]]
        return pump


__all__ = [
    "AdvanceReport",
    "CommandedSegment",
    "DeliverySegment",
    "PatientBolusOutcome",
    "Pump",
    "PumpStatus",
    "RefillReport",
    "to_datetime",
    "to_seconds",
]
