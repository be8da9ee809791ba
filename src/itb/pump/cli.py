"""`itb pump ...`: run one simulated pump from the command line.

The shell only parses, calls the pure `itb.pump` core and prints. Everything is
computed before anything is printed, so a refusal leaves no partial output.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from itb.errors import InvalidInput, ItbError
from itb.pump.catalogue import MODELS, get_model
from itb.pump.errors import ActRefused
from itb.pump.programs import (
    ContinuousTherapy,
    FlexStep,
    FlexTherapy,
    HardLimits,
    PeriodicBolus,
    Program,
    Therapy,
    compile_therapy,
)
from itb.pump.pump import DEFAULT_CATHETER_VOLUME_NL, Pump, to_datetime
from itb.therapy.units import NL_PER_ML, display, in_range, ml_to_nl, to_decimal_str

app = typer.Typer(name="pump", help="The implanted pump model: simulate a pump over days.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_SIMULATED_DAYS = 3653  # ten years: beyond any pump's service life


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


# ---------------------------------------------------------------------- flex files
def _clock_s(field_name: str, text: object, weekly: bool, *, allow_end: bool = False) -> int:
    """Seconds after the period start for "HH:MM" (daily) or "mon HH:MM" (weekly)."""
    if not isinstance(text, str):
        raise InvalidInput(field_name, text, '"HH:MM"' + (' with a day, e.g. "mon 06:00"'
                                                          if weekly else ""))
    day = 0
    value = text.strip().lower()
    if weekly:
        parts = value.split()
        if len(parts) != 2 or parts[0] not in _DAYS:
            raise InvalidInput(field_name, text, 'a day and a time, e.g. "mon 06:00"')
        day = _DAYS.index(parts[0])
        value = parts[1]
    try:
        hh, mm = value.split(":")
        hours, minutes = int(hh), int(mm)
    except ValueError:
        raise InvalidInput(field_name, text, "a time HH:MM") from None
    limit = 24 if allow_end else 23
    if not (0 <= hours <= limit and 0 <= minutes <= 59) or (hours == 24 and minutes):
        raise InvalidInput(field_name, text, "00:00 to 23:59" + (" or 24:00" if allow_end else ""))
    return day * 86_400 + hours * 3600 + minutes * 60


def _utc_offset_minutes(text: object) -> int:
    if not isinstance(text, str) or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        raise InvalidInput("time_zone", text, 'a UTC offset such as "+01:00" or "-05:00"')
    try:
        minutes = int(text[1:3]) * 60 + int(text[4:6])
    except ValueError:
        raise InvalidInput("time_zone", text, 'a UTC offset such as "+01:00"') from None
    return minutes if text[0] == "+" else -minutes


def load_flex(path: Path) -> FlexTherapy:
    """A flex schedule from TOML (see docs/pump.md for the format)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput("flex", str(path), "a readable TOML file", str(error)) from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput("flex", str(path), "valid TOML", str(error)) from None
    period = data.get("period", "daily")
    if period not in ("daily", "weekly"):
        raise InvalidInput("period", period, "daily or weekly")
    weekly = period == "weekly"
    period_s = 7 * 86_400 if weekly else 86_400
    if "time_zone" not in data:
        raise InvalidInput("time_zone", None, 'a stated UTC offset such as "+00:00"')
    offset = _utc_offset_minutes(data["time_zone"])
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        raise InvalidInput("step", raw_steps, "one or more [[step]] tables")
    steps = []
    for i, raw in enumerate(raw_steps):
        start = _clock_s(f"step[{i}].start", raw.get("start"), weekly)
        end = _clock_s(f"step[{i}].end", raw.get("end"), weekly, allow_end=True)
        duration = (end - start) % period_s or period_s
        dose = in_range(f"step[{i}].dose_mcg_per_day", _number(raw, "dose_mcg_per_day", i), 0,
                        None, "mcg/day", low_inclusive=False)
        steps.append(FlexStep(start, duration, dose))
    boluses = []
    for i, raw in enumerate(data.get("periodic_bolus", [])):
        start = _clock_s(f"periodic_bolus[{i}].start", raw.get("start"), False)
        dose = in_range(f"periodic_bolus[{i}].dose_mcg",
                        _number(raw, "dose_mcg", i, "periodic_bolus"), 0, None, "mcg",
                        low_inclusive=False)
        minutes = in_range(f"periodic_bolus[{i}].duration_minutes",
                           _number(raw, "duration_minutes", i, "periodic_bolus"), 1, 720, "min")
        if minutes.denominator != 1:
            raise InvalidInput(f"periodic_bolus[{i}].duration_minutes", display(minutes),
                               "whole minutes from 1 to 720")
        boluses.append(PeriodicBolus(start, dose, int(minutes) * 60))
    return FlexTherapy(tuple(steps), period, offset, tuple(boluses))


def _number(raw: dict[str, Any], key: str, i: int, table: str = "step") -> Any:
    value = raw.get(key)
    if isinstance(value, float):
        return str(value)  # TOML floats: read their decimal text, never the binary value
    if value is None:
        raise InvalidInput(f"{table}[{i}].{key}", None, "a number")
    return value


# ---------------------------------------------------------------------- simulation
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
        }


def _parse_day_pairs(option: str, values: list[str]) -> list[tuple[Fraction, Fraction]]:
    out = []
    for text in values:
        parts = text.split(":")
        if len(parts) != 2:
            raise InvalidInput(option, text, "DAYS:HOURS, e.g. 10:2")
        day = in_range(option + " days", parts[0], 0, MAX_SIMULATED_DAYS, "days")
        hours = in_range(option + " hours", parts[1], 0, None, "h", low_inclusive=False)
        out.append((day, hours))
    return out


def _seconds(option: str, days: Fraction) -> int:
    seconds = days * 86_400
    if seconds.denominator != 1:
        raise InvalidInput(option, display(days, 9), "a time in whole seconds")
    return int(seconds)


def simulate_pump(*, model: str, fill_ml: str | None, concentration: str, daily_dose: str | None,
                  flex: Path | None, alarm_ml: str | None, days: str, start: datetime,
                  seed: int, refill_every_days: str | None, max_daily_dose: str | None,
                  max_bolus: str, catheter_ml: str, prime: bool, occlusion_at: list[str],
                  disconnect_at: list[str], stall: list[str], pocket_fill_refill: list[int],
                  memory_corruption_at: list[str]) -> SimulationResult:
    """Build and run one pump (pure: no printing). Raises ItbError on bad input."""
    pump_model = get_model(model)
    conc = in_range("concentration", concentration, 0, 100_000, "mcg/mL", low_inclusive=False)
    fill_nl = pump_model.reservoir_capacity_nl if fill_ml is None else ml_to_nl("fill_ml", fill_ml)
    cap_ml = Fraction(pump_model.reservoir_capacity_nl, NL_PER_ML)
    in_range("fill_ml", Fraction(fill_nl, NL_PER_ML), 0, cap_ml, "mL")
    alarm_nl = None if alarm_ml is None else ml_to_nl("alarm_ml", alarm_ml)
    if alarm_nl is not None:
        in_range("alarm_ml", Fraction(alarm_nl, NL_PER_ML),
                 Fraction(pump_model.low_reservoir_alarm_min_nl, NL_PER_ML),
                 Fraction(pump_model.low_reservoir_alarm_max_nl, NL_PER_ML), "mL")
    span = in_range("days", days, 0, MAX_SIMULATED_DAYS, "days", low_inclusive=False)
    span_s = _seconds("days", span)
    if (daily_dose is None) == (flex is None):
        raise InvalidInput("daily_dose", daily_dose, "exactly one of --daily-dose or --flex")
    therapy: Therapy
    if daily_dose is not None:
        # The model's flow range at this concentration bounds the dose.
        lowest = Fraction(pump_model.min_flow_nl_per_day, NL_PER_ML) * conc
        highest = Fraction(pump_model.max_flow_nl_per_day, NL_PER_ML) * conc
        therapy = ContinuousTherapy(in_range("daily_dose", daily_dose, lowest, highest,
                                             f"mcg/day at {display(conc)} mcg/mL"))
    else:
        assert flex is not None
        therapy = load_flex(flex)
    bolus_limit = in_range("max_bolus", max_bolus, 0, None, "mcg", low_inclusive=False)
    if max_daily_dose is None:
        # Default limit: the programmed 24 h maximum plus a quarter, stated in --help.
        planned = compile_therapy(therapy, pump_model, conc, bolus_limit).max_window_nl
        limit = planned * conc / NL_PER_ML * Fraction(5, 4)
    else:
        limit = in_range("max_daily_dose", max_daily_dose, 0, None, "mcg", low_inclusive=False)
    catheter_nl = ml_to_nl("catheter_ml", catheter_ml)
    in_range("catheter_ml", Fraction(catheter_nl, NL_PER_ML), 0, 1, "mL")
    refill_every_s = None
    if refill_every_days is not None:
        every = in_range("refill_every_days", refill_every_days, 1, MAX_SIMULATED_DAYS, "days")
        refill_every_s = _seconds("refill_every_days", every)
    program = Program(therapy, HardLimits(limit, bolus_limit))
    start_s = int(start.timestamp())
    pump = Pump.implant(pump_model, serial=f"SIM-{seed}", at=start, fill_nl=fill_nl,
                        concentration_mcg_per_ml=conc, program=program, seed=seed,
                        catheter_volume_nl=catheter_nl, low_reservoir_alarm_nl=alarm_nl)
    # Scheduled acts: (time_s, order, name, argument).
    acts: list[tuple[int, int, str, Any]] = []
    for text in occlusion_at:
        day = in_range("occlusion_at", text, 0, MAX_SIMULATED_DAYS, "days")
        acts.append((start_s + _seconds("occlusion_at", day), 1, "occlude", None))
    for text in disconnect_at:
        day = in_range("disconnect_at", text, 0, MAX_SIMULATED_DAYS, "days")
        acts.append((start_s + _seconds("disconnect_at", day), 1, "disconnect", None))
    for text in memory_corruption_at:
        day = in_range("memory_corruption_at", text, 0, MAX_SIMULATED_DAYS, "days")
        acts.append((start_s + _seconds("memory_corruption_at", day), 1, "corrupt", None))
    for day, hours in _parse_day_pairs("stall", stall):
        begin = start_s + _seconds("stall", day)
        acts.append((begin, 2, "stall", None))
        acts.append((begin + _seconds("stall", hours / 24), 0, "unstall", None))
    refill_times = []
    if refill_every_s is not None:
        t = start_s + refill_every_s
        while t < start_s + span_s:
            refill_times.append(t)
            t += refill_every_s
    for number in pocket_fill_refill:
        if not 1 <= number <= len(refill_times):
            raise InvalidInput("pocket_fill_refill", number,
                               f"1 to {len(refill_times)} (the scheduled refills)"
                               if refill_times else "no value: no refills are scheduled")
    for k, t in enumerate(refill_times, start=1):
        acts.append((t, 3, "refill", k))
    acts.sort(key=lambda a: (a[0], a[1]))
    result_notes: list[str] = []
    refills: list[dict[str, Any]] = []
    csf = leak = Fraction(0)
    if prime:
        pump.prime()
    end_s = start_s + span_s
    for when, _order, name, arg in acts:
        if when > end_s:
            continue
        report = pump.advance(to_datetime(when))
        csf += report.csf_mcg
        leak += report.leaked_mcg
        try:
            if name == "occlude":
                pump.occlude_catheter()
            elif name == "disconnect":
                pump.disconnect_catheter()
            elif name == "corrupt":
                pump.corrupt_memory()
            elif name == "stall":
                pump.start_motor_stall("mri")
            elif name == "unstall":
                pump.clear_motor_stall()
            elif name == "refill":
                pocket = pump_model.reservoir_capacity_nl if arg in pocket_fill_refill else 0
                refill = pump.refill(added_nl=pump_model.reservoir_capacity_nl,
                                     concentration_mcg_per_ml=conc, pocket_fill_nl=pocket)
                refills.append({
                    "time": to_datetime(when).isoformat(),
                    "expected_residual_ml": to_decimal_str(
                        Fraction(refill.expected_residual_nl, NL_PER_ML)),
                    "withdrawn_ml": to_decimal_str(Fraction(refill.withdrawn_nl, NL_PER_ML)),
                    "discrepancy_ml": to_decimal_str(Fraction(refill.discrepancy_nl, NL_PER_ML)),
                    "pocket_fill": bool(pocket)})
        except ActRefused as refused:
            result_notes.append(f"{to_datetime(when).isoformat()}: {refused}")
    report = pump.advance(to_datetime(end_s))
    csf += report.csf_mcg
    leak += report.leaked_mcg
    alarms = [{"time": to_datetime(e.time_s).isoformat(), "kind": dict(e.details)["kind"],
               "critical": dict(e.details)["critical"] == "True"}
              for e in pump.log.entries() if e.kind == "alarm_raised"]
    return SimulationResult(
        model=pump_model.name, start=start, end=to_datetime(end_s), delivered_mcg=csf,
        commanded_mcg=pump.commanded_mcg, leaked_mcg=leak, pocket_mcg=pump.physical.pocket_mcg,
        reservoir_nl=pump.physical.reservoir_nl, reservoir_estimate_nl=pump.reservoir_estimate_nl,
        battery_state=pump.status().battery_state, events=pump.log.next_index,
        log_overflowed=pump.log.overflowed, alarms=alarms, refills=refills, notes=result_notes)


def _render(result: SimulationResult) -> None:
    console = Console()
    table = Table(title=f"{result.model}: {result.start:%Y-%m-%d %H:%M} to "
                  f"{result.end:%Y-%m-%d %H:%M} UTC", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("Drug into the spinal fluid (true)", f"{display(result.delivered_mcg)} mcg")
    table.add_row("Drug the firmware counted", f"{display(result.commanded_mcg)} mcg")
    table.add_row("Drug lost to a leak", f"{display(result.leaked_mcg)} mcg")
    table.add_row("Drug injected into the pocket", f"{display(result.pocket_mcg)} mcg")
    table.add_row("Reservoir (true)",
                  f"{display(Fraction(result.reservoir_nl, NL_PER_ML))} mL")
    table.add_row("Reservoir (firmware estimate)",
                  f"{display(Fraction(result.reservoir_estimate_nl, NL_PER_ML))} mL")
    table.add_row("Battery", result.battery_state)
    table.add_row("Log events", str(result.events))
    console.print(table)
    if result.alarms:
        alarms = Table(title="Alarms raised")
        alarms.add_column("time")
        alarms.add_column("alarm")
        alarms.add_column("critical")
        for alarm in result.alarms:
            alarms.add_row(alarm["time"], alarm["kind"], "yes" if alarm["critical"] else "no")
        console.print(alarms)
    else:
        console.print("No alarms.")
    for refill in result.refills:
        console.print(f"Refill {refill['time']}: expected residual {refill['expected_residual_ml']}"
                      f" mL, found {refill['withdrawn_ml']} mL"
                      + (" (POCKET FILL)" if refill["pocket_fill"] else ""))
    for note in result.notes:
        console.print(f"Note: {note}")
    console.print("Figures are rounded half-to-even for display; --json gives exact values. "
                  "A simulation, not a medical device.")


@app.command()
def simulate(
    model: str = typer.Option("synchromed-ii-20", help="Pump model: " + ", ".join(sorted(MODELS))),
    fill_ml: str | None = typer.Option(None, help="Initial fill in mL (default: full)."),
    concentration: str = typer.Option("500", help="Drug concentration, mcg/mL."),
    daily_dose: str | None = typer.Option(None, help="Simple continuous dose, mcg/day."),
    flex: Path | None = typer.Option(None, help="Flex schedule TOML file (see docs/pump.md)."),
    alarm_ml: str | None = typer.Option(None, help="Low-reservoir alarm volume, mL "
                                        "(default: the model's, 2 mL)."),
    days: str = typer.Option("30", help="Days to simulate."),
    start: str | None = typer.Option(None, help="Implant time, ISO-8601 with zone (default now)."),
    seed: int = typer.Option(0, help="Seed for this pump's stroke calibration and drift."),
    refill_every_days: str | None = typer.Option(
        None, help="Empty and refill to full at the same concentration every N days."),
    max_daily_dose: str | None = typer.Option(
        None, help="Clinician's maximum daily dose, mcg (default: programmed 24 h dose + 25%)."),
    max_bolus: str = typer.Option("100", help="Clinician's maximum bolus, mcg."),
    catheter_ml: str = typer.Option(
        to_decimal_str(Fraction(DEFAULT_CATHETER_VOLUME_NL, NL_PER_ML)),
        help="Catheter volume, mL (tubing to tip)."),
    prime: bool = typer.Option(True, help="Give the priming bolus at implant."),
    occlusion_at: list[str] = typer.Option([], help="Fully occlude the catheter at DAYS."),
    disconnect_at: list[str] = typer.Option([], help="Disconnect the catheter at DAYS."),
    stall: list[str] = typer.Option([], help="Motor stall DAYS:HOURS (e.g. MRI at day 10, 2 h)."),
    pocket_fill_refill: list[int] = typer.Option(
        [], help="Make the Nth scheduled refill a pocket fill (1 = first)."),
    memory_corruption_at: list[str] = typer.Option(
        [], help="Flip a bit in the active program slot at DAYS."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Simulate one implanted pump: true delivery vs the firmware's count, alarms, refills."""
    try:
        if start is None:
            begin = datetime.now(tz=UTC).replace(microsecond=0)
        else:
            try:
                begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
            except ValueError:
                raise InvalidInput("start", start, "an ISO-8601 time such as "
                                   "2026-01-05T08:00:00Z") from None
            if begin.tzinfo is None:
                raise InvalidInput("start", start, "an ISO-8601 time with a zone (Z or +01:00)")
            begin = begin.astimezone(UTC)
            if begin.microsecond:
                raise InvalidInput("start", start, "a time in whole seconds")
        result = simulate_pump(
            model=model, fill_ml=fill_ml, concentration=concentration, daily_dose=daily_dose,
            flex=flex, alarm_ml=alarm_ml, days=days, start=begin, seed=seed,
            refill_every_days=refill_every_days, max_daily_dose=max_daily_dose,
            max_bolus=max_bolus, catheter_ml=catheter_ml, prime=prime,
            occlusion_at=occlusion_at, disconnect_at=disconnect_at, stall=stall,
            pocket_fill_refill=pocket_fill_refill, memory_corruption_at=memory_corruption_at)
    except ItbError as error:
        raise _fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        _render(result)
