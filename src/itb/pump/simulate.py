"""One simulated pump run, as `itb pump simulate` asks for it (pure: no printing).

`simulate_pump` reads the command line's text options exactly, builds the pump, schedules
the injected faults and refills, runs them in order and returns a `SimulationResult`.
Options are checked in the order they are listed in `--help`; any refusal is an `ItbError`
raised before the run starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

from itb.errors import InvalidInput
from itb.pump.catalogue import PumpModel, get_model
from itb.pump.errors import ActRefused
from itb.pump.faults import Faults
from itb.pump.flexfile import FlexFile, load_flex, offset_text
from itb.pump.programs import (
    ContinuousTherapy,
    HardLimits,
    Program,
    Therapy,
    compile_therapy,
    max_deliverable_daily_dose_mcg,
)
from itb.pump.pump import Pump, to_datetime
from itb.therapy.units import NL_PER_ML, display, in_range, ml_to_nl, to_decimal_str, to_exact_str

MAX_SIMULATED_DAYS = 3653  # ten years: beyond any pump's service life
# random.Random(seed) uses abs(seed), so negative seeds would repeat positive ones.
MAX_SEED = 2**64 - 1


@dataclass
class SimulationResult:
    model: str
    start: datetime
    end: datetime
    delivered_mcg: Fraction
    commanded_mcg: Fraction
    leaked_mcg: Fraction
    pocket_mcg: Fraction
    reservoir_nl: int
    reservoir_estimate_nl: int
    battery_state: str
    events: int
    log_overflowed: int
    alarms: list[dict[str, Any]] = field(default_factory=list)
    refills: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    programmed_daily_dose_mcg: Fraction = Fraction(0)
    flex_time_zone: str | None = None
    flex_utc_offset: str | None = None
    flex_clock_note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model, "start": self.start.isoformat(), "end": self.end.isoformat(),
            "delivered_mcg": to_decimal_str(self.delivered_mcg),
            "commanded_mcg": to_decimal_str(self.commanded_mcg),
            "leaked_mcg": to_decimal_str(self.leaked_mcg),
            "pocket_mcg": to_decimal_str(self.pocket_mcg),
            "reservoir_ml": to_decimal_str(Fraction(self.reservoir_nl, NL_PER_ML)),
            "reservoir_estimate_ml": to_decimal_str(
                Fraction(self.reservoir_estimate_nl, NL_PER_ML)),
            "battery_state": self.battery_state, "events": self.events,
            "log_overflowed": self.log_overflowed, "alarms": self.alarms,
            "refills": self.refills, "notes": self.notes,
            "programmed_daily_dose_mcg": to_exact_str(self.programmed_daily_dose_mcg),
            "flex_time_zone": self.flex_time_zone, "flex_utc_offset": self.flex_utc_offset,
        }


def _parse_day_pairs(option: str, values: list[str],
                     span: Fraction) -> list[tuple[Fraction, Fraction]]:
    """DAYS:HOURS pairs; the start must fall within the run (0 to `span` days), while
    the duration may outlast it (a stall still present at the end is reported so)."""
    out = []
    for text in values:
        parts = text.split(":")
        if len(parts) != 2:
            raise InvalidInput(option, text, "DAYS:HOURS, e.g. 10:2")
        day = in_range(option + " days", parts[0], 0, span, "days")
        hours = in_range(option + " hours", parts[1], 0, MAX_SIMULATED_DAYS * 24, "h",
                         low_inclusive=False)
        out.append((day, hours))
    return out


def _whole(option: str, text: str, low: int, high: int, unit: str) -> int:
    """A whole number typed on the command line, read exactly (no float, no "1_000")."""
    number = in_range(option, text, low, high, unit)
    if number.denominator != 1:
        raise InvalidInput(option, text, f"a whole number from {low} to {high}")
    return int(number)


@dataclass
class AlarmCollector:
    """The alarms raised in a run, read from the pump's log after every act.

    The log is a bounded ring (docs/pump.md); reading it only at the end would drop the
    oldest alarms of a long, busy run without a word. Entries overwritten before they
    were read are counted, so a loss is reported, never silent.
    """

    alarms: list[dict[str, Any]] = field(default_factory=list)
    next_index: int = 0
    missed: int = 0

    def read(self, pump: Pump) -> None:
        entries = pump.log.since(self.next_index, pump.log.capacity)
        if entries and entries[0].index > self.next_index:
            self.missed += entries[0].index - self.next_index
        for entry in entries:
            if entry.kind == "alarm_raised":
                details = dict(entry.details)
                self.alarms.append({"time": to_datetime(entry.time_s).isoformat(),
                                    "kind": details["kind"],
                                    "critical": details["critical"] == "True"})
        self.next_index = pump.log.next_index


def _seconds(option: str, days: Fraction) -> int:
    seconds = days * 86_400
    if seconds.denominator != 1:
        raise InvalidInput(option, display(days, 9), "a time in whole seconds")
    return int(seconds)



# A scheduled act: (time_s, order within the same second, name, argument).
Act = tuple[int, int, str, Any]

# The faults the options inject, by act name (through the physical layer, `Pump.faults`).
_FAULT_ACTS: dict[str, Callable[[Faults], None]] = {
    "occlude": lambda faults: faults.occlude_catheter(),
    "disconnect": lambda faults: faults.disconnect_catheter(),
    "corrupt": lambda faults: faults.corrupt_memory(),
    "stall": lambda faults: faults.start_motor_stall("mri"),
    "unstall": lambda faults: faults.clear_motor_stall(),
}


def _fill_nl(pump_model: PumpModel, fill_ml: str | None, prime: bool) -> int:
    fill_nl = pump_model.reservoir_capacity_nl if fill_ml is None else ml_to_nl("fill_ml", fill_ml)
    cap_ml = Fraction(pump_model.reservoir_capacity_nl, NL_PER_ML)
    in_range("fill_ml", Fraction(fill_nl, NL_PER_ML), 0, cap_ml, "mL")
    if prime and fill_nl == 0:
        # The pump refuses to prime from an empty reservoir; say so by the option's name.
        raise InvalidInput("fill_ml", "0 mL", f"more than 0 to {display(cap_ml)} mL with --prime "
                           "(the priming bolus needs drug), or 0 with --no-prime")
    return fill_nl


def _alarm_nl(pump_model: PumpModel, alarm_ml: str | None) -> int | None:
    alarm_nl = None if alarm_ml is None else ml_to_nl("alarm_ml", alarm_ml)
    if alarm_nl is not None:
        in_range("alarm_ml", Fraction(alarm_nl, NL_PER_ML),
                 Fraction(pump_model.low_reservoir_alarm_min_nl, NL_PER_ML),
                 Fraction(pump_model.low_reservoir_alarm_max_nl, NL_PER_ML), "mL")
    return alarm_nl


def _therapy(pump_model: PumpModel, conc: Fraction, daily_dose: str | None, flex: Path | None,
             start: datetime) -> tuple[Therapy, FlexFile | None]:
    if (daily_dose is None) == (flex is None):
        raise InvalidInput("--daily-dose / --flex", "neither given" if flex is None else
                           "both given", "exactly one of --daily-dose or --flex")
    if daily_dose is not None:
        # The model's flow range at this concentration bounds the dose.
        lowest = Fraction(pump_model.min_flow_nl_per_day, NL_PER_ML) * conc
        highest = Fraction(pump_model.max_flow_nl_per_day, NL_PER_ML) * conc
        return ContinuousTherapy(in_range("daily_dose", daily_dose, lowest, highest,
                                          f"mcg/day at {display(conc)} mcg/mL")), None
    assert flex is not None
    flex_file = load_flex(flex, start)
    return flex_file.therapy, flex_file


def _limits(therapy: Therapy, pump_model: PumpModel, conc: Fraction, max_bolus: str,
            max_daily_dose: str | None) -> tuple[HardLimits, Fraction]:
    """The clinician's hard limits, and the programmed daily dose."""
    bolus_limit = in_range("max_bolus", max_bolus, 0, None, "mcg", low_inclusive=False)
    compiled = compile_therapy(therapy, pump_model, conc, bolus_limit)
    programmed_daily_mcg = compiled.daily_total_nl() * conc / NL_PER_ML
    if max_daily_dose is None:
        # Default limit: the programmed 24 h maximum plus a quarter, stated in --help, but
        # never above what the pump can deliver in 24 h (the core refuses such a limit).
        limit = min(compiled.max_window_nl * conc / NL_PER_ML * Fraction(5, 4),
                    max_deliverable_daily_dose_mcg(pump_model, conc))
    else:
        limit = in_range("max_daily_dose", max_daily_dose, 0, None, "mcg", low_inclusive=False)
    return HardLimits(limit, bolus_limit), programmed_daily_mcg


def _refill_every_s(refill_every_days: str | None) -> int | None:
    if refill_every_days is None:
        return None
    every = in_range("refill_every_days", refill_every_days, 1, MAX_SIMULATED_DAYS, "days")
    return _seconds("refill_every_days", every)


def _fault_acts(start_s: int, span: Fraction, occlusion_at: list[str], disconnect_at: list[str],
                memory_corruption_at: list[str], stall: list[str]) -> list[Act]:
    acts: list[Act] = []
    for option, name, values in (("occlusion_at", "occlude", occlusion_at),
                                 ("disconnect_at", "disconnect", disconnect_at),
                                 ("memory_corruption_at", "corrupt", memory_corruption_at)):
        for text in values:
            day = in_range(option, text, 0, span, "days")
            acts.append((start_s + _seconds(option, day), 1, name, None))
    for day, hours in _parse_day_pairs("stall", stall, span):
        begin = start_s + _seconds("stall", day)
        acts.append((begin, 2, "stall", None))
        acts.append((begin + _seconds("stall", hours / 24), 0, "unstall", None))
    return acts


def _refill_acts(start_s: int, span_s: int, refill_every_s: int | None,
                 pocket_fill_refill: list[str]) -> tuple[list[Act], set[int]]:
    """The scheduled refills (numbered from 1), and the numbers of those that are pocket fills."""
    refill_times = []
    if refill_every_s is not None:
        t = start_s + refill_every_s
        while t < start_s + span_s:
            refill_times.append(t)
            t += refill_every_s
    if pocket_fill_refill and not refill_times:
        raise InvalidInput("pocket_fill_refill", pocket_fill_refill[0],
                           "no value: no refills are scheduled")
    pocket_fills = {_whole("pocket_fill_refill", text, 1, len(refill_times), "")
                    for text in pocket_fill_refill}
    return [(t, 3, "refill", k) for k, t in enumerate(refill_times, start=1)], pocket_fills


@dataclass
class _Outcome:
    """What a run gathers as it goes."""

    csf_mcg: Fraction = Fraction(0)
    leak_mcg: Fraction = Fraction(0)
    refills: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    collector: AlarmCollector = field(default_factory=AlarmCollector)

    def advance(self, pump: Pump, when: int) -> None:
        report = pump.advance(to_datetime(when))
        self.collector.read(pump)
        self.csf_mcg += report.csf_mcg
        self.leak_mcg += report.leaked_mcg


def _refill(pump: Pump, when: int, conc: Fraction, pocket: bool) -> dict[str, Any]:
    """Empty and refill to full; the refill as the result lists it."""
    capacity = pump.model.reservoir_capacity_nl
    refill = pump.refill(added_nl=capacity, concentration_mcg_per_ml=conc,
                         pocket_fill_nl=capacity if pocket else 0)
    return {"time": to_datetime(when).isoformat(),
            "expected_residual_ml": to_decimal_str(
                Fraction(refill.expected_residual_nl, NL_PER_ML)),
            "withdrawn_ml": to_decimal_str(Fraction(refill.withdrawn_nl, NL_PER_ML)),
            "discrepancy_ml": to_decimal_str(Fraction(refill.discrepancy_nl, NL_PER_ML)),
            "pocket_fill": pocket}


def _run(pump: Pump, acts: list[Act], pocket_fills: set[int], conc: Fraction,
         end_s: int) -> _Outcome:
    """Advance from act to act (a refused act is noted, the run goes on), then to the end."""
    outcome = _Outcome()
    for when, _order, name, arg in sorted(acts, key=lambda a: (a[0], a[1])):
        if when > end_s:
            continue
        outcome.advance(pump, when)
        try:
            if name == "refill":
                outcome.refills.append(_refill(pump, when, conc, arg in pocket_fills))
            else:
                _FAULT_ACTS[name](pump.faults)
        except ActRefused as refused:
            outcome.notes.append(f"{to_datetime(when).isoformat()}: {refused}")
        outcome.collector.read(pump)
    outcome.advance(pump, end_s)
    if outcome.collector.missed:
        outcome.notes.append(f"{outcome.collector.missed} log entries were overwritten in the "
                             "pump's ring before they were read; alarms among them are not listed")
    return outcome


def simulate_pump(*, model: str, fill_ml: str | None, concentration: str, daily_dose: str | None,
                  flex: Path | None, alarm_ml: str | None, days: str, start: datetime,
                  seed: str, refill_every_days: str | None, max_daily_dose: str | None,
                  max_bolus: str, catheter_ml: str, prime: bool, occlusion_at: list[str],
                  disconnect_at: list[str], stall: list[str], pocket_fill_refill: list[str],
                  memory_corruption_at: list[str]) -> SimulationResult:
    """Build and run one pump (pure: no printing). Raises ItbError on bad input."""
    # An empty value would print as "model =  is not allowed"; show it as "".
    pump_model = get_model(model) if model else get_model('""')
    conc = in_range("concentration", concentration, 0, 100_000, "mcg/mL", low_inclusive=False)
    fill_nl = _fill_nl(pump_model, fill_ml, prime)
    alarm_nl = _alarm_nl(pump_model, alarm_ml)
    span = in_range("days", days, 0, MAX_SIMULATED_DAYS, "days", low_inclusive=False)
    span_s = _seconds("days", span)
    therapy, flex_file = _therapy(pump_model, conc, daily_dose, flex, start)
    limits, programmed_daily_mcg = _limits(therapy, pump_model, conc, max_bolus, max_daily_dose)
    catheter_nl = ml_to_nl("catheter_ml", catheter_ml)
    in_range("catheter_ml", Fraction(catheter_nl, NL_PER_ML), 0, 1, "mL")
    refill_every_s = _refill_every_s(refill_every_days)
    start_s = int(start.timestamp())
    seed_number = _whole("seed", seed, 0, MAX_SEED, "")
    pump = Pump.implant(pump_model, serial=f"SIM-{seed_number}", at=start, fill_nl=fill_nl,
                        concentration_mcg_per_ml=conc, program=Program(therapy, limits),
                        seed=seed_number, catheter_volume_nl=catheter_nl,
                        low_reservoir_alarm_nl=alarm_nl)
    acts = _fault_acts(start_s, span, occlusion_at, disconnect_at, memory_corruption_at, stall)
    refills, pocket_fills = _refill_acts(start_s, span_s, refill_every_s, pocket_fill_refill)
    if prime:
        pump.prime()
    end_s = start_s + span_s
    outcome = _run(pump, acts + refills, pocket_fills, conc, end_s)
    return SimulationResult(
        model=pump_model.name, start=start, end=to_datetime(end_s),
        delivered_mcg=outcome.csf_mcg, commanded_mcg=pump.commanded_mcg,
        leaked_mcg=outcome.leak_mcg, pocket_mcg=pump.physical.pocket_mcg,
        reservoir_nl=pump.physical.reservoir_nl, reservoir_estimate_nl=pump.reservoir_estimate_nl,
        battery_state=pump.status().battery_state, events=pump.log.next_index,
        log_overflowed=pump.log.overflowed, alarms=outcome.collector.alarms,
        refills=outcome.refills, notes=outcome.notes,
        programmed_daily_dose_mcg=programmed_daily_mcg,
        flex_time_zone=None if flex_file is None else flex_file.timezone,
        flex_utc_offset=None if flex_file is None else offset_text(flex_file),
        flex_clock_note=None if flex_file is None else flex_file.clock_note(start))
