"""`itb pump new`, `serve` and `list`: create simulated implanted pumps and serve them.

These commands join the `pump` group that `itb.pump.cli` owns, which calls
`register_pump_commands(app)`. A shell over `itb.telemetry.io` (the server, the state
folder) and `itb.pump`; it holds no protocol. Errors are one sentence naming the field, the
value and what is allowed, with exit status 2 and no partial output.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

import typer

from itb.cli_errors import refuse_error
from itb.errors import InvalidInput, ItbError
from itb.pump import (
    MODELS,
    ContinuousTherapy,
    HardLimits,
    Program,
    Pump,
    get_model,
)
from itb.telemetry.io.folderlock import FolderLock, FolderServed
from itb.telemetry.io.listing import list_pumps
from itb.telemetry.io.server import PumpServer
from itb.telemetry.io.store import StateStore, read_state_key
from itb.telemetry.protocol.guard import LinkGuard
from itb.telemetry.protocol.keys import KEY_BYTES, LinkKey, check_serial
from itb.telemetry.pumpside.runtime import SimulatedPump
from itb.therapy.catalogue import (
    SCREENING_CONCENTRATION_MCG_PER_ML,
    refill_concentrations_mcg_per_ml,
)
from itb.therapy.units import NL_PER_ML, display, exact, in_range, ml_to_nl

# devices.md worked example: a 20 mL reservoir at 500 mcg/mL, 300 mcg/day.
DEFAULT_CONCENTRATION_MCG_PER_ML = "500"
DEFAULT_DAILY_DOSE_MCG = "300"
# Labeling (devices.md, screening): the largest screening bolus is 100 mcg; itb uses it as
# the default hard limit for one bolus.
DEFAULT_MAX_BOLUS_MCG = "100"
# The default maximum daily dose leaves room for one upward titration step of at most
# 30% (devices.md, titration: spinal origin, increases of 10 to 30%).
DEFAULT_MAX_DAILY_DOSE_FACTOR = Fraction(13, 10)
# The pump's default catheter volume (itb.pump.pump.DEFAULT_CATHETER_VOLUME_NL, unconfirmed).
DEFAULT_CATHETER_ML = "0.11"


def _fail(exc: ItbError) -> None:
    raise refuse_error(exc)


def _refuse(sentence: str, next_step: str) -> NoReturn:
    typer.echo(f"Error: {sentence}.", err=True)
    typer.echo(f"Next: {next_step}", err=True)
    raise typer.Exit(2)


def require_loopback(host: str) -> None:
    """Refuse a listening address off this machine: the simulated pumps are served on
    loopback only (issue 4), so no other host on a network can reach them."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InvalidInput("host", host or '""', "a loopback address: 127.0.0.1 (or another "
                           "127.x.y.z), ::1 or localhost")


def fill_strength(concentration: str) -> Fraction:
    """The drug filled at implant: a marketed pump-refill strength (issue 9.10).

    The screening strength (50 mcg/mL) is for the screening bolus only, and any other
    number is no marketed product ([LIO-LABEL], [GAB-LABEL] in itb.therapy.catalogue).
    """
    strengths = refill_concentrations_mcg_per_ml()
    allowed = ", ".join(display(c) for c in strengths) + " mcg/mL (marketed pump-refill strengths)"
    conc = in_range("concentration", concentration, 0, None, "mcg/mL", low_inclusive=False)
    if conc not in strengths:
        why = ("50 mcg/mL is the screening strength, not for filling a pump"
               if conc == SCREENING_CONCENTRATION_MCG_PER_ML else "no marketed product has it")
        raise InvalidInput("concentration", f"{display(conc)} mcg/mL", allowed, why)
    return conc


def catheter_volume_nl(catheter_ml: str) -> int:
    """The implanted catheter volume the pump stores (0 to 1 mL, as the firmware allows)."""
    volume = in_range("catheter_ml", catheter_ml, 0, 1, "mL")
    return ml_to_nl("catheter_ml", volume)


STATE_KEY_HELP = ("File of 64 hex digits, outside --state: state files are signed with "
                  "HMAC-SHA256 under it, so an edited one is refused.")


def register_pump_commands(group: typer.Typer) -> None:
    """Add `new`, `serve` and `list` to the `itb pump` group."""
    group.command("new")(pump_new)
    group.command("serve")(pump_serve)
    group.command("list")(pump_list)


def pump_new(
    state: Path = typer.Option(..., "--state", help="State directory of simulated pumps."),
    model: str = typer.Option(..., "--model", help="Pump model: " + ", ".join(sorted(MODELS))),
    serial: str | None = typer.Option(None, "--serial", help="Serial number (default: random)."),
    fill_ml: str | None = typer.Option(None, "--fill-ml",
                                       help="Volume filled at implant, mL (default: full)."),
    concentration: str = typer.Option(DEFAULT_CONCENTRATION_MCG_PER_ML, "--concentration",
                                      help="Baclofen concentration, mcg/mL."),
    daily_dose: str = typer.Option(DEFAULT_DAILY_DOSE_MCG, "--daily-dose",
                                   help="Simple continuous daily dose, mcg/day."),
    max_daily_dose: str | None = typer.Option(
        None, "--max-daily-dose", help="Hard limit, mcg per 24 h (default: daily dose + 30%)."),
    max_bolus: str = typer.Option(DEFAULT_MAX_BOLUS_MCG, "--max-bolus",
                                  help="Hard limit for one bolus, mcg."),
    catheter_ml: str = typer.Option(
        DEFAULT_CATHETER_ML, "--catheter-ml",
        help="Implanted catheter volume stored in the pump, mL (from the implant record)."),
    state_key: Path | None = typer.Option(None, "--state-key", help=STATE_KEY_HELP),
) -> None:
    """Implant a new simulated pump in DIR and write its key to DIR/keys/<serial>.key."""
    try:
        pump_model = get_model(model)
        chosen_serial = check_serial(serial) if serial is not None \
            else "ITB-" + secrets.token_hex(4).upper()
        capacity_ml = Fraction(pump_model.reservoir_capacity_nl, NL_PER_ML)
        # More than 0: the implant ends with a priming bolus, which needs drug.
        fill_nl = pump_model.reservoir_capacity_nl if fill_ml is None else ml_to_nl(
            "fill_ml", in_range("fill_ml", fill_ml, 0, capacity_ml, "mL", low_inclusive=False))
        conc = fill_strength(concentration)
        catheter_nl = catheter_volume_nl(catheter_ml)
        dose = in_range("daily_dose", daily_dose, 0, None, "mcg/day", low_inclusive=False)
        limit = dose * DEFAULT_MAX_DAILY_DOSE_FACTOR if max_daily_dose is None \
            else exact("max_daily_dose", max_daily_dose)
        bolus_limit = in_range("max_bolus", max_bolus, 0, None, "mcg", low_inclusive=False)
        store = StateStore(state, None if state_key is None
                           else read_state_key(state_key, state))
        if store.exists(chosen_serial):
            raise InvalidInput("serial", chosen_serial, "a serial not already in " + str(state))
        now = datetime.now(UTC).replace(microsecond=0)
        program = Program(ContinuousTherapy(dose), HardLimits(limit, bolus_limit))
        pump = Pump.implant(pump_model, serial=chosen_serial, at=now, fill_nl=fill_nl,
                            concentration_mcg_per_ml=conc, program=program,
                            seed=secrets.randbits(31), catheter_volume_nl=catheter_nl)
        # The implant procedure ends with the priming bolus that brings drug to the tip.
        pump.prime()
        pump_key = secrets.token_bytes(KEY_BYTES)
        simulated = SimulatedPump(pump, pump_key, LinkGuard())
        clinic_key = LinkKey(chosen_serial, "clinic", pump_key)
        store.save(chosen_serial, simulated.to_document())
        key_path = store.write_key(clinic_key, f"{chosen_serial}.key")
        patient_path = store.write_key(clinic_key.patient_key(), f"{chosen_serial}.patient.key")
    except ItbError as exc:
        _fail(exc)
        return
    except FileExistsError as exc:
        _fail(InvalidInput("key file", exc.filename, "a path where no key file exists yet"))
        return
    except OSError as exc:  # e.g. --state is a file, or a directory itb may not write
        _fail(InvalidInput("state", str(state), "a directory itb can create and write in",
                           exc.strerror))
        return
    fill_text = display(Fraction(fill_nl, NL_PER_ML))
    typer.echo(f"implanted {chosen_serial}: {pump_model.name}, {fill_text}"
               f" mL at {display(conc)} mcg/mL, {display(dose)} mcg/day "
               f"(max {display(limit)} mcg/day, bolus max {display(bolus_limit)} mcg), catheter "
               f"{display(Fraction(catheter_nl, NL_PER_ML))} mL, primed")
    typer.echo(f"clinic key:  {key_path}")
    typer.echo(f"patient key: {patient_path}")


def pump_serve(
    state: Path = typer.Option(..., "--state", help="State directory of simulated pumps."),
    port: int = typer.Option(..., "--port", help="TCP port on 127.0.0.1 (0 picks a free one)."),
    speed: str = typer.Option("1", "--speed",
                              help="Pump time runs this many times faster than real time."),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Loopback address to listen on (127.0.0.0/8, ::1, localhost)."),
    state_key: Path | None = typer.Option(None, "--state-key", help=STATE_KEY_HELP),
) -> None:
    """Serve every pump in DIR over the secure wand protocol, clocks running.

    Pump clocks stand still while no server runs: a pump resumes where it was last saved,
    so the days between two serves do not pass for it. Only one server may serve a state
    folder; pumps added with 'itb pump new' while it runs are served without a restart.
    """
    lock = FolderLock(state)
    try:
        require_loopback(host)
        factor = in_range("speed", speed, 0, 1_000_000, "x real time", low_inclusive=False)
        if not 0 <= port <= 65535:
            raise InvalidInput("port", port, "0 to 65535")
        store = StateStore(state, None if state_key is None
                           else read_state_key(state_key, state))
        if not store.serials():
            raise InvalidInput("state", str(state), "a directory with pumps made by 'itb pump new'")
        try:
            lock.acquire()
        except OSError as exc:
            raise InvalidInput("state", str(state), "a folder itb may write its lock file in",
                               exc.strerror) from None
        server = PumpServer(store, speed=float(factor))
        if not server.pumps:
            raise InvalidInput("state", str(state), "a directory with at least one readable "
                               "pump state", "every pump state was skipped")
    except FolderServed as exc:
        _refuse(str(exc), exc.next_step)
    except ItbError as exc:
        lock.release()
        _fail(exc)
        return

    def ready(bound: int) -> None:
        lock.record_port(bound)
        typer.echo(f"serving {len(server.pumps)} pump(s) "
                   f"({', '.join(sorted(server.pumps))}) on {host}:{bound} at "
                   f"{display(factor)}x real time", err=False)

    try:
        asyncio.run(server.run(host, port, ready))
    except OSError as exc:
        _fail(InvalidInput("host:port", f"{host}:{port}", "a free port on this machine",
                           str(exc)))
    finally:
        lock.release()
    typer.echo(f"stopped serving {len(server.pumps)} pump(s) in {state}: state saved; their "
               "clocks stand still until the next 'itb pump serve'")


def pump_list(
    state: Path = typer.Option(..., "--state", help="State directory of simulated pumps."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of lines."),
) -> None:
    """List the pumps in DIR: serial, model, drug, reservoir estimate, active alarms.

    Shows the firmware's belief as last saved (the reservoir is its estimate from counted
    strokes). Pump clocks stand still while no server runs.
    """
    store = StateStore(state)
    if not store.pumps_dir.is_dir():
        _refuse(f"state = {state} holds no pumps (no pumps folder)",
                "Give the folder that 'itb pump new --state DIR' wrote, or implant a pump there.")
    listed, skipped = list_pumps(store)
    for serial, reason in skipped.items():
        typer.echo(f"warning: pump {serial} skipped: {reason}", err=True)
    if as_json:
        typer.echo(json.dumps({"pumps": [p.to_json() for p in listed],
                               "skipped": skipped}, indent=2))
        return
    if not listed:
        typer.echo(f"no readable pumps in {state}")
    for pump in listed:
        typer.echo(pump.line())
