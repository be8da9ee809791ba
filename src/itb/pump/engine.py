"""The firmware's time engine: event to event, each constant-flow segment in closed form.

Time moves only through `advance(to)`, which jumps from event to event (rate changes,
bolus ends, alarms, battery and reservoir thresholds) and computes the strokes of each
constant-flow segment in closed form. There is one arithmetic path, `_step`: it runs one
segment, or, while nothing but the base schedule changes, the schedule's segments one
after another with the same arithmetic (`fast_path`; tests run both ways and compare).

Internals: true time is int UTC seconds (`now_s`); the pump clock is
`now_s + clock_error_s`. The firmware's *ideal* volume is an int in units of
1/86,400 nL (a flow of R nL/day adds R units per second), so commanded strokes
are `ideal // (stroke × 86,400)`: never more than one stroke from the ideal.
The engine reads the physical pump only to move it (`run_strokes`, the battery's
drain); what the firmware decides rests on its own counts (see `state`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from datetime import datetime
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.pump.alarms import AlarmKind, AlarmState
from itb.pump.catalogue import PumpModel
from itb.pump.eventlog import EventLog, LogEntry
from itb.pump.physical import PPM, PhysicalPump, add_run
from itb.pump.programs import Program, RateSchedule
from itb.pump.records import (
    DAY_S,
    AdvanceReport,
    CommandedSegment,
    DeliverySegment,
    PocketDeposit,
    to_datetime,
    to_seconds,
)
from itb.pump.state import CLEARED_BY, RAISED_BY, FirmwareState


class TimeEngine:
    """Mixin of `Pump`: the firmware's clock, its segments, its events and alarms."""

    # Run the steady schedule's segments in one `_step` (same arithmetic, fewer calls).
    fast_path: bool = True

    model: PumpModel
    physical: PhysicalPump
    state: FirmwareState
    implant_s: int
    now_s: int
    clock_error_s: int
    ideal_units: int
    strokes: int
    strokes_by_dose_concentration: list[list[Any]]
    estimate_offset_nl: int
    concentration_mcg_per_ml: Fraction
    active_program: Program | None
    schedule: RateSchedule | None
    low_reservoir_alarm_nl: int
    log: EventLog
    history: deque[CommandedSegment]
    pending_deposits: list[PocketDeposit]
    _cache_valid: bool
    _stroke_event_at: int
    _fixed_event_s: int

    # ------------------------------------------------------------------ firmware counts
    @property
    def firmware_clock_s(self) -> int:
        return self.now_s + self.clock_error_s

    @property
    def stroke_units(self) -> int:
        return self.model.nominal_stroke_nl * DAY_S

    @property
    def reservoir_estimate_nl(self) -> int:
        return self.estimate_offset_nl - self.strokes * self.model.nominal_stroke_nl

    def _log(self, event: str, /, **details: object) -> LogEntry:
        return self.log.append(self.firmware_clock_s, event, **details)

    def _limit_mcg(self) -> Fraction:
        return self.active_program.limits.max_daily_dose_mcg if self.active_program else Fraction(0)

    def bolus_remaining_nl(self) -> int:
        """What the running bolus still has to deliver (rounded up: dates stay early)."""
        overlay = self.state.overlay
        if overlay is None:
            return 0
        units, start = 0, overlay.started_s
        for end, flow in overlay.pieces:
            if end > self.now_s:
                units += flow * (end - max(start, self.now_s))
            start = end
        return -(-units // DAY_S)

    def _flow_now(self) -> tuple[int, int | None, Fraction]:
        """(flow nL/day, true time of the next flow change or None, dose concentration)."""
        st = self.state
        if st.end_of_service or st.stalled:
            return 0, None, self.concentration_mcg_per_ml
        if st.overlay is not None:
            flow, end = st.overlay.flow_at(self.now_s)
            return flow, end, st.overlay.dose_mcg_per_ml
        if st.at_minimum_rate() or self.schedule is None:
            return self.model.min_flow_nl_per_day, None, self.concentration_mcg_per_ml
        flow, nxt = self.schedule.rate_and_next(self.firmware_clock_s)
        change = None if nxt is None else nxt - self.clock_error_s
        return flow, change, self.concentration_mcg_per_ml

    def _steady_schedule(self) -> tuple[list[int], list[int], int, int] | None:
        """While only the base schedule changes: (rates, step durations, the step now, the
        seconds left in it); None otherwise (a bolus, a stop, a safe state, one step)."""
        schedule = self.schedule
        st = self.state
        if (not self.fast_path or schedule is None or len(schedule.offsets_s) < 2
                or st.overlay is not None or st.end_of_service or st.stalled
                or st.at_minimum_rate()):
            return None
        offsets = schedule.offsets_s
        period = schedule.period_s
        durations = [*(offsets[k + 1] - offsets[k] for k in range(len(offsets) - 1)),
                     period - offsets[-1]]
        phase = (self.firmware_clock_s + schedule.anchor_shift_s) % period
        i = bisect_right(offsets, phase) - 1
        return list(schedule.rates_nl_per_day), durations, i, durations[i] - (phase - offsets[i])

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
            if self._step(to_s, report):
                self._handle_events()
        report.events = self.log.next_index - first_log
        return report

    def _refresh_cache(self) -> None:
        """Absolute stroke count and time of the next threshold events (valid until a change)."""
        stroke_nl = self.model.nominal_stroke_nl
        best: int | None = None
        estimate_offset = self.estimate_offset_nl
        alarms = self.state.alarms
        for kind, level in ((AlarmKind.LOW_RESERVOIR, self.low_reservoir_alarm_nl),
                            (AlarmKind.RESERVOIR_EMPTY, self.model.empty_reservoir_nl)):
            if kind not in alarms:
                k = -(-(estimate_offset - level) // stroke_nl)
                if k > self.strokes and (best is None or k < best):
                    best = k
        phys = self.physical.strokes_until_event()
        if phys is not None and (best is None or self.strokes + phys < best):
            best = self.strokes + phys
        self._stroke_event_at = -1 if best is None else best
        m = self.model
        fixed = [self.physical.next_drift_s]
        if not self.state.end_of_service:
            fixed.append(self.implant_s + m.automatic_shutoff_s)
        if not self.state.elective_replacement:
            fixed.append(self.implant_s + m.automatic_shutoff_s - m.eri_warning_s)
        fixed.extend(a.rearm_at_s for a in alarms.values() if a.rearm_at_s is not None)
        if self.state.overlay is not None:
            fixed.append(self.state.overlay.end_s)
        self._fixed_event_s = min(fixed)
        self._cache_valid = True

    def _first_piece(self) -> tuple[tuple[list[int], list[int], int, int] | None, int,
                                     int | None, Fraction]:
        """(the steady schedule or None, flow, true time of its next change, dose strength),
        with the next events brought up to date."""
        if not self._cache_valid:
            self._refresh_cache()
        steady = self._steady_schedule()
        if steady is None:
            return None, *self._flow_now()
        rates, durations, i, left_s = steady
        cycle = (rates, durations, i, len(rates) - 1)
        return cycle, rates[i], self.now_s + left_s, self.concentration_mcg_per_ml

    def _step(self, to_s: int, report: AdvanceReport) -> bool:
        """Run constant-flow segments from now; True if the last ended on an event to handle.

        A segment ends at the first of: `to_s`, a flow change (flex step, bolus piece), a
        timed event (drift, re-arm, shut-off), the stroke at which a reservoir threshold or a
        parcel boundary is reached (closed form), or the second the battery crosses ERI/EOS.
        Locals carry the counts from segment to segment; they are stored at the end."""
        phys, m = self.physical, self.model
        steady, flow, change, dose_conc = self._first_piece()
        rates, durations, i, last = steady or ([], [], 0, 0)
        fixed_s, stroke_event, su = self._fixed_event_s, self._stroke_event_at, self.stroke_units
        idle, per_stroke_nc = m.idle_current_na, m.stroke_charge_nc
        eos, check_eri, eri_lhs, eri_rhs, eri_rhs_per_flow = self._eri_check()
        sounding = any(a.sounding_from_s is not None for a in self.state.alarms.values())
        simple, fifo, reservoir = phys.single_parcel(), phys.fifo, phys.reservoir_nl
        per, leak_ppm = phys.moved_per_stroke_nl, phys.catheter.leak_ppm
        limit, history = self._limit_mcg(), self.history
        csf_out, leak_out, cmd_out = report.appenders()
        t, ideal, strokes, charge = self.now_s, self.ideal_units, self.strokes, phys.battery_nc
        csf_sum = leak_sum = strokes_sum = 0
        event = False
        while True:
            end = to_s if change is None or change >= to_s else change
            if fixed_s <= end:
                end, event = max(fixed_s, t + 1), True
            new_ideal = ideal + flow * (end - t)
            n = new_ideal // su - strokes  # 0 at no flow: strokes == ideal // su always
            if strokes < stroke_event <= strokes + n:  # the event's stroke falls in [t, end]
                at = t - ((ideal - stroke_event * su) // flow)
                if at < end:
                    end, event = at, True
                    new_ideal = ideal + flow * (end - t)
                    n = new_ideal // su - strokes
            drain = idle * (end - t) + per_stroke_nc * n
            if sounding:
                drain += self._tone_drain_nc(t, end)
            left = charge - drain
            if not eos and (left <= 0 or (
                    check_eri and left * eri_lhs <= eri_rhs + eri_rhs_per_flow * flow)):
                end, drain = self._clip_at_battery(t, end, flow, ideal, strokes, charge)
                new_ideal = ideal + flow * (end - t)
                n = new_ideal // su - strokes
                event = True
            charge -= drain
            if flow > 0:
                ideal = new_ideal
                strokes += n
                strokes_sum += n
                if n and simple:
                    moved = n * per
                    if moved > reservoir:
                        moved = reservoir
                    if moved > 0:
                        reservoir -= moved
                        leak = moved * leak_ppm // PPM if leak_ppm else 0
                        csf_sum, leak_sum = csf_sum + moved - leak, leak_sum + leak
                        if moved > leak:
                            csf_out(DeliverySegment(t, end, moved - leak, fifo[0][1]))
                        if leak:
                            leak_out(DeliverySegment(t, end, leak, fifo[0][1]))
                elif n:
                    report.add_outflow(t, end, *phys.run_strokes(n))
                seg = CommandedSegment(t, end, flow, dose_conc, limit)
                cmd_out(seg)
                history.append(seg)
                horizon = end - DAY_S
                while history[0].end_s <= horizon:
                    history.popleft()
            t = end
            if event or t >= to_s or steady is None:
                break
            i = i + 1 if i < last else 0
            flow, change = rates[i], t + durations[i]
        self.now_s, self.ideal_units, self.strokes, phys.battery_nc = t, ideal, strokes, charge
        if strokes_sum:
            add_run(self.strokes_by_dose_concentration, dose_conc, strokes_sum)
        if simple:
            phys.settle_outflow(reservoir, csf_sum, leak_sum)
        return event

    def _tone_drain_nc(self, start_s: int, end_s: int) -> int:
        """Charge of the alarm tones sounding over [start_s, end_s)."""
        m = self.model
        drain = 0
        for alarm in self.state.alarms.values():
            if alarm.sounding_from_s is not None:
                n = alarm.tones_between(start_s, end_s, m.alarm_repeat_s)
                if n:
                    drain += n * alarm.tone_charge_nc(m)
        return drain

    def _drain_nc(self, start_s: int, end_s: int, flow: int) -> int:
        """True battery drain over [start_s, end_s) at a constant commanded flow."""
        drain = self.model.idle_current_na * (end_s - start_s)
        if flow:
            strokes = (self.ideal_units + flow * (end_s - start_s)) // self.stroke_units \
                - self.strokes
            drain += self.model.stroke_charge_nc * strokes
        return drain + self._tone_drain_nc(start_s, end_s)

    def _eri_terms(self) -> tuple[int, int, int]:
        """(a, b, c) such that ERI holds for `charge` at `flow` when
        charge × a <= (b + c × flow) × eri_warning_s (whole numbers: `_eri_reached` × repeat)."""
        m = self.model
        units = m.nominal_stroke_nl * DAY_S
        return (units * m.alarm_repeat_s,
                m.idle_current_na * units * m.alarm_repeat_s + m.noncritical_tone_charge_nc * units,
                m.stroke_charge_nc * m.alarm_repeat_s)

    def _eri_check(self) -> tuple[bool, bool, int, int, int]:
        """(end of service, whether ERI is still to come, a, b, c): ERI holds for `charge` at
        `flow` when charge × a <= b + c × flow (`_eri_reached` in whole numbers)."""
        st = self.state
        lhs, base, per_flow = self._eri_terms()
        eri_s = self.model.eri_warning_s
        return (st.end_of_service, not st.end_of_service and not st.elective_replacement, lhs,
                base * eri_s, per_flow * eri_s)

    def _eri_reached(self, charge_nc: int, flow: int) -> bool:
        """ERI: the charge left is no more than `eri_warning_s` of the present drain.

        The drain includes the ERI alarm's own tone, which sounds from ERI on (every
        `alarm_repeat_s`), so that at a steady rate the pump stops `eri_warning_s` after
        ERI, as devices.md states ("stops after 90 days"), not ~3 days sooner.
        """
        lhs, base, per_flow = self._eri_terms()
        return charge_nc * lhs <= (base + per_flow * flow) * self.model.eri_warning_s

    def _clip_at_battery(self, start_s: int, end_s: int, flow: int, ideal: int, strokes: int,
                         charge: int) -> tuple[int, int]:
        """(the second ERI or EOS is reached, the drain until then), from `_step`'s counts."""
        self.ideal_units, self.strokes, self.physical.battery_nc = ideal, strokes, charge
        end_s = self._battery_crossing(start_s, end_s, flow)
        return end_s, self._drain_nc(start_s, end_s, flow)

    def _battery_crossing(self, start_s: int, end_s: int, flow: int) -> int:
        """The first second in (start_s, end_s] at which ERI or EOS is reached."""
        charge = self.physical.battery_nc

        def crossed(t: int) -> bool:
            left = charge - self._drain_nc(start_s, t, flow)
            return left <= 0 or (not self.state.elective_replacement
                                 and self._eri_reached(left, flow))

        lo, hi = start_s, end_s  # crossed(hi) holds; find the smallest such t > start_s
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if crossed(mid):
                hi = mid
            else:
                lo = mid
        return hi

    # ------------------------------------------------------------------ events and alarms
    def _handle_events(self) -> None:
        """Apply whatever became true at `now_s` (alarms, bolus end, drift, re-arm)."""
        now = self.now_s
        st = self.state
        if now >= self._fixed_event_s or self._stroke_event_at == self.strokes:
            self._cache_valid = False
        if now >= self.physical.next_drift_s:
            self.physical.update_drift(now)
            self._cache_valid = False
        if st.overlay is not None and now >= st.overlay.end_s:
            self._log(f"{st.overlay.kind}_bolus_completed", volume_nl=st.overlay.volume_nl)
            st.overlay = None
            self._cache_valid = False
        for alarm in st.alarms.values():
            if alarm.rearm_at_s is not None and now >= alarm.rearm_at_s:
                alarm.rearm(now)
                self._log("alarm_rearmed", kind=alarm.kind.value)
                self._cache_valid = False
        self._evaluate_conditions()

    def _evaluate_conditions(self) -> None:
        """Raise the alarms the firmware's own counts call for (reservoir, battery, age)."""
        st = self.state
        estimate = self.reservoir_estimate_nl
        if AlarmKind.LOW_RESERVOIR not in st.alarms and estimate <= self.low_reservoir_alarm_nl:
            self._raise_for("low reservoir")
        if AlarmKind.RESERVOIR_EMPTY not in st.alarms and estimate <= self.model.empty_reservoir_nl:
            self._raise_for("reservoir empty")
            self._cancel_overlay("reservoir empty")
        flow, _c, _d = self._flow_now()
        charge = self.physical.battery_nc
        age_s = self.now_s - self.implant_s
        shutoff = self.model.automatic_shutoff_s
        if not st.elective_replacement and (
                age_s >= shutoff - self.model.eri_warning_s or self._eri_reached(charge, flow)):
            st.elective_replacement = True
            self._log("battery_milestone", milestone="elective_replacement_indicator",
                      charge_nc=charge)
            self._raise_for("elective replacement", again=True)
        if not st.end_of_service and (age_s >= shutoff or charge <= 0):
            st.end_of_service = True
            self._log("battery_milestone", milestone="end_of_service", charge_nc=charge,
                      reason="automatic shut-off" if age_s >= shutoff else "battery depleted")
            self._cancel_overlay("end of service")
            self._raise_for("end of service", again=True)

    def _raise(self, kind: AlarmKind) -> None:
        self.state.alarms[kind] = AlarmState(kind, self.now_s, self.now_s)
        self._log("alarm_raised", kind=kind.value, critical=kind.critical, pattern=kind.pattern,
                  repeat_s=self.model.alarm_repeat_s)
        self._cache_valid = False

    def _raise_for(self, event: str, *, again: bool = False) -> None:
        """Raise the alarm that `event` calls for (`state.RAISED_BY`), unless it is raised
        already (`again`: raise it anew regardless)."""
        kind = RAISED_BY[event]
        if again or kind not in self.state.alarms:
            self._raise(kind)

    def _clear(self, kind: AlarmKind, reason: str) -> None:
        if self.state.alarms.pop(kind, None) is not None:
            self._log("alarm_cleared", kind=kind.value, reason=reason)
            self._cache_valid = False

    def _clear_for(self, event: str) -> None:
        """Clear the alarms that `event` ends (`state.CLEARED_BY`), logging it as the reason."""
        for kind in CLEARED_BY[event]:
            self._clear(kind, event)

    def _cancel_overlay(self, reason: str) -> None:
        st = self.state
        if st.overlay is not None:
            self._log(f"{st.overlay.kind}_bolus_interrupted", reason=reason)
            st.overlay = None
            self._cache_valid = False
