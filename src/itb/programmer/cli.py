"""`itb programmer ...`: the clinician programmer, a thin Typer shell.

Every command reaches the pump through `itb.telemetry` (`wand`), computes with
`itb.therapy` (`view`, `programming`, `refill`), records what happened in the
session journal (`journal`) and turns every refusal into one sentence plus what to
do next, with exit status 2 and no traceback. Declining a confirmation exits 1 and
sends nothing.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar, cast

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

import itb.clihelp  # noqa: F401  flags show no value type in --help (issue 9.15)
from itb.cli_errors import RefusingGroup, refuse
from itb.errors import InvalidInput, ItbError, shorten
from itb.programmer import catheter as catheter_mod
from itb.programmer import journal as journal_mod
from itb.programmer import refill as refill_mod
from itb.programmer import refill_details, render
from itb.programmer import schedule as sched
from itb.programmer.bridging import bridge_note
from itb.programmer.delivery import Delivery, DeliveryChecked, journal_outcome
from itb.programmer.errors import (
    EchoMismatch,
    NotConfirmed,
    OverrideNeeded,
    PrescriptionMismatch,
    ProgrammerError,
)
from itb.programmer.programming import (
    TitrationReview,
    build_preview,
    new_limits,
    patient_facts,
    request_spec,
)
from itb.programmer.response_check import review_response
from itb.programmer.view import PumpView, bolus_and_stroke, project_reservoir, view_to_json
from itb.programmer.wand import (
    LINK_LOST,
    ConnectionOptions,
    WandFactory,
    changing,
    check_unchanged,
    close_quietly,
    read_view,
    send_program,
    tcp_factory,
)
from itb.telemetry.errors import (
    AuthenticationFailed,
    CommandRejected,
    KeyFileError,
    LinkRefused,
    LinkTimeout,
    SessionClosed,
)
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.protocol.commands import (
    AcknowledgeAlarm,
    AlarmAcknowledged,
    Bolus,
    BolusConfirmation,
    CatheterVolumeSet,
    InfusionChanged,
    LogEntryInfo,
    Refill,
    RefillConfirmation,
    Resume,
    SetCatheterVolume,
    Stop,
)
from itb.therapy.errors import (
    FlexScheduleError,
    LargeDecreaseUnconfirmed,
    Overfill,
    RefillDiscrepancy,
)
from itb.therapy.flex import parse_flex_toml
from itb.therapy.units import NL_PER_ML, display, exact, in_range, ml_to_nl, to_exact_str

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = "7400"  # text: --port is checked by pump_port
_LOG_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")  # the pump logs snake_case kinds

app = typer.Typer(
    help="The clinician programmer: interrogate, program, refill and look after a pump "
    "through the wand link (itb pump serve, or an in-process pump). Simulation only.",
    no_args_is_help=True,
    cls=RefusingGroup,  # usage errors in the Error/Next style under `python -m` too
)

HostOpt = Annotated[str, typer.Option("--host", envvar="ITB_PUMP_HOST",
                                      help="Address of the pump server (loopback).")]
# Read as text and checked by pump_port, so a bad port (0, 70000, 1e999, unicode digits)
# gets the programmer's Error/Next sentence rather than a usage box.
PortOpt = Annotated[str, typer.Option("--port", envvar="ITB_PUMP_PORT",
                                      help="Port of the pump server, 1 to 65535.")]
SerialOpt = Annotated[str | None, typer.Option(
    "--serial", envvar="ITB_SERIAL", help="The patient's pump serial; the pump must match.")]
KeyOpt = Annotated[Path | None, typer.Option(
    "--key-file", envvar="ITB_KEY_FILE", help="The clinic key file of this pump.")]
SessionOpt = Annotated[Path, typer.Option(
    "--session", envvar="ITB_SESSION",
    help="Session journal (JSON lines) that the report is made from.")]
YesOpt = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation (scripts).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Exact JSON output.")]

F = TypeVar("F", bound=Callable[..., Any])


# ---- errors: one sentence and the next step ----------------------------------------------------


def explain(exc: BaseException, options: ConnectionOptions | None = None) -> tuple[str, str]:
    """(what went wrong, what to do next) for every refusal the programmer can meet."""
    nothing_sent = "Nothing was sent to the pump."
    if isinstance(exc, RefillDiscrepancy):
        causes = "".join(f"\n  - {cause}" for cause in exc.possible_causes)
        found = f" ({exc.reason.split(';')[0]})" if exc.reason else ""
        sentence = (f"Refill stopped: {exc.field} = {exc.value} is not allowed: allowed is "
                    f"{exc.allowed}{found}.\nPossible causes:{causes}")
        return sentence, ("No drug was added and the pump is unchanged. Find the cause before "
                          "refilling: aspirate again with the needle checked in the reservoir, "
                          "look for a pocket fill, and consider a catheter or pump study.")
    if isinstance(exc, Overfill):
        return f"Overfill refused: {exc}.", \
            f"Add no more than the reservoir holds. {nothing_sent}"
    if isinstance(exc, PrescriptionMismatch):
        return f"Wrong concentration: {exc}.", (
            "Use the prescribed drug, or have the prescription changed and give "
            f"--prescribed-concentration. {nothing_sent}")
    if isinstance(exc, LargeDecreaseUnconfirmed):
        return f"Large decrease not confirmed: {exc}.", (
            "Confirm it with --confirm-large-decrease (or answer the question interactively), "
            f"or choose a smaller step. {nothing_sent}")
    if isinstance(exc, OverrideNeeded):
        return f"Dose change refused: {exc}.", (exc.next_step or (
            "Choose a dose in the allowed range, or give --override-reason with the clinical "
            "reason for going beyond it.")) + f" {nothing_sent}"
    if isinstance(exc, FlexScheduleError):
        return f"Flex schedule refused: {exc}.", f"Correct the flex file. {nothing_sent}"
    if isinstance(exc, KeyFileError):
        return f"{exc}.", ("Give this pump's clinic key file with --key-file "
                           "(itb pump new writes it as keys/<serial>.key).")
    if isinstance(exc, AuthenticationFailed):
        return f"{exc}.", "Check that --key-file is the clinic key of this pump."
    if isinstance(exc, LinkRefused):
        wait = f" in {exc.retry_after_s} s" if exc.retry_after_s else ""
        return f"{exc}.", (f"Try again{wait}; if another programmer holds the session, end it "
                           "first.")
    if isinstance(exc, SessionClosed | LinkTimeout):
        return f"The wand link was lost: {exc}.", (
            "Hold the wand over the pump and run the command again; interrogate first to see "
            "the pump's state.")
    if isinstance(exc, CommandRejected):
        next_step = "The pump changed nothing. Correct the request and run the command again."
        if exc.code == "not_permitted":
            next_step = "Use the clinic key of this pump (a patient key cannot do this)."
        return f"The pump refused: {exc}.", next_step
    if isinstance(exc, ProgrammerError):
        return str(exc), exc.next_step
    if isinstance(exc, InvalidInput):
        return f"{exc}.", f"Correct the value and run the command again. {nothing_sent}"
    if isinstance(exc, ItbError):
        return f"{exc}.", "Interrogate the pump to see its state before trying again."
    if isinstance(exc, OSError):
        where = "" if options is None else f" at {options.host}:{options.port}"
        reason = exc.strerror or type(exc).__name__
        return f"Cannot reach the pump{where}: {reason}.", (
            "Start the simulated pump (itb pump serve) or check --host and --port.")
    raise exc


def fail(exc: BaseException, options: ConnectionOptions | None = None) -> NoReturn:
    sentence, next_step = explain(exc, options)
    raise refuse(sentence, next_step, code=1 if isinstance(exc, NotConfirmed) else 2)


def guarded(function: F) -> F:
    """Run a command; every refusal becomes one sentence on stderr and exit 2."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except (ItbError, OSError) as exc:
            meta = getattr(kwargs.get("ctx"), "meta", {})
            fail(exc, meta.get(_OPTIONS_KEY))
        except Exception as exc:  # a programmer bug must still end in a sentence, not a traceback
            raise refuse(f"the programmer failed unexpectedly ({type(exc).__name__}: "
                         f"{shorten(exc)}).",
                         "Interrogate the pump to check its state, and report this fault.",
                         ) from None
    return cast(F, wrapper)


# Where a command keeps its connection options, so an error can name host and port.
_OPTIONS_KEY = "itb.programmer.connection"


# ---- shared plumbing ---------------------------------------------------------------------------


def console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 110)


def host_now() -> datetime:
    return datetime.now(UTC)


def whole_number(flag: str, text: str | int, low: int, high: int, allowed: str) -> int:
    """A whole-number option read from text: ASCII digits only (int() would also take
    '７４００'), at most 12 of them (int() refuses strings over 4300 digits with a
    ValueError), within low..high; anything else is an InvalidInput naming the flag."""
    value = str(text)
    if not (value.isascii() and value.isdigit() and len(value) <= 12
            and low <= int(value) <= high):
        raise InvalidInput(flag, repr(shorten(value)), allowed)  # shortened inside the quotes
    return int(value)


def pump_port(text: str | int) -> int:
    """The --port value as a TCP port."""
    return whole_number("--port", text, 1, 65535, "a TCP port number from 1 to 65535")


def wand_factory(ctx: typer.Context, host: str, port: str | int, key_file: Path | None,
                 serial: str | None) -> WandFactory:
    """The session opener: TCP to `itb pump serve`, or what a test put in `ctx.obj`."""
    options = ConnectionOptions(host, pump_port(port), key_file, serial)
    ctx.meta[_OPTIONS_KEY] = options
    maker = ctx.obj if callable(ctx.obj) else None
    return maker(options) if maker is not None else tcp_factory(options)


@contextmanager
def session(factory: WandFactory) -> Iterator[ProgrammerClient]:
    client = factory()
    try:
        yield client
    finally:
        close_quietly(client)


@contextmanager
def send_session(factory: WandFactory, view: PumpView, act: str) -> Iterator[ProgrammerClient]:
    """A new session for the change the clinician just confirmed (the one that read the pump
    closed before the question, so no idle timeout races the answer), after checking that
    the pump is still as it was read."""
    with session(factory) as client:
        check_unchanged(client, view, act)
        yield client


def confirm(question: str, yes: bool) -> None:
    """Ask; a no (or no answer) raises NotConfirmed, so nothing is sent."""
    if yes:
        return
    try:
        agreed = typer.confirm(question, default=False)
    except (typer.Abort, EOFError):
        typer.echo()  # end the prompt's line: the error goes on a line of its own (9.15)
        agreed = False
    if not agreed:
        raise NotConfirmed("Not confirmed: nothing was sent to the pump.",
                           "Run the command again when ready.")


def record(path: Path, kind: str, view: PumpView | None, serial: str, outcome: str,
           summary: str, details: dict[str, Any] | None = None) -> None:
    journal_mod.Journal(path).append(at=host_now(), kind=kind, serial=serial,
                                     pump_time=None if view is None else view.now,
                                     outcome=outcome, summary=summary, details=details)


def dec(value: Fraction) -> str:
    return to_exact_str(value)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def parse_instant(field: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, text, "an ISO-8601 time with a UTC offset, "
                           "such as 2026-03-01T08:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, text, "a time with a UTC offset or Z")
    return moment.astimezone(UTC)


# ---- interrogate -------------------------------------------------------------------------------


@app.command()
@guarded
def interrogate(ctx: typer.Context, as_json: JsonOpt = False, host: HostOpt = DEFAULT_HOST,
                port: PortOpt = DEFAULT_PORT, serial: SerialOpt = None, key_file: KeyOpt = None,
                session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE)) -> None:
    """Read the pump: identity, battery and ERI date, reservoir, program, alarms, alarm date."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    with session(factory) as client:
        view = read_view(client, serial)
    data = view_to_json(view)
    record(session_file, "interrogation", view, view.serial, "done",
           f"interrogated: {data['reservoir_estimate_ml']} mL at "
           f"{data['concentration_mcg_per_ml']} mcg/mL, {data['daily_dose_mcg']} mcg/day, "
           f"{len(data['alarms'])} alarm(s)", {"interrogation": data})
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console().print(render.interrogation(view))


# ---- program -----------------------------------------------------------------------------------


@app.command()
@guarded
def program(
    ctx: typer.Context,
    daily_dose: Annotated[str | None, typer.Option(
        "--daily-dose", help="New simple continuous dose, mcg/day (exact decimal).")] = None,
    flex: Annotated[Path | None, typer.Option(
        "--flex", help="New flex schedule, TOML file (see docs/therapy.md).")] = None,
    origin: Annotated[str | None, typer.Option(
        "--origin", help="The patient's spasticity origin: spinal or cerebral.")] = None,
    age_years: Annotated[str | None, typer.Option(
        "--age-years", help="The patient's age in years (pediatric step under 18; "
        "under-12 maintenance figures).")] = None,
    phase: Annotated[str, typer.Option(
        "--phase", help="titration (after implant) or maintenance (at refill visits).")
    ] = "titration",
    pediatric_rule: Annotated[str, typer.Option(
        "--pediatric-rule", help="Children's step: 5-15 or 5-10 (labels differ).")] = "5-15",
    max_daily_dose: Annotated[str | None, typer.Option(
        "--max-daily-dose", help="New hard limit per 24 h, mcg (default: keep).")] = None,
    max_bolus: Annotated[str | None, typer.Option(
        "--max-bolus", help="New maximum bolus, mcg (default: keep).")] = None,
    override_reason: Annotated[str | None, typer.Option(
        "--override-reason", help="Clinical reason to go beyond the titration rules.")] = None,
    confirm_large_decrease: Annotated[bool, typer.Option(
        "--confirm-large-decrease",
        help="Confirm a cut larger than 20% (it can bring on withdrawal); asked otherwise.")
    ] = False,
    response: Annotated[str | None, typer.Option(
        "--response", help="Spasticity since the last increase: improved, unchanged or worse.")
    ] = None,
    catheter_checked: Annotated[str | None, typer.Option(
        "--catheter-checked", help="After a poor response: the catheter and pump check done "
        "and its result.")] = None,
    cancel_bridge_reason: Annotated[str | None, typer.Option(
        "--cancel-bridge-reason",
        help="End a running bridge bolus now, and why (default: it runs to its end).")] = None,
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """Preview a new dose or flex schedule, check it, confirm, send it and verify the echo."""
    if origin is None or age_years is None:
        raise InvalidInput("patient facts", "not given",
                           "--origin spinal|cerebral and --age-years N",
                           "the titration check needs the patient's spasticity origin and age")
    patient = patient_facts(origin, age_years, phase, pediatric_rule)
    dose = None if daily_dose is None else in_range("daily dose", daily_dose, 0, None, "mcg/day",
                                                    low_inclusive=False)
    schedule = None
    if flex is not None:
        if flex.exists() and not flex.is_file() and not flex.is_dir():
            # A FIFO or device would block the read.
            raise InvalidInput("--flex", str(flex), "a readable TOML file",
                               "it is not a regular file")
        try:
            text = flex.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput("--flex", str(flex), "a readable TOML file", exc.strerror) from None
        except UnicodeDecodeError:
            raise InvalidInput("--flex", str(flex), "a readable TOML file",
                               "it is not UTF-8 text") from None
        try:
            schedule = parse_flex_toml(text, str(flex))
        except ItbError:
            raise
        except ValueError as exc:
            # tomllib's int() refuses numbers over 4300 digits with a plain ValueError.
            raise InvalidInput("--flex", str(flex), "a readable TOML file",
                               str(exc).split(";")[0]) from None
        except RecursionError:
            # tomllib recurses per nested array; thousands of '[' must be a refusal, not a
            # "failed unexpectedly" fault report.
            raise InvalidInput("--flex", str(flex), "a readable TOML file",
                               "arrays or inline tables nested too deeply") from None
    limit_daily = None if max_daily_dose is None else in_range(
        "max daily dose", max_daily_dose, 0, None, "mcg", low_inclusive=False)
    limit_bolus = None if max_bolus is None else in_range(
        "max bolus", max_bolus, 0, None, "mcg", low_inclusive=False)
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
        limits = new_limits(view, limit_daily, limit_bolus)
        spec, notes = request_spec(view, daily_dose_mcg=dose, flex=schedule, limits=limits)
        bridge = bridge_note(view, cancel_bridge_reason)
        notes = (*notes, bridge) if bridge else notes
        pump_refusal: CommandRejected | None = None
        try:
            dry_run = client.program(spec, confirm_only=True,
                                     cancel_bridge_reason=cancel_bridge_reason)
        except CommandRejected as exc:
            dry_run, pump_refusal = None, exc
    # The session is closed while the clinician reads the preview (no idle timeout to race).
    checked = review_response(view, sched.daily_dose_mcg(spec) or Fraction(0), response,
                              catheter_checked, override_reason)
    preview = build_preview(view, spec, dry_run, patient, override_reason,
                            notes + ((checked.note,) if checked.note else ()))
    out.print(render.preview(preview))
    titration = preview.titration
    details = {"previous": None if view.program is None else sched.program_to_json(view.program),
               "new": sched.program_to_json(spec), "patient": patient.describe(),
               "titration": titration.status, "violations": list(titration.violations),
               "override_reason": titration.override_reason,
               "titration_notes": list(titration.notes),
               "response": response, "poor_response": checked.note if checked.poor else None,
               "catheter_checked": catheter_checked,
               "large_decrease_confirmed": titration.large_decrease or None,
               "previous_daily_dose_mcg": None if view.daily_dose_mcg is None
               else dec(view.daily_dose_mcg),
               "daily_dose_mcg": dec(preview.daily_dose_mcg),
               "low_reservoir_alarm_at": iso(preview.projection.low_reservoir_alarm_at),
               "bridge_bolus": bridge}
    summary = (f"program {sched.describe_program(spec)} "
               f"(from {render.mcg(view.daily_dose_mcg, 'mcg/day')})")
    if titration.needs_override:
        record(session_file, "program", view, view.serial, "refused", "refused: " + summary,
               details)
        raise titration.refusal()
    if pump_refusal is not None:
        record(session_file, "program", view, view.serial, "refused",
               "refused by the pump: " + summary, {**details, "error": str(pump_refusal)})
        raise pump_refusal
    try:
        confirm_decrease(titration, confirm_large_decrease, yes)
        confirm(f"Send this program to pump {view.serial}?", yes)
        with send_session(factory, view, "new program") as client:
            echo, _after = send_program(client, factory, view.program, spec,
                                        view.concentration_mcg_per_ml,
                                        view.report.log_next_index, cancel_bridge_reason)
    except (NotConfirmed, LargeDecreaseUnconfirmed):
        record(session_file, "program", view, view.serial, "cancelled", "cancelled: " + summary,
               details)
        raise
    except (*LINK_LOST, ItbError) as exc:
        outcome = journal_outcome(exc)
        record(session_file, "program", view, view.serial, outcome,
               f"{outcome}: " + summary, {**details, "error": str(exc)})
        raise
    details["verified"] = True
    details["effective"] = iso(echo.effective)
    record(session_file, "program", view, view.serial,
           "overridden" if titration.override_reason and titration.violations else "done",
           summary, details)
    out.print(Text(f"Program sent and verified: the pump's echo and a fresh interrogation show "
                   f"the new program in force since {render.when(echo.effective)}.",
                   style="bold green"))


def confirm_decrease(titration: TitrationReview, confirmed: bool, yes: bool) -> None:
    """A cut beyond the labeled decrease step is confirmed on its own: --yes alone is not
    enough (it answers routine questions), the flag or an answer to this question is."""
    if not titration.large_decrease or confirmed:
        return
    if yes:
        raise LargeDecreaseUnconfirmed(
            "daily dose", f"{display(titration.proposed_mcg_per_day)} mcg/day",
            "a large decrease confirmed with --confirm-large-decrease",
            titration.withdrawal_warning)
    confirm("This large decrease can bring on withdrawal. Confirm the large decrease?", False)


# ---- refill ------------------------------------------------------------------------------------


def ask_value(label: str, given: str | None, default: str | None = None, *,
              scripted: bool = False, flag: str = "") -> str:
    """A flag's value, else the default in a script (--yes), else the clinician's answer."""
    if given is not None:
        return given
    if scripted:
        if default is None:
            raise InvalidInput(flag or label, "not given",
                               f"a value with {flag} when --yes is used")
        return default
    try:
        return str(typer.prompt(label, default=default) if default is not None
                   else typer.prompt(label))
    except (typer.Abort, EOFError):
        typer.echo()  # end the prompt's line: the error goes on a line of its own (9.15)
        raise NotConfirmed(f"No answer for '{label}': the refill was not done.",
                           "Run the refill again when ready.") from None


@app.command()
@guarded
def refill(
    ctx: typer.Context,
    withdrawn_ml: Annotated[str | None, typer.Option(
        "--withdrawn-ml", help="Volume actually withdrawn from the reservoir, mL.")] = None,
    drug: Annotated[str | None, typer.Option(
        "--drug", help="Lioresal Intrathecal or Gablofen.")] = None,
    concentration: Annotated[str | None, typer.Option(
        "--concentration", help="Concentration put in, mcg/mL.")] = None,
    prescribed_concentration: Annotated[str | None, typer.Option(
        "--prescribed-concentration",
        help="Prescribed concentration, mcg/mL (default: the pump's present drug).")] = None,
    added_ml: Annotated[str | None, typer.Option(
        "--added-ml", help="Volume put into the reservoir, mL.")] = None,
    catheter_ml: Annotated[str | None, typer.Option(
        "--catheter-ml", help="Implanted catheter volume, mL (for a bridge bolus).")] = None,
    catheter_length_cm: Annotated[str | None, typer.Option(
        "--catheter-length-cm", help="Implanted catheter length, cm (for a bridge bolus).")
    ] = None,
    diluted_from: Annotated[str | None, typer.Option(
        "--diluted-from", help="Prescribed dilution: the marketed stock strength, mcg/mL.")
    ] = None,
    diluent: Annotated[str | None, typer.Option(
        "--diluent", help="Prescribed dilution: preservative-free 0.9% sodium chloride.")
    ] = None,
    lot: Annotated[str | None, typer.Option("--lot", help="The drug's lot number.")] = None,
    expiry: Annotated[str | None, typer.Option(
        "--expiry", help="The drug's expiry date, YYYY-MM-DD (expired drug is refused).")
    ] = None,
    second_check_by: Annotated[str | None, typer.Option(
        "--second-check-by", help="Who checked the strength and the program (second person).")
    ] = None,
    wasted_ml: Annotated[str | None, typer.Option(
        "--wasted-ml", help="Volume wasted, mL (default: the withdrawn residual).")] = None,
    pocket_skin_check: Annotated[str | None, typer.Option(
        "--pocket-skin-check", help="Findings of the pocket and skin check.")] = None,
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """The refill wizard, step by step; every answer can be given as a flag."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
    # The session is closed while the clinician works through the steps (no idle
    # timeout to race); step 5 opens a new one and checks the pump has not changed.
    report = view.report
    conc_now = view.concentration_mcg_per_ml
    expected = refill_mod.expected_residual_nl(view)  # an estimate below 0 is empty (9.1)

    def halt(reason: str, exc: BaseException, journal: str = "stopped",
             **known: Any) -> NoReturn:
        record_ = refill_mod.RefillRecord(
            serial=view.serial, pump_time=view.now, outcome=f"{journal}: {reason}",
            expected_residual_nl=expected, withdrawn_nl=known.get("withdrawn_nl"),
            discrepancy_nl=known.get("discrepancy_nl"), brand=known.get("brand"),
            concentration_mcg_per_ml=known.get("conc"),
            previous_concentration_mcg_per_ml=conc_now,
            prescribed_concentration_mcg_per_ml=known.get("prescribed"),
            added_nl=known.get("added_nl"), reservoir_estimate_nl=None, bridge=None,
            pump_bridge_bolus_nl=None, bridge_until=None, low_reservoir_alarm_at=None,
            refill_by=None, refill_by_reason=None,
            reasons=tuple(getattr(exc, "possible_causes", ())) or (str(exc),))
        record(session_file, "refill", view, view.serial, journal,
               f"refill {journal}: {reason}", {"refill": record_.to_json()})
        raise exc

    # 1. Patient and pump.
    out.print(Text("Step 1 of 7: confirm the patient and the pump", style="bold"))
    out.print(Text(f"Pump {view.serial}, {report.model}, implanted "
                   f"{render.when(report.implanted)}; drug {display(conc_now)} mcg/mL; "
                   f"reservoir estimate {render.reservoir_estimate(view.reservoir_estimate_nl)}; "
                   f"program {render.program_line(view.program)}."))
    try:
        confirm(f"Is this the patient's pump (serial {view.serial})?", yes)
    except NotConfirmed as exc:
        halt("pump not confirmed", exc)

    # 2. Residual withdrawn against the expected residual.
    out.print(Text("Step 2 of 7: withdraw the residual and compare", style="bold"))
    withdrawn_text = ask_value("Volume withdrawn from the reservoir (mL)", withdrawn_ml,
                               scripted=yes, flag="--withdrawn-ml")
    withdrawn_nl = ml_to_nl("withdrawn_ml", withdrawn_text)
    try:
        residual = refill_mod.check_withdrawn(view, withdrawn_text)
    except RefillDiscrepancy as exc:
        halt("residual discrepancy", exc, withdrawn_nl=withdrawn_nl,
             discrepancy_nl=withdrawn_nl - expected)
    out.print(Text(f"Withdrawn {render.ml(withdrawn_nl)}, expected {render.ml(expected)}: "
                   f"difference {render.signed(Fraction(residual.discrepancy_nl, NL_PER_ML))}"
                   f" mL, within {render.ml(residual.threshold_nl)}."))

    # 3. Drug, concentration and volume added.
    out.print(Text("Step 3 of 7: the drug put in", style="bold"))
    brand = ask_value("Drug (" + " or ".join(refill_mod.KNOWN_BRANDS) + ")", drug,
                      refill_mod.KNOWN_BRANDS[0], scripted=yes, flag="--drug")
    conc_text = ask_value("Concentration (mcg/mL)", concentration, display(conc_now),
                          scripted=yes, flag="--concentration")
    prescribed_text = prescribed_concentration if prescribed_concentration is not None \
        else (display(conc_now) if yes or concentration is not None else None)
    prescribed_text = ask_value("Prescribed concentration (mcg/mL)", prescribed_text,
                                display(conc_now), scripted=yes,
                                flag="--prescribed-concentration")
    added_text = ask_value("Volume added to the reservoir (mL)", added_ml, scripted=yes,
                           flag="--added-ml")
    known: dict[str, Any] = {"withdrawn_nl": withdrawn_nl,
                             "discrepancy_nl": residual.discrepancy_nl, "brand": brand}
    try:
        new_conc, dilution = refill_details.check_strength(brand, conc_text, prescribed_text,
                                                           diluted_from, diluent)
        known["conc"] = new_conc
        known["prescribed"] = exact("prescribed concentration", prescribed_text)
        known["added_nl"] = ml_to_nl("added_ml", added_text)
        fill = refill_mod.check_fill(view, withdrawn_text, added_text)
        refill_details.check_min_flow(view, new_conc)
        details = refill_details.refill_details(
            lot=lot, expiry=expiry, second_check_by=second_check_by, wasted_ml=wasted_ml,
            pocket_skin_check=pocket_skin_check, withdrawn_nl=withdrawn_nl,
            pump_time=view.now, dilution=dilution)
    except InvalidInput as exc:
        halt("drug or volume refused", exc, **known)
    out.print(Text(f"{brand} {display(new_conc)} mcg/mL"
                   + ("" if dilution is None else f" (prescribed dilution of "
                      f"{display(dilution.stock_mcg_per_ml)} mcg/mL in {dilution.diluent})")
                   + f", {render.ml(fill.fill_nl)} into a "
                     f"{render.ml(fill.capacity_nl)} reservoir."))

    # 4. Bridge bolus for a change of concentration.
    out.print(Text("Step 4 of 7: concentration change", style="bold"))
    bridge = None
    if new_conc != conc_now:
        if catheter_ml is None and catheter_length_cm is None and not yes:
            catheter_length_cm = ask_value("Implanted catheter length (cm)", None,
                                           flag="--catheter-length-cm")
        bridge = refill_mod.plan_bridge(
            view, new_conc, refill_mod.catheter_ml(catheter_ml, catheter_length_cm))
        out.print(Text(
            f"Concentration changes {display(conc_now)} -> {display(new_conc)} mcg/mL: "
            f"bridge bolus pushes {display(bridge.dead_volume_ml)} mL of old drug "
            f"(pump tubing {display(bridge.pump_tubing_ml)} + catheter "
            f"{display(bridge.catheter_ml)} mL) at {display(bridge.bridge_rate_ml_per_day)} "
            f"mL/day for {display(bridge.bridge_duration_h)} h, keeping "
            f"{display(bridge.old_daily_dose_mcg)} mcg/day; then "
            f"{display(bridge.new_rate_ml_per_day)} mL/day of the new drug."))
    else:
        out.print(Text("Same concentration: no bridge bolus."))

    # 5. Update the pump.
    out.print(Text("Step 5 of 7: update the pump", style="bold"))
    projection = refill_mod.project_after_refill(view, fill.fill_nl, new_conc, view.now, bridge)
    for line in render.projection_lines(projection):
        out.print(Text("If confirmed: " + line))
    try:
        confirm(f"Update pump {view.serial}: withdrawn {render.ml(withdrawn_nl)}, added "
                f"{render.ml(fill.fill_nl)} of {display(new_conc)} mcg/mL"
                + (", with bridge bolus" if bridge else "") + "?", yes)
    except NotConfirmed as exc:
        halt("update not confirmed", exc, **known)
    command = Refill(withdrawn_nl, fill.fill_nl, new_conc, bridge is not None)
    echo: RefillConfirmation | None = None
    try:
        with changing(factory, view, "refill", command, RefillConfirmation) as (client, echo):
            problems = refill_mod.verify_refill_echo(
                withdrawn_nl=withdrawn_nl, added_nl=fill.fill_nl, concentration=new_conc,
                bridge=bridge is not None, echo=echo)
            after = None if problems else read_view(client, serial)
    except DeliveryChecked as checked:
        # A refill the pump's log shows carried out is recorded as done, never as lost.
        if checked.found.delivery is Delivery.NOT_CARRIED_OUT:
            checked.next_step = ("Run the refill again from step 1: the drug is already in the "
                                 "reservoir, so enter the same volumes.")
        halt(f"link lost during the update; {checked.found.delivery} (pump log)", checked,
             "refilled" if checked.found.delivery is Delivery.CARRIED_OUT else
             checked.journal_outcome.replace("not done", "stopped"), **known)
    except (*LINK_LOST, ItbError) as exc:
        if echo is not None:
            raise  # the refill was confirmed; only reading the pump afterwards failed
        halt("pump not reachable for the update" if isinstance(exc, LINK_LOST)
             else "the pump refused the refill or changed", exc, **known)
    if after is None:
        halt("echo mismatch", EchoMismatch(
            "The pump's refill echo differs from what was sent: " + "; ".join(problems) + ".",
            "Interrogate the pump at once and check its reservoir and concentration."),
            **known)

    # 6. New alarm and refill dates (from the refilled pump, through the therapy rules).
    out.print(Text("Step 6 of 7: new alarm and refill dates", style="bold"))
    for line in render.projection_lines(after.projection):
        out.print(Text(line))
    if bridge is not None and echo.bridge_bolus_nl != round(bridge.dead_volume_nl):
        out.print(Text(f"Note: the pump's bridge bolus is {render.ml(echo.bridge_bolus_nl)}, the "
                       f"clinic's dead volume {display(bridge.dead_volume_ml)} mL: check the "
                       "catheter volume stored in the pump (interrogate shows it; "
                       "set-catheter-volume stores the implant record's).", style="yellow"))

    # 7. The refill record.
    plan = after.projection.plan
    record_ = refill_mod.RefillRecord(
        serial=view.serial, pump_time=after.now, outcome="refilled", expected_residual_nl=expected,
        withdrawn_nl=withdrawn_nl, discrepancy_nl=echo.discrepancy_nl, brand=brand,
        concentration_mcg_per_ml=new_conc, previous_concentration_mcg_per_ml=conc_now,
        prescribed_concentration_mcg_per_ml=known["prescribed"], added_nl=fill.fill_nl,
        reservoir_estimate_nl=echo.reservoir_estimate_nl, bridge=bridge,
        pump_bridge_bolus_nl=echo.bridge_bolus_nl if bridge else None,
        bridge_until=echo.bridge_until, low_reservoir_alarm_at=after.projection.
        low_reservoir_alarm_at, refill_by=None if plan is None else plan.refill_by,
        refill_by_reason=None if plan is None else plan.refill_by_reason)
    record(session_file, "refill", after, view.serial, "done",
           f"refilled {render.ml(fill.fill_nl)} of {brand} {display(new_conc)} mcg/mL "
           f"(withdrawn {render.ml(withdrawn_nl)}, expected {render.ml(expected)})",
           {"refill": record_.to_json() | details.to_json()})
    out.print(Text("Step 7 of 7: refill record written to the session journal "
                   f"{session_file}", style="bold green"))


# ---- bolus, stop, resume -----------------------------------------------------------------------


@app.command()
@guarded
def bolus(
    ctx: typer.Context,
    dose: Annotated[str, typer.Option("--dose", help="Bolus dose, mcg.")],
    duration_min: Annotated[str, typer.Option("--duration-min", help="Over how many minutes.")],
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """A clinician single bolus, within the program's maximum bolus and 24-hour limit."""
    dose_mcg = in_range("bolus dose", dose, 0, None, "mcg", low_inclusive=False)
    minutes = in_range("duration_min", duration_min, 1, 1440, "min")
    if (minutes * 60).denominator != 1:
        raise InvalidInput("duration_min", duration_min, "a duration in whole seconds")
    duration_s = int(minutes * 60)
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
        if view.program is None:
            raise InvalidInput("program", "none", "a programmed pump (a bolus needs its limits)")
        limits = view.program.limits
        details = {"dose_mcg": dec(dose_mcg), "duration_s": duration_s}
        if dose_mcg > limits.max_bolus_mcg:
            record(session_file, "bolus", view, view.serial, "refused",
                   f"bolus {display(dose_mcg)} mcg refused: over the maximum bolus", details)
            raise InvalidInput("bolus dose", f"{display(dose_mcg)} mcg",
                               f"more than 0 to {display(limits.max_bolus_mcg)} mcg "
                               "(the program's maximum bolus)")
        daily = view.daily_dose_mcg or Fraction(0)
        volume = dose_mcg * NL_PER_ML / view.concentration_mcg_per_ml
        out.print(Text(f"Bolus {display(dose_mcg)} mcg ({render.ml(volume)} at "
                       f"{display(view.concentration_mcg_per_ml)} mcg/mL) over "
                       f"{display(minutes)} min; with the program's {display(daily)} mcg/day the "
                       f"next 24 h hold about {display(daily + dose_mcg)} mcg (hard limit "
                       f"{display(limits.max_daily_dose_mcg)} mcg)."))
    confirm(f"Give this bolus now on pump {view.serial}?", yes)
    try:
        with changing(factory, view, "bolus", Bolus(dose_mcg, duration_s),
                      BolusConfirmation) as (_client, echo):
            pass
    except CommandRejected as exc:
        record(session_file, "bolus", view, view.serial, "refused",
               f"bolus {display(dose_mcg)} mcg refused by the pump: {exc}", details)
        raise
    except DeliveryChecked as checked:
        record(session_file, "bolus", view, view.serial, checked.journal_outcome,
               f"bolus {display(dose_mcg)} mcg: link lost; {checked.found.delivery}",
               {**details, "command_id": checked.command_id, "error": str(checked)})
        raise
    if echo.dose_mcg != dose_mcg:
        raise EchoMismatch(f"The pump echoed a bolus of {display(echo.dose_mcg)} mcg, not "
                           f"{display(dose_mcg)} mcg.", "Interrogate the pump at once.")
    record(session_file, "bolus", view, view.serial, "done",
           f"bolus {display(dose_mcg)} mcg over {display(minutes)} min, until "
           f"{render.when(echo.ends)}", {**details, "ends": iso(echo.ends)})
    out.print(Text(f"Bolus running: {display(echo.dose_mcg)} mcg "
                   f"({render.ml(echo.volume_nl)}) from {render.when(echo.starts)} to "
                   f"{render.when(echo.ends)}.", style="bold green"))


def change_infusion(factory: WandFactory, view: PumpView, yes: bool, session_file: Path,
                    out: Console, *, kind: str, question: str,
                    command: Stop | Resume, done: str) -> None:
    """Stop or resume: confirm, send in a new session, journal it and show the pump's state."""
    confirm(question, yes)
    try:
        with changing(factory, view, kind, command, InfusionChanged) as (_client, changed):
            pass
    except DeliveryChecked as checked:
        record(session_file, kind, view, view.serial, checked.journal_outcome,
               f"{kind}: link lost; {checked.found.delivery}",
               {"command_id": checked.command_id, "error": str(checked)})
        raise
    record(session_file, kind, view, view.serial, "done",
           f"infusion {done}: {changed.state}", {"state": changed.state, "at": iso(changed.at)})
    out.print(Text(f"Pump {view.serial}: {changed.state} since {render.when(changed.at)}.",
                   style="bold"))


@app.command()
@guarded
def stop(ctx: typer.Context, yes: YesOpt = False, host: HostOpt = DEFAULT_HOST,
         port: PortOpt = DEFAULT_PORT, serial: SerialOpt = None, key_file: KeyOpt = None,
         session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE)) -> None:
    """Stop the infusion (the pump keeps its minimum rate). Beware withdrawal."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
        # Boxed warning [LIO-LABEL via devices.md]: abrupt discontinuation can be fatal.
        out.print(Text("Warning: stopping intrathecal baclofen abruptly can cause withdrawal "
                       "(high fever, altered mental status, rebound spasticity, muscle rigidity;"
                       " it can progress to rhabdomyolysis, organ failure and death). Plan the "
                       "resumption.", style="bold red"))
    change_infusion(factory, view, yes, session_file, out, kind="stop",
                    question=f"Stop the infusion on pump {view.serial}?",
                    command=Stop(), done="stopped")


@app.command()
@guarded
def resume(ctx: typer.Context, yes: YesOpt = False, host: HostOpt = DEFAULT_HOST,
           port: PortOpt = DEFAULT_PORT, serial: SerialOpt = None, key_file: KeyOpt = None,
           session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE)) -> None:
    """Resume the programmed therapy after a stop."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
        out.print(Text(f"Resume: {render.program_line(view.program)}."))
    change_infusion(factory, view, yes, session_file, out, kind="resume",
                    question=f"Resume the program on pump {view.serial}?",
                    command=Resume(), done="resumed")


# ---- alarms, log -------------------------------------------------------------------------------


@app.command()
@guarded
def alarms(
    ctx: typer.Context,
    ack: Annotated[str | None, typer.Option(
        "--ack", help="Acknowledge (silence) one alarm kind, or 'all'.")] = None,
    as_json: JsonOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """List the pump's alarms; --ack KIND silences one kind (--ack all: every sounding one)."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    with session(factory) as client:
        view = read_view(client, serial)
        answer: AlarmAcknowledged | None = None
        if ack is not None:
            known = {a.code for a in view.report.alarms}
            if ack != "all" and ack not in known:
                raise InvalidInput("--ack", ack, "one of the pump's alarms: "
                                   + (", ".join(sorted(known)) or "none raised") + ", or all")
            answer = client.call(AcknowledgeAlarm(None if ack == "all" else ack),
                                 AlarmAcknowledged)
            view = read_view(client, serial)
    if answer is not None:
        record(session_file, "alarm_ack", view, view.serial, "done",
               f"acknowledged {ack}: {answer.silenced} alarm(s) silenced",
               {"kind": ack, "silenced": answer.silenced})
    data = view_to_json(view)["alarms"]
    if as_json:
        typer.echo(json.dumps({"alarms": data, "silenced": None if answer is None
                               else answer.silenced}, indent=2))
        return
    out = console()
    if answer is not None:
        out.print(Text(f"{answer.silenced} sounding alarm(s) silenced; they sound again later "
                       "if the cause remains."))
    out.print(render.alarms_table(view))


def filter_log(entries: tuple[LogEntryInfo, ...], kinds: list[str] | None,
               since: datetime | None, until: datetime | None) -> list[LogEntryInfo]:
    return [e for e in entries
            if (not kinds or e.kind in kinds) and (since is None or e.time >= since)
            and (until is None or e.time <= until)]


@app.command()
@guarded
def log(
    ctx: typer.Context,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="Only entries of this kind (repeatable).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this time (ISO-8601).")
                     ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this time (ISO-8601).")
                     ] = None,
    page_text: Annotated[str, typer.Option("--page", help="Page, 1 = newest.")] = "1",
    page_size_text: Annotated[str, typer.Option("--page-size", help="Entries per page, 1 to "
                                                "500.")] = "20",
    as_json: JsonOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """The pump's event log as a paged table, newest first, filtered by kind and time."""
    page = whole_number("--page", page_text, 1, 10**12, "a page number, 1 or more")
    page_size = whole_number("--page-size", page_size_text, 1, 500, "1 to 500 entries")
    start = None if since is None else parse_instant("--since", since)
    end = None if until is None else parse_instant("--until", until)
    if start is not None and end is not None and end < start:
        raise InvalidInput("--until", until, f"not before --since {since}")
    for name in kind or []:
        # Pump log kinds are snake_case words (program_changed, refill...); an empty or
        # odd --kind would otherwise filter silently to an empty table.
        if not _LOG_KIND.fullmatch(name):
            raise InvalidInput("--kind", repr(name), "a log entry kind such as program_changed")
    factory = wand_factory(ctx, host, port, key_file, serial)
    with session(factory) as client:
        view = read_view(client, serial)
    chosen = list(reversed(filter_log(view.log, kind, start, end)))
    pages = max(1, -(-len(chosen) // page_size))
    if page > pages:
        raise InvalidInput("--page", page, f"1 to {pages} ({len(chosen)} matching entries)")
    shown = chosen[(page - 1) * page_size: page * page_size]
    record(session_file, "log_view", view, view.serial, "done",
           f"event log read: page {page} of {pages}, {len(chosen)} matching entries",
           {"kinds": kind or [], "since": iso(start), "until": iso(end)})
    if as_json:
        typer.echo(json.dumps({
            "page": page, "pages": pages, "matching": len(chosen),
            "overflowed": view.report.log_overflowed,
            "entries": [{"index": e.index, "time": iso(e.time), "kind": e.kind,
                         "details": {d.key: d.value for d in e.details}} for e in shown]},
            indent=2))
        return
    table = Table(title=f"Pump {view.serial} event log, page {page} of {pages} "
                        f"({len(chosen)} matching, newest first)", show_edge=False)
    for column in ("#", "pump time", "kind", "details"):
        table.add_column(column, overflow="fold")
    for entry in shown:
        details = ", ".join(f"{d.key}={d.value}" for d in entry.details)
        table.add_row(str(entry.index), render.when(entry.time), entry.kind,
                      details if len(details) <= 160 else details[:157] + "...")
    out = console()
    out.print(table)
    if kind and not chosen:
        present = sorted({e.kind for e in view.log})
        out.print(Text(f"No entries of kind {', '.join(kind)}; kinds in this pump's log: "
                       f"{', '.join(present) or 'none'}.", style="yellow"))
    if view.report.log_overflowed:
        out.print(Text(f"{view.report.log_overflowed} older entries fell off the pump's log "
                       "ring.", style="yellow"))


# ---- settings ------------------------------------------------------------------------------------


@app.command("set-alarm-volume")
@guarded
def set_alarm_volume(
    ctx: typer.Context,
    ml: Annotated[str, typer.Option("--ml", help="Low-reservoir alarm volume, mL.")],
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """Set the low-reservoir alarm volume (within the model's range), with the new alarm date."""
    volume_nl = ml_to_nl("--ml", ml)
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
        facts = view.facts
        if not facts.low_reservoir_alarm_min_nl <= volume_nl <= facts.low_reservoir_alarm_max_nl:
            raise InvalidInput("--ml", f"{display(Fraction(volume_nl, NL_PER_ML))} mL",
                               f"{render.ml(facts.low_reservoir_alarm_min_nl)} to "
                               f"{render.ml(facts.low_reservoir_alarm_max_nl)} for {facts.name}")
        projection = project_reservoir(
            reservoir_nl=view.reservoir_estimate_nl,
            concentration_mcg_per_ml=view.concentration_mcg_per_ml,
            program=view.schedule if view.schedule is not None else view.daily_dose_mcg,
            alarm_nl=volume_nl, now=view.now, filled_at=view.last_refill_at,
            capacity_nl=view.report.reservoir.capacity_nl,
            **bolus_and_stroke(view.report, facts))
        out.print(Text(f"Alarm volume {render.ml(view.report.reservoir.low_reservoir_alarm_nl)} "
                       f"-> {render.ml(volume_nl)}."))
        for line in render.projection_lines(projection):
            out.print(Text(line))
    confirm(f"Set the alarm volume on pump {view.serial}?", yes)
    with send_session(factory, view, "alarm volume") as client:
        echo = client.set_alarm_volume(volume_nl)
    if echo.low_reservoir_alarm_nl != volume_nl:
        raise EchoMismatch(f"The pump echoed an alarm volume of "
                           f"{render.ml(echo.low_reservoir_alarm_nl)}.",
                           "Interrogate the pump and set the alarm volume again.")
    record(session_file, "alarm_volume", view, view.serial, "done",
           f"low-reservoir alarm volume set to {render.ml(volume_nl)}",
           {"low_reservoir_alarm_ml": to_exact_str(Fraction(volume_nl, NL_PER_ML)),
            "low_reservoir_alarm_at": iso(projection.low_reservoir_alarm_at)})
    out.print(Text(f"Alarm volume set to {render.ml(volume_nl)} and verified.", style="bold green"))


@app.command("set-catheter-volume")
@guarded
def set_catheter_volume(
    ctx: typer.Context,
    ml: Annotated[str, typer.Option("--ml", help="Implanted catheter volume, mL (0 to 1).")],
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """Store the catheter volume in the pump (implant record, after a catheter revision)."""
    volume_nl = catheter_mod.catheter_volume_nl(ml)
    factory = wand_factory(ctx, host, port, key_file, serial)
    with session(factory) as client:
        view = read_view(client, serial)
    console().print(Text(catheter_mod.change_line(view, volume_nl)))
    confirm(f"Store the catheter volume in pump {view.serial}?", yes)
    with send_session(factory, view, "catheter volume") as client:
        echo = client.call(SetCatheterVolume(volume_nl), CatheterVolumeSet)
    if echo.catheter_volume_nl != volume_nl:
        raise EchoMismatch(f"The pump echoed a catheter volume of "
                           f"{render.ml(echo.catheter_volume_nl)}.",
                           "Interrogate the pump and set the catheter volume again.")
    record(session_file, "catheter_volume", view, view.serial, "done",
           f"catheter volume stored: {render.ml(echo.previous_nl)} -> {render.ml(volume_nl)}",
           {"catheter_volume_ml": to_exact_str(Fraction(volume_nl, NL_PER_ML))})
    console().print(Text(f"Catheter volume {render.ml(volume_nl)} stored and verified.",
                         style="bold green"))


@app.command("set-clock")
@guarded
def set_clock(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option("--to", help="New pump time, ISO-8601 with offset.")
                  ] = None,
    host_clock: Annotated[bool, typer.Option(
        "--host-clock", help="Set the pump to this programmer's UTC clock.")] = False,
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """Set the pump's clock (flex programs follow it)."""
    if (to is None) == (not host_clock):
        raise InvalidInput("clock", "both or neither", "exactly one of --to or --host-clock")
    target = parse_instant("--to", to) if to is not None else host_now()
    target = target.replace(microsecond=0)
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
        drift = target - view.now
        out.print(Text(f"Pump clock {render.when(view.now)} -> {render.when(target)} "
                       f"({render.clock_change(drift)})."))
    confirm(f"Set the clock of pump {view.serial}?", yes)
    with send_session(factory, view, "clock setting") as client:
        echo = client.set_clock(target)
    if abs(echo.pump_time - target) > timedelta(seconds=1):
        raise EchoMismatch(f"The pump's clock reads {render.when(echo.pump_time)}, not "
                           f"{render.when(target)}.", "Interrogate the pump and set it again.")
    record(session_file, "clock", view, view.serial, "done",
           f"pump clock set from {iso(echo.previous)} to {iso(echo.pump_time)}",
           {"previous": iso(echo.previous), "pump_time": iso(echo.pump_time)})
    out.print(Text(f"Pump clock set to {render.when(echo.pump_time)} and verified.",
                   style="bold green"))


# ---- report ------------------------------------------------------------------------------------


def require_file_path(flag: str, path: Path) -> None:
    """Refuse an empty path or a directory for an output file before the pump is read, so
    the clinician learns of it at once (an empty --out became Path('.'), which has no name
    to write a .tmp beside)."""
    if not path.name or path.is_dir():
        raise InvalidInput(flag, str(path), "a file path to write", "it names a directory")


def write_whole(flag: str, path: Path, write: Callable[[Path], object]) -> None:
    """Write a file through a .tmp beside it, renamed into place, so no half-written file is
    left under its name; a file system refusal names the option that gave the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise InvalidInput(flag, str(path), "a writable file path", exc.strerror) from None


@app.command()
@guarded
def report(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    pdf_file: Annotated[Path | None, typer.Option(
        "--pdf", help="Also write the report as a PDF.")] = None,
    host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT, serial: SerialOpt = None,
    key_file: KeyOpt = None, session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
    all_sessions: Annotated[bool, typer.Option(
        "--all", help="Every session in the journal (default: the latest visit).")] = False,
) -> None:
    """Write the session report (self-contained HTML, and PDF with --pdf) after a final
    interrogation: the latest session (visit) by default, every session with --all."""
    from itb.programmer.report import render_report, write_pdf

    require_file_path("--out", out_file)
    if pdf_file is not None:
        require_file_path("--pdf", pdf_file)
    journal_mod.require_journal(session_file)
    factory = wand_factory(ctx, host, port, key_file, serial)
    with session(factory) as client:
        view = read_view(client, serial)
    record(session_file, "interrogation", view, view.serial, "done",
           "final interrogation for the session report", {"interrogation": view_to_json(view)})
    entries = journal_mod.Journal(session_file).entries(view.serial)
    if not all_sessions:
        entries = journal_mod.latest_session(entries)
    generated = host_now()
    html = render_report(view, entries, generated_at=generated, session_file=str(session_file))
    write_whole("--out", out_file, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    if pdf_file is not None:
        write_whole("--pdf", pdf_file, lambda tmp: write_pdf(
            view, entries, tmp, generated_at=generated, session_file=str(session_file)))
    typer.echo(str(out_file))
    if pdf_file is not None:
        typer.echo(str(pdf_file))


# The emergency acts live in their own module, which uses the helpers above.
from itb.programmer.emergency_cli import emergency_app  # noqa: E402

app.add_typer(emergency_app, name="emergency")
