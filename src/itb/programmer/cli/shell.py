"""The programmer's command-line shell: options, questions, console, and refusals.

Every command takes the wand link options (`Link`, spread into --host, --port, --serial,
--key-file, --session, --clinic and --clinic-token-file by `with_link`), opens a `Visit` with
them (fed to the clinic, if named: `itb.programmer.clinic_feed`), drives a workflow from
`itb.programmer.workflows` and prints its results. Every refusal becomes one sentence and the
next step (`itb.programmer.refusals`) with exit status 2 and no traceback; declining a
confirmation exits 1 and sends nothing.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar, cast

import typer
from rich.console import Console
from rich.text import Text

import itb.clihelp  # noqa: F401  flags show no value type in --help (issue 9.15)
from itb.cli_errors import refuse
from itb.errors import InvalidInput, ItbError, shorten
from itb.programmer import guardrail_check
from itb.programmer.errors import NotConfirmed
from itb.programmer.journal import DEFAULT_SESSION_FILE
from itb.programmer.refusals import explain
from itb.programmer.wand import ConnectionOptions, tcp_factory
from itb.programmer.workflows.visit import Visit
from itb.therapy.guardrails import Finding

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = "7400"  # text: --port is checked by pump_port

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
ClinicOpt = Annotated[str | None, typer.Option(
    "--clinic", envvar="ITB_CLINIC",
    help="The clinic's URL (itb clinic serve): each journal entry is recorded there too.")]
ClinicTokenOpt = Annotated[Path | None, typer.Option(
    "--clinic-token-file", envvar="ITB_CLINIC_TOKEN_FILE",
    help="File holding the clinic API token (itb clinic token create).")]
YesOpt = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation (scripts).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Exact JSON output.")]
# Options more than one command takes, each said once.
OverrideReasonOpt = Annotated[str | None, typer.Option(
    "--override-reason", help="Clinical reason to go beyond a guardrail's block (recorded).")]
CatheterMlOpt = Annotated[str | None, typer.Option(
    "--catheter-ml", help="Implanted catheter volume, mL, from the implant record.")]
CatheterLengthOpt = Annotated[str | None, typer.Option(
    "--catheter-length-cm", help="Implanted catheter length, cm (instead of --catheter-ml).")]

F = TypeVar("F", bound=Callable[..., Any])

# Where a command keeps its connection options, so an error can name host and port.
_OPTIONS_KEY = "itb.programmer.connection"


# ---- the wand link options, shared by every command --------------------------------------------


@dataclass(frozen=True)
class Link:
    """The options every command takes to reach the pump and journal the visit."""

    host: str = DEFAULT_HOST
    port: str = DEFAULT_PORT
    serial: str | None = None
    key_file: Path | None = None
    session_file: Path = Path(DEFAULT_SESSION_FILE)
    clinic: str | None = None
    clinic_token_file: Path | None = None


LINK = Link()  # the default of every command's `link` parameter (--help shows each option's)

_LINK_OPTIONS = (("host", HostOpt), ("port", PortOpt), ("serial", SerialOpt),
                 ("key_file", KeyOpt), ("session_file", SessionOpt), ("clinic", ClinicOpt),
                 ("clinic_token_file", ClinicTokenOpt))


def with_link(function: F) -> F:
    """Spread the command's `link: Link` parameter into the link options (in its place,
    so --help lists them where they were), and gather them back into a `Link` on a call."""
    signature = inspect.signature(function, eval_str=True)
    params: list[inspect.Parameter] = []
    for param in signature.parameters.values():
        if param.name != "link":
            params.append(param)
            continue
        params.extend(inspect.Parameter(name, param.kind, annotation=kind,
                                        default=getattr(LINK, name))
                      for name, kind in _LINK_OPTIONS)
    names = [name for name, _ in _LINK_OPTIONS]

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        link = Link(**{name: kwargs.pop(name) for name in names if name in kwargs})
        return function(*args, link=link, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return cast(F, wrapper)


def pump_command(function: F) -> F:
    """Every command that reaches the pump: its `link` parameter spread into the link options
    (`with_link`), and each refusal one sentence with exit 2 (`guarded`, outermost)."""
    return guarded(with_link(function))


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


def open_visit(ctx: typer.Context, link: Link) -> Visit:
    """The visit: TCP to `itb pump serve`, or the session opener a test put in `ctx.obj`."""
    options = ConnectionOptions(link.host, pump_port(link.port), link.key_file, link.serial)
    ctx.meta[_OPTIONS_KEY] = options
    maker = ctx.obj if callable(ctx.obj) else None
    factory = maker(options) if maker is not None else tcp_factory(options)
    feed = None
    if link.clinic:  # imported only then: httpx adds ~0.3 s to every command's start
        from itb.programmer.clinic_feed import feed_for

        feed = feed_for(link.clinic, link.clinic_token_file, link.session_file,
                        lambda line: typer.echo(line, err=True))
    return Visit(factory, link.session_file, link.serial, recorder=feed)


# ---- refusals ----------------------------------------------------------------------------------


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


# ---- output and questions ----------------------------------------------------------------------


def console() -> Console:
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 110)


def agreed(question: str, yes: bool) -> bool:
    """The clinician's yes or no (--yes: yes without asking; no answer: no)."""
    if yes:
        return True
    try:
        return bool(typer.confirm(question, default=False))
    except (typer.Abort, EOFError):
        typer.echo()  # end the prompt's line: the error goes on a line of its own (9.15)
        return False


def print_findings(out: Console, findings: Iterable[Finding],
                   override_reason: str | None = None) -> None:
    """The guardrails' blocks and warnings (issue 14), before the question that confirms them."""
    for line in guardrail_check.lines(findings, override_reason):
        out.print(Text(line, style="bold red" if line.startswith("BLOCK") else "bold yellow"))


def confirm(question: str, yes: bool) -> None:
    """Ask; a no (or no answer) raises NotConfirmed, so nothing is sent."""
    if not agreed(question, yes):
        raise NotConfirmed("Not confirmed: nothing was sent to the pump.",
                           "Run the command again when ready.")


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


# ---- option values -----------------------------------------------------------------------------


def host_now() -> datetime:
    return datetime.now(UTC)


def parse_instant(field: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, text, "an ISO-8601 time with a UTC offset, "
                           "such as 2026-03-01T08:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, text, "a time with a UTC offset or Z")
    return moment.astimezone(UTC)


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
