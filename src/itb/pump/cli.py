"""`itb pump ...`: run one simulated pump from the command line.

The shell only parses, calls the pure `itb.pump` core and prints. Everything is
computed before anything is printed, so a refusal leaves no partial output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from itb.cli_errors import refuse_value
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
    max_deliverable_daily_dose_mcg,
)
from itb.pump.pump import DEFAULT_CATHETER_VOLUME_NL, Pump, to_datetime
from itb.pump.serve_cli import register_pump_commands
from itb.therapy.errors import FlexScheduleError
from itb.therapy.flex import (
    flex_file_steps,
    make_schedule,
    overlap_reason,
    parse_dose_rate,
    parse_start,
    read_flex_toml,
    zone_of,
)
from itb.therapy.units import NL_PER_ML, display, in_range, ml_to_nl, to_decimal_str, to_exact_str

app = typer.Typer(name="pump", help="The implanted pump model: simulate a pump over days.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_SIMULATED_DAYS = 3653  # ten years: beyond any pump's service life
# random.Random(seed) uses abs(seed), so negative seeds would repeat positive ones.
MAX_SEED = 2**64 - 1
# The pump clock counts whole seconds from 1970 (itb.pump.pump.to_datetime); the
# latest start leaves room for the longest run inside Python's datetime range.
EARLIEST_START = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9989, 1, 1, tzinfo=UTC)
# A week of one-minute steps is ~10,080 lines of well under 100 bytes; 1 MiB is ample.
MAX_FLEX_FILE_BYTES = 1 << 20


def _fail(message: str) -> typer.Exit:
    return refuse_value(message)


# ---------------------------------------------------------------------- flex files
# The file format is itb's one flex format (itb.therapy.flex, docs/therapy.md "Flex
# file"); the pump also runs its two extensions, period = "weekly" and periodic boluses.
@dataclass(frozen=True)
class FlexFile:
    """A flex file as the pump runs it, and the fixed clock offset it was given."""

    therapy: FlexTherapy
    timezone: str
    utc_offset_minutes: int

    def clock_note(self, start: datetime) -> str:
        return (f"flex steps in {self.timezone} local time run at UTC{_offset_text(self)}, "
                f"the zone's offset at the start {start:%Y-%m-%d %H:%M} UTC; the pump clock "
                "does not follow daylight saving (re-program at a change)")


def _offset_text(flex: FlexFile) -> str:
    sign = "-" if flex.utc_offset_minutes < 0 else "+"
    return f"{sign}{abs(flex.utc_offset_minutes) // 60:02d}:{abs(flex.utc_offset_minutes) % 60:02d}"


def _week_start_s(source: str, key: str, text: object) -> int:
    """Seconds after Monday 00:00 local for a weekly step start such as "mon 06:00"."""
    parts = text.strip().lower().split() if isinstance(text, str) else []
    if len(parts) != 2 or parts[0] not in _DAYS:
        raise FlexScheduleError(source, key, text, 'a day and a time, e.g. "mon 06:00" '
                                '(period = "weekly")')
    moment = parse_start(parts[1], source, key)
    return _DAYS.index(parts[0]) * 86_400 + moment.hour * 3600 + moment.minute * 60


def _flex_steps(data: dict[str, Any], source: str) -> tuple[FlexStep, ...]:
    """Pump steps: each from its start until the next step's start, wrapping at the period."""
    pairs = flex_file_steps(data, source, pump_extensions=True)
    if data.get("period", "daily") == "daily":
        schedule = make_schedule(pairs, data["timezone"], source)
        return tuple(FlexStep((step.start.hour * 60 + step.start.minute) * 60,
                              schedule.step_minutes(i) * 60, step.dose_mcg_per_day)
                     for i, step in enumerate(schedule.steps))
    starts = [_week_start_s(source, f"steps[{i}].start", start)
              for i, (start, _dose) in enumerate(pairs)]
    doses = [parse_dose_rate(dose, source, f"steps[{i}].dose_mcg_per_day")
             for i, (_start, dose) in enumerate(pairs)]
    for i in range(1, len(starts)):
        if starts[i] <= starts[i - 1]:
            raise FlexScheduleError(source, f"steps[{i}].start", pairs[i][0],
                                    f"later than {pairs[i - 1][0]}", overlap_reason(i))
    week_s = 7 * 86_400
    ends = [*starts[1:], starts[0] + week_s]
    return tuple(FlexStep(s, e - s, d) for s, e, d in zip(starts, ends, doses, strict=True))


def _periodic_boluses(data: dict[str, Any], source: str) -> tuple[PeriodicBolus, ...]:
    raw_boluses = data.get("periodic_bolus", [])
    if not isinstance(raw_boluses, list):
        raise FlexScheduleError(source, "periodic_bolus", raw_boluses,
                                "[[periodic_bolus]] tables")
    boluses = []
    for i, raw in enumerate(raw_boluses):
        key = f"periodic_bolus[{i}]"
        if not isinstance(raw, dict):
            raise FlexScheduleError(source, key, raw, "a [[periodic_bolus]] table")
        extra = sorted(set(raw) - {"start", "dose_mcg", "duration_minutes"})
        if extra:
            raise FlexScheduleError(source, f"{key}.{extra[0]}", raw[extra[0]],
                                    "only the keys start, dose_mcg and duration_minutes")
        for needed in ("start", "dose_mcg", "duration_minutes"):
            if needed not in raw:
                raise FlexScheduleError(source, f"{key}.{needed}", "missing", "a value")
        moment = parse_start(raw["start"], source, f"{key}.start")
        # in_range reads integers or decimal strings exactly and refuses TOML floats.
        dose = in_range(f"{source}: {key}.dose_mcg", raw["dose_mcg"], 0, None, "mcg",
                        low_inclusive=False)
        minutes = in_range(f"{source}: {key}.duration_minutes", raw["duration_minutes"], 1, 720,
                           "min")
        if minutes.denominator != 1:
            raise FlexScheduleError(source, f"{key}.duration_minutes", display(minutes),
                                    "whole minutes from 1 to 720")
        boluses.append(PeriodicBolus(moment.hour * 3600 + moment.minute * 60, dose,
                                     int(minutes) * 60))
    return tuple(boluses)


def load_flex(path: Path, start: datetime) -> FlexFile:
    """The pump program of a flex file (docs/therapy.md "Flex file").

    The pump clock keeps a fixed UTC offset (docs/pump.md), so the file's IANA zone is
    taken at its offset at `start`, the simulation start.
    """
    source = str(path)
    try:
        # Read one byte past the bound, so /dev/zero or a huge file is refused, not read.
        with path.open("rb") as handle:
            raw = handle.read(MAX_FLEX_FILE_BYTES + 1)
    except OSError as error:
        raise FlexScheduleError(source, "(file)", "unreadable", "a readable TOML file",
                                error.strerror) from None
    if len(raw) > MAX_FLEX_FILE_BYTES:
        raise FlexScheduleError(source, "(file)", f"more than {MAX_FLEX_FILE_BYTES} bytes",
                                f"a TOML file of at most {MAX_FLEX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FlexScheduleError(source, "(file)", f"byte {error.start} is not UTF-8",
                                "a UTF-8 TOML text file") from None
    data = read_flex_toml(text, source)
    steps = _flex_steps(data, source)
    zone = zone_of(data["timezone"], source)
    offset = start.astimezone(zone).utcoffset() or timedelta(0)
    if offset % timedelta(minutes=1):
        raise FlexScheduleError(source, "timezone", data["timezone"],
                                "a zone whose offset is whole minutes at the start")
    minutes = int(offset // timedelta(minutes=1))
    therapy = FlexTherapy(steps, data.get("period", "daily"), minutes,
                          _periodic_boluses(data, source))
    return FlexFile(therapy, data["timezone"], minutes)


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
    fill_nl = pump_model.reservoir_capacity_nl if fill_ml is None else ml_to_nl("fill_ml", fill_ml)
    cap_ml = Fraction(pump_model.reservoir_capacity_nl, NL_PER_ML)
    in_range("fill_ml", Fraction(fill_nl, NL_PER_ML), 0, cap_ml, "mL")
    if prime and fill_nl == 0:
        # The pump refuses to prime from an empty reservoir; say so by the option's name.
        raise InvalidInput("fill_ml", "0 mL", f"more than 0 to {display(cap_ml)} mL with --prime "
                           "(the priming bolus needs drug), or 0 with --no-prime")
    alarm_nl = None if alarm_ml is None else ml_to_nl("alarm_ml", alarm_ml)
    if alarm_nl is not None:
        in_range("alarm_ml", Fraction(alarm_nl, NL_PER_ML),
                 Fraction(pump_model.low_reservoir_alarm_min_nl, NL_PER_ML),
                 Fraction(pump_model.low_reservoir_alarm_max_nl, NL_PER_ML), "mL")
    span = in_range("days", days, 0, MAX_SIMULATED_DAYS, "days", low_inclusive=False)
    span_s = _seconds("days", span)
    if (daily_dose is None) == (flex is None):
        raise InvalidInput("--daily-dose / --flex", "neither given" if flex is None else
                           "both given", "exactly one of --daily-dose or --flex")
    therapy: Therapy
    flex_file: FlexFile | None = None
    if daily_dose is not None:
        # The model's flow range at this concentration bounds the dose.
        lowest = Fraction(pump_model.min_flow_nl_per_day, NL_PER_ML) * conc
        highest = Fraction(pump_model.max_flow_nl_per_day, NL_PER_ML) * conc
        therapy = ContinuousTherapy(in_range("daily_dose", daily_dose, lowest, highest,
                                             f"mcg/day at {display(conc)} mcg/mL"))
    else:
        assert flex is not None
        flex_file = load_flex(flex, start)
        therapy = flex_file.therapy
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
    catheter_nl = ml_to_nl("catheter_ml", catheter_ml)
    in_range("catheter_ml", Fraction(catheter_nl, NL_PER_ML), 0, 1, "mL")
    refill_every_s = None
    if refill_every_days is not None:
        every = in_range("refill_every_days", refill_every_days, 1, MAX_SIMULATED_DAYS, "days")
        refill_every_s = _seconds("refill_every_days", every)
    program = Program(therapy, HardLimits(limit, bolus_limit))
    start_s = int(start.timestamp())
    seed_number = _whole("seed", seed, 0, MAX_SEED, "")
    pump = Pump.implant(pump_model, serial=f"SIM-{seed_number}", at=start, fill_nl=fill_nl,
                        concentration_mcg_per_ml=conc, program=program, seed=seed_number,
                        catheter_volume_nl=catheter_nl, low_reservoir_alarm_nl=alarm_nl)
    # Scheduled acts: (time_s, order, name, argument).
    acts: list[tuple[int, int, str, Any]] = []
    for text in occlusion_at:
        day = in_range("occlusion_at", text, 0, span, "days")
        acts.append((start_s + _seconds("occlusion_at", day), 1, "occlude", None))
    for text in disconnect_at:
        day = in_range("disconnect_at", text, 0, span, "days")
        acts.append((start_s + _seconds("disconnect_at", day), 1, "disconnect", None))
    for text in memory_corruption_at:
        day = in_range("memory_corruption_at", text, 0, span, "days")
        acts.append((start_s + _seconds("memory_corruption_at", day), 1, "corrupt", None))
    for day, hours in _parse_day_pairs("stall", stall, span):
        begin = start_s + _seconds("stall", day)
        acts.append((begin, 2, "stall", None))
        acts.append((begin + _seconds("stall", hours / 24), 0, "unstall", None))
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
    for k, t in enumerate(refill_times, start=1):
        acts.append((t, 3, "refill", k))
    acts.sort(key=lambda a: (a[0], a[1]))
    result_notes: list[str] = []
    refills: list[dict[str, Any]] = []
    csf = leak = Fraction(0)
    collector = AlarmCollector()
    if prime:
        pump.prime()
    end_s = start_s + span_s
    for when, _order, name, arg in acts:
        if when > end_s:
            continue
        report = pump.advance(to_datetime(when))
        collector.read(pump)
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
                pocket = pump_model.reservoir_capacity_nl if arg in pocket_fills else 0
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
        collector.read(pump)
    report = pump.advance(to_datetime(end_s))
    collector.read(pump)
    csf += report.csf_mcg
    leak += report.leaked_mcg
    alarms = collector.alarms
    if collector.missed:
        result_notes.append(f"{collector.missed} log entries were overwritten in the pump's "
                            "ring before they were read; alarms among them are not listed")
    return SimulationResult(
        model=pump_model.name, start=start, end=to_datetime(end_s), delivered_mcg=csf,
        commanded_mcg=pump.commanded_mcg, leaked_mcg=leak, pocket_mcg=pump.physical.pocket_mcg,
        reservoir_nl=pump.physical.reservoir_nl, reservoir_estimate_nl=pump.reservoir_estimate_nl,
        battery_state=pump.status().battery_state, events=pump.log.next_index,
        log_overflowed=pump.log.overflowed, alarms=alarms, refills=refills, notes=result_notes,
        programmed_daily_dose_mcg=programmed_daily_mcg,
        flex_time_zone=None if flex_file is None else flex_file.timezone,
        flex_utc_offset=None if flex_file is None else _offset_text(flex_file),
        flex_clock_note=None if flex_file is None else flex_file.clock_note(start))


def _render(result: SimulationResult) -> None:
    console = Console()
    table = Table(title=f"{result.model}: {result.start:%Y-%m-%d %H:%M} to "
                  f"{result.end:%Y-%m-%d %H:%M} UTC", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("Programmed daily dose" + (" (flex mean)" if result.flex_time_zone else ""),
                  f"{display(result.programmed_daily_dose_mcg)} mcg/day")
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
    table.add_row("Log entries overwritten (ring full)", str(result.log_overflowed))
    console.print(table)
    if result.flex_clock_note:
        console.print(f"Flex clock: {result.flex_clock_note}.")
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
    flex: Path | None = typer.Option(None, help="Flex schedule TOML file (docs/therapy.md, "
                                     "'Flex file'); its zone runs at its UTC offset at --start."),
    alarm_ml: str | None = typer.Option(None, help="Low-reservoir alarm volume, mL "
                                        "(default: the model's, 2 mL)."),
    days: str = typer.Option("30", help="Days to simulate."),
    start: str | None = typer.Option(None, help="Implant time, ISO-8601 with zone (default now)."),
    seed: str = typer.Option("0", help="Seed for this pump's stroke calibration and drift "
                             f"(0 to {MAX_SEED})."),
    refill_every_days: str | None = typer.Option(
        None, help="Empty and refill to full at the same concentration every N days."),
    max_daily_dose: str | None = typer.Option(
        None, help="Clinician's maximum daily dose, mcg (default: programmed 24 h dose + 25%, "
        "at most what the pump can deliver in 24 h)."),
    max_bolus: str = typer.Option("100", help="Clinician's maximum bolus, mcg (at most a day "
                                   "at the model's maximum flow)."),
    catheter_ml: str = typer.Option(
        to_decimal_str(Fraction(DEFAULT_CATHETER_VOLUME_NL, NL_PER_ML)),
        help="Catheter volume, mL (tubing to tip)."),
    prime: bool = typer.Option(True, help="Give the priming bolus at implant."),
    occlusion_at: list[str] = typer.Option([], help="Fully occlude the catheter at DAYS."),
    disconnect_at: list[str] = typer.Option([], help="Disconnect the catheter at DAYS."),
    stall: list[str] = typer.Option([], help="Motor stall DAYS:HOURS (e.g. MRI at day 10, 2 h)."),
    pocket_fill_refill: list[str] = typer.Option(
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
                raise InvalidInput("start", start or '""', "an ISO-8601 time such as "
                                   "2026-01-05T08:00:00Z") from None
            if begin.tzinfo is None:
                raise InvalidInput("start", start, "an ISO-8601 time with a zone (Z or +01:00)")
            try:
                begin = begin.astimezone(UTC)
            except OverflowError:  # e.g. 9999-12-31T23:59-05:00 is past year 9999 in UTC
                begin = datetime.max.replace(tzinfo=UTC)
            if not EARLIEST_START <= begin <= LATEST_START:
                raise InvalidInput("start", start, f"a time from {EARLIEST_START:%Y-%m-%d} "
                                   f"(the pump clock's epoch) to {LATEST_START:%Y-%m-%d} UTC "
                                   f"(a run of up to {MAX_SIMULATED_DAYS} days must end "
                                   "before year 10000)")
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


# `itb pump new`, `serve` and `list` (simulated pumps on the wand link) come after simulate.
register_pump_commands(app)
