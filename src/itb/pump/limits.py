"""The firmware's dose-limit check: every 24 h window touching now stays within the limit.

A pure check over the firmware's own history and plan: it changes nothing, and it refuses
(`LimitExceeded`) before an act changes anything.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction

from itb.pump.catalogue import PumpModel
from itb.pump.errors import LimitExceeded
from itb.pump.physical import mcg_in
from itb.pump.programs import Program, RateSchedule
from itb.pump.records import DAY_S, CommandedSegment, Overlay, to_datetime
from itb.pump.state import FirmwareState
from itb.therapy.units import NL_PER_ML, display


class DoseLimits:
    """Mixin of `Pump`: the plan of the firmware's flow and the 24 h limit check."""

    model: PumpModel
    state: FirmwareState
    now_s: int
    clock_error_s: int
    history: deque[CommandedSegment]
    patient_boluses: deque[tuple[int, int]]

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
            minimum_rate = self.state.at_minimum_rate()
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

        # The window one second after the last whole-past one holds almost all of the past
        # 24 h plus the first second of the plan and the whole patient-bolus allowance; the
        # breakpoints alone miss it, because the whole-past window itself is skipped below.
        candidates = {now - DAY_S, now - DAY_S + 1, now, now + reach_s}
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

