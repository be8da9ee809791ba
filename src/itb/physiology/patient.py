"""The simulated patient: feed it the drug that truly arrived, read back what it feels.

    patient = Patient(typical_patient(), start)
    trace = patient.advance(until, [DrugDelivery(t0, t1, Fraction(500, 24))])
    state = patient.state_at(some_time)   # any time in [start, now]

`Patient` is sans-IO and deterministic: it never reads a clock, and the same
parameters and deliveries give the same trace. Time only moves forward, through
`advance`. A delivery is the exact drug (mcg, `Fraction`) that reached a route over
[start, end]: `Route.CSF` for drug that came out of the catheter tip into the lumbar
CSF (the physical pump layer decides how much that is), `Route.POCKET` for drug put
into the subcutaneous pocket (a pocket fill) or leaking there. A delivery with
start == end is instantaneous (a bolus, a pocket deposit).

Inside, the drug state is solved in closed form per piecewise-constant piece
(`pk`, `linear`); samples come out on a grid aligned to `start`, vectorised.
Withdrawal needs the history of the effect site, so the patient checks it on its
own fixed grid (`check_every_s`, 5 min by default), independent of the sampling the
caller asks for, and interpolates the crossing times between grid points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

import numpy as np

from itb.errors import InvalidInput
from itb.physiology import overdose, withdrawal
from itb.physiology.linear import FloatArray
from itb.physiology.pk import CSF_INPUT, LUMBAR, N_STATES, POCKET, POCKET_INPUT
from itb.physiology.population import PatientParameters
from itb.therapy.units import require_utc

_H = 3600.0


class Route(StrEnum):
    CSF = "csf"
    POCKET = "pocket"


def _utc(field: str, value: datetime) -> datetime:
    if value.__class__ is datetime and value.tzinfo is UTC:  # the common case, fast
        return value
    return require_utc(field, value)


@dataclass(frozen=True)
class DrugDelivery:
    """Exact drug that reached `route` evenly over [start, end] (instantaneous if equal)."""

    start: datetime
    end: datetime
    drug_mcg: Fraction
    route: Route = Route.CSF

    def __post_init__(self) -> None:
        _utc("start", self.start)
        _utc("end", self.end)
        if self.end < self.start:
            raise InvalidInput("end", self.end, f"at or after start {self.start.isoformat()}")
        amount = self.drug_mcg
        if amount.__class__ is not Fraction:
            if isinstance(amount, bool) or not isinstance(amount, int | Fraction):
                raise InvalidInput("drug_mcg", amount, "an exact amount (int or Fraction), "
                                   "0 or more")
            object.__setattr__(self, "drug_mcg", Fraction(amount))
        if amount < 0:
            raise InvalidInput("drug_mcg", amount, "an exact amount (int or Fraction), 0 or more")
        if self.route.__class__ is not Route:
            try:
                object.__setattr__(self, "route", Route(self.route))
            except ValueError:
                raise InvalidInput("route", self.route,
                                   "one of: " + ", ".join(r.value for r in Route)) from None


def symptoms_for(withdrawal_stage: int, overdose_stage: int, side_effects: int) -> tuple[str, ...]:
    """Symptom names (triage vocabulary) a patient in these stages reports; `side_effects`
    is the side-effect mask (`overdose.SLEEPINESS`, `overdose.LOOSE_MUSCLES`)."""
    names = list(withdrawal.SYMPTOMS_BY_STAGE[withdrawal_stage]) + list(
        overdose.SYMPTOMS_BY_STAGE[overdose_stage])
    if side_effects and overdose_stage == 0:
        names += list(overdose.side_effect_names(int(side_effects)))
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class PatientState:
    """Everything observable about the patient at one moment."""

    at: datetime
    lumbar_mcg_per_ml: float
    cisternal_mcg_per_ml: float
    effect_site_mcg_per_ml: float
    adapted_mcg_per_ml: float
    plasma_mcg_per_ml: float
    pocket_mcg: float
    days_on_therapy: float | None
    relaxation: float
    ashworth: float
    spasms_per_hour: float
    withdrawal_stage: int
    hours_under_need: float | None
    overdose_stage: int
    overdose_index: float
    symptoms: tuple[str, ...]

    @property
    def withdrawal_stage_name(self) -> str:
        return withdrawal.STAGE_NAMES[self.withdrawal_stage]

    @property
    def overdose_stage_name(self) -> str:
        return overdose.STAGE_NAMES[self.overdose_stage]


@dataclass(frozen=True)
class PatientTrace:
    """Samples from one `advance`, as arrays (seconds since the patient's start)."""

    start: datetime
    t_s: FloatArray
    lumbar_mcg_per_ml: FloatArray
    cisternal_mcg_per_ml: FloatArray
    effect_site_mcg_per_ml: FloatArray
    adapted_mcg_per_ml: FloatArray
    plasma_mcg_per_ml: FloatArray
    pocket_mcg: FloatArray
    relaxation: FloatArray
    ashworth: FloatArray
    spasms_per_hour: FloatArray
    withdrawal_stage: np.ndarray
    overdose_stage: np.ndarray
    overdose_index: FloatArray
    side_effects: np.ndarray  # mask: overdose.SLEEPINESS | overdose.LOOSE_MUSCLES

    def __len__(self) -> int:
        return len(self.t_s)

    def times(self) -> list[datetime]:
        return [self.start + timedelta(seconds=float(s)) for s in self.t_s]

    def symptoms_at(self, i: int) -> tuple[str, ...]:
        return symptoms_for(int(self.withdrawal_stage[i]), int(self.overdose_stage[i]),
                            int(self.side_effects[i]))


class Patient:
    """One simulated patient moving forward in time under the drug that reached them."""

    def __init__(self, parameters: PatientParameters, start: datetime, *,
                 therapy_started_at: datetime | None = None, check_every_s: int = 300) -> None:
        if not isinstance(parameters, PatientParameters):
            raise InvalidInput("parameters", type(parameters).__name__, "PatientParameters")
        self.parameters = parameters
        self.start = _utc("start", start)
        if isinstance(check_every_s, bool) or not isinstance(check_every_s, int) or \
                not 1 <= check_every_s <= 3600:
            raise InvalidInput("check_every_s", check_every_s, "a whole number from 1 to 3600")
        self.check_every_s = check_every_s
        self._therapy_start_h: float | None = None
        if therapy_started_at is not None:
            self._therapy_start_h = self._hours("therapy_started_at", therapy_started_at)
        self._kinetics = parameters.kinetics
        self._system = parameters.kinetics.system
        self._now_h = 0.0
        self._x = np.zeros(N_STATES)
        # History for state_at: breakpoints, post-jump states, input of the piece after each.
        self._hist_t: list[FloatArray] = [np.array([0.0])]
        self._hist_x: list[FloatArray] = [np.zeros((1, N_STATES))]
        self._hist_u: list[FloatArray] = [np.zeros((1, 2))]
        self._cache: tuple[FloatArray, FloatArray, FloatArray] | None = None
        # Withdrawal spells found on the check grid: [start_h, end_h) (end inf while open).
        self._spell_starts: list[float] = []
        self._spell_ends: list[float] = []
        self._last_check: tuple[float, float, bool] | None = None  # (t_h, gap, under)
        # Life-threatening withdrawal held until treated (issue 16.3): [start_h, end_h)
        # (end inf while untreated) and the effect-site level that counts as restored.
        self._hold_starts: list[float] = []
        self._hold_ends: list[float] = []
        self._hold_level: float | None = None

    @classmethod
    def on_steady_therapy(cls, parameters: PatientParameters, start: datetime,
                          daily_dose_mcg: Fraction | int, days_on_therapy: int | Fraction,
                          *, check_every_s: int = 300) -> Patient:
        """A patient already on `daily_dose_mcg` continuous therapy long enough to be at
        steady state, who started therapy `days_on_therapy` days before `start`."""
        for field, value in (("daily_dose_mcg", daily_dose_mcg),
                             ("days_on_therapy", days_on_therapy)):
            if isinstance(value, bool) or not isinstance(value, int | Fraction) or value < 0:
                raise InvalidInput(field, value, "an exact number (int or Fraction), 0 or more")
        try:  # a therapy start before year 1 is not a date (OverflowError otherwise)
            therapy_started_at = _utc("start", start) - timedelta(days=float(days_on_therapy))
        except OverflowError:
            raise InvalidInput("days_on_therapy", days_on_therapy,
                               f"at most the days from year 1 to {start.date()}") from None
        patient = cls(parameters, start, therapy_started_at=therapy_started_at,
                      check_every_s=check_every_s)
        u = np.zeros(2)
        u[CSF_INPUT] = float(daily_dose_mcg) / 24.0
        patient._x = patient._system.steady_state(u)
        patient._hist_x = [patient._x[None, :].copy()]
        return patient

    # -- time helpers -----------------------------------------------------------------

    def _hours(self, field: str, at: datetime) -> float:
        return (_utc(field, at) - self.start).total_seconds() / _H

    @property
    def now(self) -> datetime:
        return self.start + timedelta(hours=self._now_h)

    @property
    def therapy_started_at(self) -> datetime | None:
        if self._therapy_start_h is None:
            return None
        return self.start + timedelta(hours=self._therapy_start_h)

    # -- advancing --------------------------------------------------------------------

    def advance(self, until: datetime, deliveries: Iterable[DrugDelivery] = (), *,
                sample_every_s: int | None = 300) -> PatientTrace:
        """Move to `until` under `deliveries`; return samples on the grid in [now, until).

        Every delivery must lie within [now, until]. Nothing changes if any input is bad.
        """
        until_h = self._hours("until", until)
        if until_h < self._now_h:
            raise InvalidInput("until", until.isoformat(),
                               f"at or after the patient's current time {self.now.isoformat()}")
        if sample_every_s is not None and (isinstance(sample_every_s, bool) or not isinstance(
                sample_every_s, int) or sample_every_s <= 0):
            raise InvalidInput("sample_every_s", sample_every_s, "a whole number of seconds > 0")
        items = list(deliveries)
        starts = np.empty(len(items))
        ends = np.empty(len(items))
        amounts = np.empty(len(items))
        routes = np.empty(len(items), dtype=np.int64)
        for i, d in enumerate(items):
            if not isinstance(d, DrugDelivery):
                raise InvalidInput("deliveries", type(d).__name__, "DrugDelivery items")
            starts[i] = (d.start - self.start).total_seconds() / _H
            ends[i] = (d.end - self.start).total_seconds() / _H
            amounts[i] = float(d.drug_mcg)
            routes[i] = CSF_INPUT if d.route is Route.CSF else POCKET_INPUT
        if len(items) and (starts.min() < self._now_h or ends.max() > until_h):
            raise InvalidInput("deliveries", "a delivery outside the window",
                               f"deliveries within {self.now.isoformat()} to {until.isoformat()}")
        if until_h == self._now_h and np.any(ends > starts):
            raise InvalidInput("until", until.isoformat(), "later than now for a timed delivery")

        continuous = ends > starts
        if self._therapy_start_h is None:
            begun = continuous & (routes == CSF_INPUT) & (amounts > 0)
            if np.any(begun):
                self._therapy_start_h = float(starts[begun].min())

        if until_h == self._now_h:  # no time passes: only instantaneous deliveries at now
            return self._deposit_now(amounts, routes)
        bp = np.unique(np.concatenate(([self._now_h, until_h], starts, ends)))
        rates, jumps = self._inputs_on(bp, starts, ends, amounts, routes, continuous)

        check_s = self.check_every_s
        check_t = self._grid(check_s, until_h)
        if sample_every_s is None:
            out_t = np.empty(0)
        elif sample_every_s == check_s:
            out_t = check_t
        else:
            out_t = self._grid(sample_every_s, until_h)
        same_grid = out_t is check_t
        all_t = check_t if same_grid else np.union1d(check_t, out_t)
        trajectory = self._system.propagate(self._x, bp, rates, jumps, all_t)
        conc = self._kinetics.concentrations(trajectory.sample_states)
        conc_end = self._kinetics.concentrations(trajectory.breakpoint_states[-1])

        # Withdrawal spells from the fixed check grid (plus the end state).
        in_check = slice(None) if same_grid else np.isin(all_t, check_t, assume_unique=True)
        self._find_spells(np.append(all_t[in_check], until_h),
                          np.append(conc["effect_site_mcg_per_ml"][in_check],
                                    conc_end["effect_site_mcg_per_ml"]),
                          np.append(conc["adapted_mcg_per_ml"][in_check],
                                    conc_end["adapted_mcg_per_ml"]))

        # Commit the new state and history.
        self._x = trajectory.breakpoint_states[-1].copy()
        self._now_h = until_h
        self._hist_t.append(trajectory.breakpoints_h)
        self._hist_x.append(trajectory.breakpoint_states)
        self._hist_u.append(np.vstack([rates, np.zeros((1, 2))]))
        self._cache = None

        if same_grid:
            return self._trace(all_t, conc)
        in_out = np.isin(all_t, out_t, assume_unique=True)
        return self._trace(all_t[in_out], {k: v[in_out] for k, v in conc.items()})

    def _deposit_now(self, amounts: FloatArray, routes: np.ndarray) -> PatientTrace:
        state_index = np.where(routes == CSF_INPUT, LUMBAR, POCKET)
        jump = np.zeros(N_STATES)
        np.add.at(jump, state_index, amounts)
        self._x = self._x + jump
        self._hist_t.append(np.array([self._now_h]))
        self._hist_x.append(self._x[None, :].copy())
        self._hist_u.append(np.zeros((1, 2)))
        self._cache = None
        empty = np.empty(0)
        conc = self._kinetics.concentrations(np.empty((0, N_STATES)))
        return self._trace(empty, conc)

    def _grid(self, step_s: int, until_h: float) -> FloatArray:
        first = math.ceil(self._now_h * _H / step_s - 1e-9)
        last = math.ceil(until_h * _H / step_s - 1e-9)  # exclusive
        return np.arange(first, last, dtype=np.float64) * (step_s / _H)

    @staticmethod
    def _inputs_on(bp: FloatArray, starts: FloatArray, ends: FloatArray, amounts: FloatArray,
                   routes: np.ndarray, continuous: np.ndarray) -> tuple[FloatArray, FloatArray]:
        k = len(bp) - 1
        diff = np.zeros((k + 1, 2))
        active = np.zeros((k + 1, 2), dtype=np.int64)
        jumps = np.zeros((k + 1, N_STATES))
        i0 = np.searchsorted(bp, starts)
        i1 = np.searchsorted(bp, ends)
        c = continuous
        rate = np.zeros(len(amounts))
        rate[c] = amounts[c] / (ends[c] - starts[c])
        np.add.at(diff, (i0[c], routes[c]), rate[c])
        np.add.at(diff, (i1[c], routes[c]), -rate[c])
        np.add.at(active, (i0[c], routes[c]), 1)
        np.add.at(active, (i1[c], routes[c]), -1)
        rates = np.cumsum(diff, axis=0)[:-1]
        # Where nothing is running the rate is exactly 0 (no float residue from the sums).
        rates[np.cumsum(active, axis=0)[:-1] == 0] = 0.0
        inst = ~c
        state_index = np.where(routes == CSF_INPUT, LUMBAR, POCKET)
        np.add.at(jumps, (i0[inst], state_index[inst]), amounts[inst])
        return rates, jumps

    def _find_spells(self, t: FloatArray, ce: FloatArray, adapted: FloatArray) -> None:
        model = self.parameters.withdrawal
        ec50_0 = self.parameters.response.ec50_initial_mcg_per_ml
        under = model.under_need(ce, adapted, ec50_0)
        gap = model.need_gap(ce, adapted)
        prev = self._last_check
        if prev is not None and prev[0] == t[0]:
            prev = None  # same instant seen at the end of the last call
        pt = np.concatenate(([prev[0]], t)) if prev else t
        pg = np.concatenate(([prev[1]], gap)) if prev else gap
        pu = np.concatenate(([prev[2]], under)) if prev else under
        if not prev and pu[0] and not self._spell_open():
            self._open_spell(float(pt[0]))
        changes = np.flatnonzero(pu[1:] != pu[:-1]) + 1
        for i in changes:
            t0, t1, g0, g1 = pt[i - 1], pt[i], pg[i - 1], pg[i]
            crossing = t1
            if (g0 >= 0) != (g1 >= 0) and g1 != g0:
                crossing = t0 + (t1 - t0) * (g0 / (g0 - g1))  # linear between grid points
            if pu[i]:
                self._open_spell(float(crossing))
            elif self._spell_open():
                self._spell_ends[-1] = float(crossing)
        self._last_check = (float(pt[-1]), float(pg[-1]), bool(pu[-1]))
        self._find_holds(t, ce, adapted)

    def _find_holds(self, t: FloatArray, ce: FloatArray, adapted: FloatArray) -> None:
        """Life-threatening withdrawal does not resolve at home (issue 16.3): once stage 4
        is reached it is held until the drug is restored, i.e. until the effect site is
        back above the needed level of the moment stage 4 began (not the fading one)."""
        model = self.parameters.withdrawal
        if model.max_stage < 4:
            return
        stage = model.stage(self._hours_under(t), ce, adapted,
                            self.parameters.response.ec50_initial_mcg_per_ml)
        i = 0
        while i < len(t):
            if self._hold_level is not None:
                restored = np.flatnonzero(ce[i:] >= self._hold_level)
                if not len(restored):
                    return
                j = i + int(restored[0])
                self._hold_ends[-1] = float(t[j])
                self._hold_level = None
            else:
                reached = np.flatnonzero(stage[i:] >= 4)
                if not len(reached):
                    return
                j = i + int(reached[0])
                if self._hold_starts and self._hold_starts[-1] == float(t[j]):
                    return  # the same instant, seen at the end of the last call
                self._hold_starts.append(float(t[j]))
                self._hold_ends.append(math.inf)
                self._hold_level = model.need_share * float(adapted[j])
            i = j + 1

    def _held(self, t_h: FloatArray) -> np.ndarray:
        if not self._hold_starts:
            return np.zeros(len(t_h), dtype=bool)
        starts = np.asarray(self._hold_starts)
        ends = np.asarray(self._hold_ends)
        k = np.searchsorted(starts, t_h, side="right") - 1
        kk = np.maximum(k, 0)
        return (k >= 0) & (t_h < ends[kk])

    @property
    def untreated_life_threatening_withdrawal_since(self) -> datetime | None:
        """When life-threatening withdrawal began, if it is still untreated now: beyond
        what this model can tell (in reality intensive care is needed)."""
        if self._hold_level is None or not self._hold_starts:
            return None
        return self.start + timedelta(hours=self._hold_starts[-1])

    def _spell_open(self) -> bool:
        return bool(self._spell_ends) and math.isinf(self._spell_ends[-1])

    def _open_spell(self, at_h: float) -> None:
        if not self._spell_open():
            self._spell_starts.append(at_h)
            self._spell_ends.append(math.inf)

    def _hours_under(self, t_h: FloatArray) -> FloatArray:
        out = np.full(len(t_h), np.nan)
        if not self._spell_starts:
            return out
        starts = np.asarray(self._spell_starts)
        ends = np.asarray(self._spell_ends)
        k = np.searchsorted(starts, t_h, side="right") - 1
        valid = k >= 0
        kk = np.where(valid, k, 0)
        inside = valid & (t_h < ends[kk])
        out[inside] = t_h[inside] - starts[kk[inside]]
        return out

    def _trace(self, t_h: FloatArray, conc: dict[str, FloatArray]) -> PatientTrace:
        p = self.parameters
        days = self._days_on_therapy(t_h)
        ce = conc["effect_site_mcg_per_ml"]
        adapted = conc["adapted_mcg_per_ml"]
        # Tolerance fades without drug (issue 16.4): held in proportion to the adaptation.
        held = p.response.tolerance_held_share(adapted, days)
        relaxation = p.response.relaxation(ce, days, held)
        stage_w = p.withdrawal.stage(self._hours_under(t_h), ce, adapted,
                                     p.response.ec50_initial_mcg_per_ml)
        stage_w = np.where(self._held(t_h), np.int8(4), stage_w).astype(np.int8)
        index = p.overdose.index(ce, p.response.ec50_mcg_per_ml(days, held))
        stage_o = p.overdose.stage(index, conc["plasma_mcg_per_ml"])
        ashworth = p.response.ashworth(relaxation, stage_w)
        side = p.overdose.side_effects(index, self._tone_drop(ashworth, adapted, days, held))
        return PatientTrace(
            start=self.start, t_s=t_h * _H,
            lumbar_mcg_per_ml=conc["lumbar_mcg_per_ml"],
            cisternal_mcg_per_ml=conc["cisternal_mcg_per_ml"],
            effect_site_mcg_per_ml=ce, adapted_mcg_per_ml=conc["adapted_mcg_per_ml"],
            plasma_mcg_per_ml=conc["plasma_mcg_per_ml"], pocket_mcg=conc["pocket_mcg"],
            relaxation=relaxation,
            ashworth=ashworth,
            spasms_per_hour=p.response.spasms_per_hour(relaxation, stage_w),
            withdrawal_stage=stage_w, overdose_stage=stage_o, overdose_index=index,
            side_effects=side,
        )

    def _tone_drop(self, ashworth: FloatArray, adapted: FloatArray, days: FloatArray,
                   held: FloatArray) -> FloatArray:
        """How far the tone is below the tone the patient is used to, as a share of it: the
        Ashworth score at the level they are adapted to, minus the score now, over the
        former (issue 9.9: "loose muscles" is what the patient feels). NaN while they have
        no treated tone of their own yet (not adapted: a screening bolus is meant to
        relax)."""
        p = self.parameters
        usual = p.response.ashworth(p.response.relaxation(adapted, days, held),
                                    np.zeros(len(ashworth), dtype=np.int8))
        adapted_enough = np.asarray(adapted) >= (p.withdrawal.min_dependence_share
                                                 * p.response.ec50_initial_mcg_per_ml)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (usual - np.asarray(ashworth)) / usual
        return np.where(adapted_enough & (usual > 0), share, np.nan)

    def _days_on_therapy(self, t_h: FloatArray) -> FloatArray:
        if self._therapy_start_h is None:
            return np.zeros(len(t_h))
        return (t_h - self._therapy_start_h) / 24.0

    # -- reading ----------------------------------------------------------------------

    def state(self) -> PatientState:
        """The patient now."""
        return self.state_at(self.now)

    def state_at(self, at: datetime) -> PatientState:
        """The patient at any moment from the start up to now (right after any bolus there)."""
        t_h = self._hours("at", at)
        if not 0 <= t_h <= self._now_h:
            raise InvalidInput("at", at.isoformat(),
                               f"{self.start.isoformat()} to {self.now.isoformat()}")
        if self._cache is None:
            self._cache = (np.concatenate(self._hist_t), np.vstack(self._hist_x),
                           np.vstack(self._hist_u))
        times, states, inputs = self._cache
        k = int(np.searchsorted(times, t_h, side="right")) - 1
        if times[k] == t_h:
            x = states[k]
        else:
            piece = self._system.propagate(states[k], np.array([times[k], t_h]),
                                           inputs[k:k + 1], np.zeros((2, N_STATES)),
                                           np.empty(0))
            x = piece.breakpoint_states[-1]
        conc = {key: v[:1] for key, v in self._kinetics.concentrations(x).items()}
        trace = self._trace(np.array([t_h]), conc)
        days = self._days_on_therapy(np.array([t_h]))[0]
        hours_under = self._hours_under(np.array([t_h]))[0]
        return PatientState(
            at=at.astimezone(UTC),
            lumbar_mcg_per_ml=float(trace.lumbar_mcg_per_ml[0]),
            cisternal_mcg_per_ml=float(trace.cisternal_mcg_per_ml[0]),
            effect_site_mcg_per_ml=float(trace.effect_site_mcg_per_ml[0]),
            adapted_mcg_per_ml=float(trace.adapted_mcg_per_ml[0]),
            plasma_mcg_per_ml=float(trace.plasma_mcg_per_ml[0]),
            pocket_mcg=float(trace.pocket_mcg[0]),
            days_on_therapy=None if self._therapy_start_h is None else float(days),
            relaxation=float(trace.relaxation[0]),
            ashworth=float(trace.ashworth[0]),
            spasms_per_hour=float(trace.spasms_per_hour[0]),
            withdrawal_stage=int(trace.withdrawal_stage[0]),
            hours_under_need=None if math.isnan(hours_under) else float(hours_under),
            overdose_stage=int(trace.overdose_stage[0]),
            overdose_index=float(trace.overdose_index[0]),
            symptoms=trace.symptoms_at(0),
        )
