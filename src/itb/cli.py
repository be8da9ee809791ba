"""The `itb` command line: a thin Typer shell over the pure packages.

Each part of the system brings its own command group from its own `cli` module.
This file only gathers them, and loads a group when it is used, not before: the
simulator's plotting and the patient model's numerics cost about a second to import,
which a clinician running `itb calc refill` should not pay.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import typer
from typer.core import _click

import itb
import itb.clihelp  # flags show no value type in --help (issue 9.15)
from itb.cli_errors import RefusingGroup


def _mount_pump() -> typer.Typer:
    from itb.pump.cli import app as pump_app

    pump_app.info.help = _pump_help(pump_app)
    return pump_app


def _pump_help(pump_app: typer.Typer) -> str:
    """`itb --help` names every `pump` subcommand with its first sentence (issue 9.15), so
    a command added by another part (new, serve, ...) is described without editing here."""
    parts = []
    for info in pump_app.registered_commands:
        callback = info.callback
        name = info.name or (callback.__name__.replace("_", "-") if callback else "?")
        doc = (callback.__doc__ or "").strip() if callback else ""
        first = doc.split(". ")[0].split("\n\n")[0].replace("\n", " ").rstrip(".")
        parts.append(f"{name} ({first[:1].lower() + first[1:]})" if first else name)
    return "The implanted pump: " + "; ".join(parts) + "."


def _mount_triage() -> typer.Typer:
    from itb.physiology.cli import triage

    single = typer.Typer()
    single.command("triage")(triage)
    return single


def _module_app(module: str) -> Callable[[], typer.Typer]:
    def mount() -> typer.Typer:
        loaded: typer.Typer = importlib.import_module(module).app
        return loaded

    return mount


# One line per part of the system: the command name and how to load it.
_GROUPS: dict[str, Callable[[], typer.Typer]] = {
    "calc": _module_app("itb.therapy.cli"),
    "clinic": _module_app("itb.clinic.cli"),
    "fleet": _module_app("itb.fleet.cli"),
    "pump": _mount_pump,
    "programmer": _module_app("itb.programmer.cli"),
    "safety": _module_app("itb.safety.cli"),
    "sim": _module_app("itb.sim.cli"),
    "triage": _mount_triage,
}


class _LazyGroups(RefusingGroup):
    """A command group that imports a part of itb only when its command is used.

    Every refusal under it, Typer's usage errors included, comes out in one style:
    `Error: ...` then `Next: ...`, exit status 2 (itb.cli_errors).
    """

    _loaded: dict[str, _click.Command]

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*super().list_commands(ctx), *_GROUPS]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name not in _GROUPS:
            return super().get_command(ctx, cmd_name)
        loaded = self.__dict__.setdefault("_loaded", {})
        if cmd_name not in loaded:
            command = typer.main.get_command(_GROUPS[cmd_name]())
            command.name = cmd_name
            loaded[cmd_name] = command
        return loaded[cmd_name]


app = typer.Typer(
    name="itb",
    cls=_LazyGroups,
    help="itb: an intrathecal baclofen pump system in software. "
    "For simulation, education, research and device-software engineering; "
    "it does not drive a real implanted device.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print itb's version."""
    typer.echo(itb.__version__)


@app.callback()
def main() -> None:
    """itb: an intrathecal baclofen pump system in software (simulation only)."""
