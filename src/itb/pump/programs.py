"""Infusion programs as frozen value objects, and their compilation to a rate schedule.

A program is written in the clinic's units (mcg/day, mcg, seconds, local time of
day). The firmware runs it as a *rate schedule*: piecewise-constant flows in whole
nanolitres per day over a repeating period (a day or a week) in the program's
stated time zone (a fixed UTC offset: the pump clock knows nothing of daylight
saving, so the clinician re-programs the offset, as with a real pump clock).

Every rate is a whole number of nL/day (the firmware's rate resolution). A bolus
of V nL over T s runs at R = floor(V·86400/T) nL/day for T-1 s and delivers the
remainder in its last second, so every bolus delivers exactly V nL.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any

from itb.pump.catalogue import PumpModel
from itb.pump.errors import InvalidProgram
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY, display

SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
# 1970-01-01 was a Thursday; adding 3 days makes phase 0 a Monday 00:00.
_MONDAY_SHIFT_S = 3 * SECONDS_PER_DAY


@dataclass(frozen=True)
class HardLimits:
    """Clinician-set firmware limits for one program."""

    max_daily_dose_mcg: Fraction
    max_bolus_mcg: Fraction


@dataclass(frozen=True)
class PatientBolusSettings:
    """Patient-activated bolus (myPTM-like): dose, lockout and maximum per 24 h."""

    dose_mcg: Fraction
    lockout_s: int
    max_per_24h: int


@dataclass(frozen=True)
class ContinuousTherapy:
    """Simple continuous: one daily dose."""

    daily_dose_mcg: Fraction


@dataclass(frozen=True)
class FlexStep:
    """One step of a flex schedule: from `start_s` (seconds after the period start,
    local time) for `duration_s`, at `dose_rate_mcg_per_day`."""

    start_s: int
    duration_s: int
    dose_rate_mcg_per_day: Fraction


@dataclass(frozen=True)
class PeriodicBolus:
    """A bolus of `dose_mcg` over `duration_s` starting `start_s` after local midnight, every day.

    It replaces the flex rate while it runs.
    """

    start_s: int
    dose_mcg: Fraction
    duration_s: int


@dataclass(frozen=True)
class FlexTherapy:
    """A repeating schedule of steps, daily or weekly, in a stated time zone."""

    steps: tuple[FlexStep, ...]
    period: str = "daily"  # "daily" or "weekly" (a weekly period starts Monday 00:00 local)
    utc_offset_minutes: int = 0
    periodic_boluses: tuple[PeriodicBolus, ...] = ()


Therapy = ContinuousTherapy | FlexTherapy


@dataclass(frozen=True)
class Program:
    """What the clinician programs: the therapy, its hard limits, an optional patient bolus."""

    therapy: Therapy
    limits: HardLimits
    patient_bolus: PatientBolusSettings | None = None


@dataclass(frozen=True)
class RateSchedule:
    """A compiled therapy: flows (nL/day) from each offset until the next, repeating.

    `anchor_shift_s` is added to UTC seconds to get the phase clock (time zone and
    weekday alignment). A single-rate schedule has no boundaries.
    """

    period_s: int
    anchor_shift_s: int
    offsets_s: tuple[int, ...]
    rates_nl_per_day: tuple[int, ...]
    max_window_nl: Fraction = field(default=Fraction(0))

    def rate_and_next(self, firmware_s: int) -> tuple[int, int | None]:
        """Flow at pump-clock time `firmware_s`, and the pump-clock time of the next change."""
        if len(self.offsets_s) == 1:
            return self.rates_nl_per_day[0], None
        phase = (firmware_s + self.anchor_shift_s) % self.period_s
        i = bisect_right(self.offsets_s, phase) - 1
        nxt = self.offsets_s[i + 1] if i + 1 < len(self.offsets_s) else self.period_s
        return self.rates_nl_per_day[i], firmware_s + (nxt - phase)

    def volume_ideal_units(self, from_s: int, to_s: int) -> int:
        """Ideal volume in 1/86400 nL between two pump-clock times (exact integer)."""
        total = 0
        t = from_s
        while t < to_s:
            rate, nxt = self.rate_and_next(t)
            end = to_s if nxt is None or nxt > to_s else nxt
            total += rate * (end - t)
            t = end
        return total

    def daily_total_nl(self) -> Fraction:
        """Mean programmed volume per day over one period."""
        units = sum(r * (e - s) for r, s, e in self._spans())
        return Fraction(units, SECONDS_PER_DAY) * SECONDS_PER_DAY / self.period_s

    def _spans(self) -> list[tuple[int, int, int]]:
        ends = [*self.offsets_s[1:], self.period_s]
        return list(zip(self.rates_nl_per_day, self.offsets_s, ends, strict=True))


def bolus_segments(volume_nl: int, duration_s: int) -> tuple[tuple[int, int], ...]:
    """(seconds, nL/day) pieces that deliver exactly `volume_nl` in `duration_s` seconds."""
    units = volume_nl * SECONDS_PER_DAY
    rate = units // duration_s
    remainder = units - rate * duration_s
    if remainder == 0:
        return ((duration_s, rate),)
    if duration_s == 1:
        return ((1, rate + remainder),)
    return ((duration_s - 1, rate), (1, rate + remainder))


def volume_for_dose(field_name: str, dose_mcg: Fraction, concentration_mcg_per_ml: Fraction) -> int:
    """Whole nL carrying `dose_mcg`; refuses a dose finer than 1 nL at this concentration."""
    volume = dose_mcg * NL_PER_ML / concentration_mcg_per_ml
    if volume.denominator != 1:
        step = concentration_mcg_per_ml / NL_PER_ML
        raise InvalidProgram(field_name, f"{display(dose_mcg, 6)} mcg",
                             f"a multiple of {display(step, 9)} mcg (one nL at "
                             f"{display(concentration_mcg_per_ml)} mcg/mL)")
    return int(volume)


def flow_for_dose_rate(field_name: str, dose_rate_mcg_per_day: Fraction,
                       concentration_mcg_per_ml: Fraction, model: PumpModel) -> int:
    """Whole nL/day for a dose rate, checked against the model's flow range."""
    flow = dose_rate_mcg_per_day * NL_PER_ML / concentration_mcg_per_ml
    lo = Fraction(model.min_flow_nl_per_day) * concentration_mcg_per_ml / NL_PER_ML
    hi = Fraction(model.max_flow_nl_per_day) * concentration_mcg_per_ml / NL_PER_ML
    if flow < model.min_flow_nl_per_day or flow > model.max_flow_nl_per_day:
        raise InvalidProgram(field_name, f"{display(dose_rate_mcg_per_day)} mcg/day",
                             f"{display(lo)} to {display(hi)} mcg/day at "
                             f"{display(concentration_mcg_per_ml)} mcg/mL ({model.name} flow "
                             f"{display(Fraction(model.min_flow_nl_per_day, NL_PER_ML))} to "
                             f"{display(Fraction(model.max_flow_nl_per_day, NL_PER_ML))} mL/day)")
    if flow.denominator != 1:
        step = concentration_mcg_per_ml / NL_PER_ML
        raise InvalidProgram(field_name, f"{display(dose_rate_mcg_per_day, 6)} mcg/day",
                             f"a multiple of {display(step, 9)} mcg/day (one nL/day, "
                             "the firmware's rate resolution)")
    return int(flow)


def _check_positive_dose(field_name: str, dose: Fraction, limit: Fraction | None = None) -> None:
    if not isinstance(dose, Fraction):
        raise InvalidProgram(field_name, dose, "an exact Fraction of mcg")
    if dose <= 0:
        raise InvalidProgram(field_name, f"{display(dose)} mcg", "more than 0 mcg")
    if limit is not None and dose > limit:
        raise InvalidProgram(field_name, f"{display(dose)} mcg",
                             f"more than 0 to {display(limit)} mcg (the program's maximum bolus)")


def _check_int(field_name: str, value: object, low: int, high: int, unit: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidProgram(field_name, f"{value} {unit}",
                             f"a whole number from {low} to {high} {unit}")
    return value


def compile_therapy(therapy: Therapy, model: PumpModel, concentration_mcg_per_ml: Fraction,
                    max_bolus_mcg: Fraction) -> RateSchedule:
    """Validate a therapy against the model and concentration and compile its rate schedule."""
    if isinstance(therapy, ContinuousTherapy):
        flow = flow_for_dose_rate("daily_dose_mcg", therapy.daily_dose_mcg,
                                  concentration_mcg_per_ml, model)
        return RateSchedule(SECONDS_PER_DAY, 0, (0,), (flow,), Fraction(flow))
    if not isinstance(therapy, FlexTherapy):
        raise InvalidProgram("therapy", type(therapy).__name__, "ContinuousTherapy or FlexTherapy")
    if therapy.period not in ("daily", "weekly"):
        raise InvalidProgram("period", therapy.period, "daily or weekly")
    period = SECONDS_PER_DAY if therapy.period == "daily" else SECONDS_PER_WEEK
    days = period // SECONDS_PER_DAY
    _check_int("utc_offset_minutes", therapy.utc_offset_minutes, -14 * 60, 14 * 60, "minutes")
    max_steps = model.max_flex_steps_per_day * days
    if not 1 <= len(therapy.steps) <= max_steps:
        raise InvalidProgram("steps", f"{len(therapy.steps)} steps", f"1 to {max_steps} steps")
    steps = sorted(therapy.steps, key=lambda s: s.start_s)
    for i, step in enumerate(steps):
        _check_int(f"steps[{i}].start_s", step.start_s, 0, period - 1, "s")
        _check_int(f"steps[{i}].duration_s", step.duration_s, 60, period, "s")
    # Steps must tile the period exactly: each ends where the next (wrapping) begins.
    for i, step in enumerate(steps):
        nxt = steps[(i + 1) % len(steps)]
        end = step.start_s + step.duration_s
        nxt_start = nxt.start_s if i + 1 < len(steps) else nxt.start_s + period
        if end > nxt_start:
            raise InvalidProgram(f"steps[{i}]", f"{_hhmm(step.start_s)}+{step.duration_s}s",
                                 f"a step ending by {_hhmm(nxt_start % period)} "
                                 "(steps must not overlap)")
        if end < nxt_start:
            raise InvalidProgram(f"steps[{i}]", f"{_hhmm(step.start_s)}+{step.duration_s}s",
                                 f"a step ending exactly at {_hhmm(nxt_start % period)} "
                                 "(steps must cover the whole period without gaps)")
    # Piecewise rates over [0, period): split steps that wrap past the period end.
    pieces: list[tuple[int, int, int]] = []
    for i, step in enumerate(steps):
        flow = flow_for_dose_rate(f"steps[{i}].dose_rate_mcg_per_day", step.dose_rate_mcg_per_day,
                                  concentration_mcg_per_ml, model)
        pieces.extend(_wrap(step.start_s, step.duration_s, period, flow))
    # Periodic boluses replace the step rate while they run, every day of the period.
    windows: list[tuple[int, int]] = []
    for i, bolus in enumerate(therapy.periodic_boluses):
        _check_positive_dose(f"periodic_boluses[{i}].dose_mcg", bolus.dose_mcg, max_bolus_mcg)
        _check_int(f"periodic_boluses[{i}].start_s", bolus.start_s, 0, SECONDS_PER_DAY - 1, "s")
        _check_int(f"periodic_boluses[{i}].duration_s", bolus.duration_s, 60, 12 * 3600, "s")
        volume = volume_for_dose(f"periodic_boluses[{i}].dose_mcg", bolus.dose_mcg,
                                 concentration_mcg_per_ml)
        segs = bolus_segments(volume, bolus.duration_s)
        if volume * SECONDS_PER_DAY > model.max_flow_nl_per_day * bolus.duration_s:
            shortest = -(-volume * SECONDS_PER_DAY // model.max_flow_nl_per_day)
            max_ml = display(Fraction(model.max_flow_nl_per_day, NL_PER_ML))
            raise InvalidProgram(f"periodic_boluses[{i}].duration_s", f"{bolus.duration_s} s",
                                 f"at least {shortest} s for this dose (maximum flow "
                                 f"{max_ml} mL/day)")
        for day in range(days):
            t = day * SECONDS_PER_DAY + bolus.start_s
            for length, rate in segs:
                for start, dur, r in _wrap(t % period, length, period, rate):
                    windows.append((start, start + dur))
                    pieces.append((start, dur, -r - 1))  # marked as overlay (negative)
                t += length
    windows.sort()
    for (_a0, a1), (b0, _b1) in pairwise(windows):
        if b0 < a1:
            raise InvalidProgram("periodic_boluses", f"bolus at {_hhmm(b0 % SECONDS_PER_DAY)}",
                                 f"a start after {_hhmm(a1 % SECONDS_PER_DAY)} "
                                 "(periodic boluses must not overlap)")
    offsets, rates = _flatten(pieces, period)
    shift = therapy.utc_offset_minutes * 60 + (_MONDAY_SHIFT_S if period == SECONDS_PER_WEEK else 0)
    return RateSchedule(period, shift, offsets, rates, _max_24h_nl(offsets, rates, period))


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _wrap(start: int, duration: int, period: int, rate: int) -> list[tuple[int, int, int]]:
    if start + duration <= period:
        return [(start, duration, rate)]
    first = period - start
    return [(start, first, rate), (0, duration - first, rate)]


def _flatten(pieces: list[tuple[int, int, int]],
             period: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Breakpoints of the combined schedule; overlay pieces (negative) win over steps."""
    cuts = sorted({0} | {s for s, _d, _r in pieces}
                  | {s + d for s, d, _r in pieces if s + d < period})
    base = sorted((s, d, r) for s, d, r in pieces if r >= 0)
    over = sorted((s, d, -r - 1) for s, d, r in pieces if r < 0)
    offsets: list[int] = []
    rates: list[int] = []
    for cut in cuts:
        rate = next((r for s, d, r in over if s <= cut < s + d), None)
        if rate is None:
            rate = next(r for s, d, r in base if s <= cut < s + d)
        if rates and rates[-1] == rate:
            continue
        offsets.append(cut)
        rates.append(rate)
    return tuple(offsets), tuple(rates)


def _max_24h_nl(offsets: tuple[int, ...], rates: tuple[int, ...], period: int) -> Fraction:
    """Largest programmed volume in any 24 h window (nL, exact), over a repeating schedule."""
    if len(offsets) == 1:
        return Fraction(rates[0])
    sched = RateSchedule(period, 0, offsets, rates)
    # The window volume is piecewise linear in its start; its maxima lie where either end
    # meets a breakpoint.
    candidates = {o for o in offsets} | {(o - SECONDS_PER_DAY) % period for o in offsets}
    best = 0
    for start in candidates:
        best = max(best, sched.volume_ideal_units(start, start + SECONDS_PER_DAY))
    return Fraction(best, SECONDS_PER_DAY)


def validate_program(program: Program, model: PumpModel, concentration_mcg_per_ml: Fraction,
                     *, limits_set_now: bool = True) -> RateSchedule:
    """Check every field of `program`; return its compiled schedule.

    The programmed 24 h dose (largest in any 24 h window), plus the patient-bolus
    allowance, plus one stroke of quantisation, must fit the maximum daily dose.
    When the clinician sets the limits now (`limits_set_now`), they must also be
    deliverable (`check_limits_deliverable`); a refill or a reboot re-checks a program
    whose limits were set earlier, at a concentration that may since have fallen.
    """
    if not isinstance(program, Program):
        raise InvalidProgram("program", type(program).__name__, "a Program")
    limits = program.limits
    _check_positive_dose("max_daily_dose_mcg", limits.max_daily_dose_mcg)
    _check_positive_dose("max_bolus_mcg", limits.max_bolus_mcg)
    schedule = compile_therapy(program.therapy, model, concentration_mcg_per_ml,
                               limits.max_bolus_mcg)
    allowance = Fraction(0)
    if program.patient_bolus is not None:
        pb = program.patient_bolus
        _check_positive_dose("patient_bolus.dose_mcg", pb.dose_mcg, limits.max_bolus_mcg)
        volume_for_dose("patient_bolus.dose_mcg", pb.dose_mcg, concentration_mcg_per_ml)
        _check_int("patient_bolus.lockout_s", pb.lockout_s, model.patient_bolus_duration_s,
                   SECONDS_PER_DAY, "s")
        _check_int("patient_bolus.max_per_24h", pb.max_per_24h, 1, 24, "boluses")
        allowance = pb.dose_mcg * pb.max_per_24h
    stroke_mcg = Fraction(model.nominal_stroke_nl) * concentration_mcg_per_ml / NL_PER_ML
    planned = schedule.max_window_nl * concentration_mcg_per_ml / NL_PER_ML
    if planned + allowance + stroke_mcg > limits.max_daily_dose_mcg:
        raise InvalidProgram("max_daily_dose_mcg", f"{display(limits.max_daily_dose_mcg)} mcg",
                             f"at least {display(planned + allowance + stroke_mcg)} mcg for this "
                             f"program ({display(planned)} mcg programmed in 24 h + "
                             f"{display(allowance)} mcg patient boluses + one stroke)")
    min_dose = Fraction(model.min_flow_nl_per_day) * concentration_mcg_per_ml / NL_PER_ML
    if limits.max_daily_dose_mcg < min_dose + stroke_mcg:
        raise InvalidProgram("max_daily_dose_mcg", f"{display(limits.max_daily_dose_mcg)} mcg",
                             f"at least {display(min_dose + stroke_mcg)} mcg (the minimum rate)")
    if limits_set_now:
        check_limits_deliverable(limits, model, concentration_mcg_per_ml)
    return schedule


def max_deliverable_daily_dose_mcg(model: PumpModel,
                                   concentration_mcg_per_ml: Fraction) -> Fraction:
    """The highest maximum daily dose `check_limits_deliverable` accepts (see there)."""
    return Fraction(model.max_flow_nl_per_day + model.nominal_stroke_nl) \
        * concentration_mcg_per_ml / NL_PER_ML


def check_limits_deliverable(limits: HardLimits, model: PumpModel,
                             concentration_mcg_per_ml: Fraction) -> None:
    """Refuse hard limits above what this pump can physically deliver at this concentration.

    A bolus lasts at most 24 h at no more than the model's maximum flow, and the base
    rate never exceeds it either, so nothing can move more than one day at maximum flow
    (plus one stroke of quantisation) in any 24 h. A limit above that is not a limit: a
    typo such as 1e90 mcg would read as protection and give none. Checked when a clinician
    sets limits (implant, program change); a later refill at a lower concentration only
    lowers what the pump can deliver, so it keeps the limit set.
    """
    ceiling_mcg = Fraction(model.max_flow_nl_per_day) * concentration_mcg_per_ml / NL_PER_ML
    daily_ceiling_mcg = max_deliverable_daily_dose_mcg(model, concentration_mcg_per_ml)
    reason = (f"what {model.name} can deliver in 24 h at its maximum flow "
              f"({display(Fraction(model.max_flow_nl_per_day, NL_PER_ML))} mL/day) "
              f"at {display(concentration_mcg_per_ml)} mcg/mL")
    if limits.max_daily_dose_mcg > daily_ceiling_mcg:
        raise InvalidProgram("max_daily_dose_mcg", f"{display(limits.max_daily_dose_mcg)} mcg",
                             f"at most {display(daily_ceiling_mcg)} mcg, {reason} "
                             "plus one stroke")
    if limits.max_bolus_mcg > ceiling_mcg:
        raise InvalidProgram("max_bolus_mcg", f"{display(limits.max_bolus_mcg)} mcg",
                             f"at most {display(ceiling_mcg)} mcg, {reason}")


def program_to_dict(program: Program) -> dict[str, Any]:
    """JSON-able, exact (Fractions as text) form of a program."""
    therapy = program.therapy
    if isinstance(therapy, ContinuousTherapy):
        th: dict[str, Any] = {"type": "continuous", "daily_dose_mcg": str(therapy.daily_dose_mcg)}
    else:
        th = {"type": "flex", "period": therapy.period,
              "utc_offset_minutes": therapy.utc_offset_minutes,
              "steps": [[s.start_s, s.duration_s, str(s.dose_rate_mcg_per_day)]
                        for s in therapy.steps],
              "periodic_boluses": [[b.start_s, str(b.dose_mcg), b.duration_s]
                                   for b in therapy.periodic_boluses]}
    pb = program.patient_bolus
    return {
        "therapy": th,
        "limits": {"max_daily_dose_mcg": str(program.limits.max_daily_dose_mcg),
                   "max_bolus_mcg": str(program.limits.max_bolus_mcg)},
        "patient_bolus": None if pb is None else {
            "dose_mcg": str(pb.dose_mcg), "lockout_s": pb.lockout_s, "max_per_24h": pb.max_per_24h},
    }


def program_from_dict(data: dict[str, Any]) -> Program:
    th = data["therapy"]
    therapy: Therapy
    if th["type"] == "continuous":
        therapy = ContinuousTherapy(Fraction(th["daily_dose_mcg"]))
    else:
        therapy = FlexTherapy(
            steps=tuple(FlexStep(int(a), int(b), Fraction(c)) for a, b, c in th["steps"]),
            period=str(th["period"]), utc_offset_minutes=int(th["utc_offset_minutes"]),
            periodic_boluses=tuple(PeriodicBolus(int(a), Fraction(b), int(c))
                                   for a, b, c in th["periodic_boluses"]))
    lim = data["limits"]
    pb = data["patient_bolus"]
    return Program(
        therapy=therapy,
        limits=HardLimits(Fraction(lim["max_daily_dose_mcg"]), Fraction(lim["max_bolus_mcg"])),
        patient_bolus=None if pb is None else PatientBolusSettings(
            Fraction(pb["dose_mcg"]), int(pb["lockout_s"]), int(pb["max_per_24h"])),
    )
