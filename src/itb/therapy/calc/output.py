"""The shell shared by the `itb calc` commands: options, exact numbers and instants from
text, and one way to print (a Rich table or `--json`) after everything is computed."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from itb.cli_errors import refuse_error
from itb.errors import InvalidInput, ItbError
from itb.therapy import catalogue
from itb.therapy.errors import FlexScheduleError
from itb.therapy.flex import FlexSchedule, parse_flex_toml
from itb.therapy.units import display, to_exact_str

DEFAULT_THRESHOLD_ML = to_exact_str(catalogue.DEFAULT_REFILL_DISCREPANCY_THRESHOLD_ML)
DEFAULT_ML_PER_CM = to_exact_str(catalogue.DEFAULT_CATHETER_VOLUME_ML_PER_CM)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON (exact values as strings).")
NOW_OPTION = typer.Option(None, "--now", help="Current time, ISO-8601 with offset (default: now).")
# Options several commands take alike.
CONCENTRATION_OPTION = typer.Option(..., "--concentration", help="mcg/mL")
CURRENT_DOSE_OPTION = typer.Option(..., "--current", help="current daily dose, mcg/day")
FLEX_OPTION = typer.Option(None, "--flex", help="flex schedule TOML file")
MIN_FLOW_OPTION = typer.Option(to_exact_str(catalogue.DEFAULT_PUMP_MIN_FLOW_ML_PER_DAY),
                               "--min-flow-ml-per-day",
                               help="the pump's minimum flow (unconfirmed default)")


def exactly_one(options: dict[str, object], *, both_allowed: str | None = None) -> None:
    """Refuse options given both or neither (both is fine when `both_allowed` says how), in
    the usual field = value / allowed form."""
    given = [name for name, value in options.items() if value is not None]
    if len(given) == 1 or (given and both_allowed):
        return
    allowed = f"one or both of them ({both_allowed})" if both_allowed else "exactly one of them"
    raise InvalidInput(" / ".join(options), "both given" if given else "neither given", allowed)


# What a calc command computes: the JSON data, and the rendering of the same for people.
Computed = tuple[dict[str, Any], Callable[[Console], None]]


def calc_command(function: Callable[..., Computed]) -> Callable[..., None]:
    """An `itb calc` command from a function that computes (data, rendering) from its options:
    the command adds --json and prints one or the other once everything is computed, so a
    refusal prints one sentence and exits 2 with no partial output (`run_and_print`)."""
    signature = inspect.signature(function, eval_str=True)
    params = [*signature.parameters.values(),
              inspect.Parameter("json_output", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=bool, default=JSON_OPTION)]

    @functools.wraps(function)
    def command(*args: Any, json_output: bool = False, **kwargs: Any) -> None:
        run_and_print(json_output, lambda: function(*args, **kwargs))

    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=None)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


def run_and_print(json_output: bool, compute: Callable[[], Computed]) -> None:
    """Compute everything first; then print JSON or the rendering. Refusals exit 2."""
    try:
        data, render = compute()
    except ItbError as exc:
        raise refuse_error(exc) from None
    if json_output:
        typer.echo(json.dumps(data, indent=2))
    else:
        render(Console(highlight=False))


def exact_text(value: Fraction | int) -> str:
    return to_exact_str(value)


def shown(value: Fraction | int, unit: str = "") -> str:
    text = display(value)
    exact_text = to_exact_str(value)
    suffix = f" {unit}" if unit else ""
    return text + suffix if text == exact_text else f"{text}{suffix} (exact {exact_text})"


def instant(field: str, text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)  # the CLI is the I/O layer: it may read the clock
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, text or '""',
                           "an ISO-8601 time such as 2026-03-01T08:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, text, "an ISO-8601 time with a UTC offset or Z",
                           "a time without an offset is ambiguous")
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def read_flex(path: Path) -> FlexSchedule:
    try:
        text = read_text(path)
    except InvalidInput as exc:
        raise FlexScheduleError(str(path), "(file)", exc.value, exc.allowed, exc.reason) from None
    return parse_flex_toml(text, str(path))


def table_of(title: str, rows: list[tuple[str, str]], *, numbers: bool = True
           ) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("what", style="bold")
        table.add_column("value")
        for name, value in rows:
            table.add_row(name, value)
        console.print(table)
        if numbers:
            console.print("Values are exact; where shown rounded, rounding is half-to-even to 3 "
                          "decimals, for display only.", style="dim")
    return render


# --- rate -------------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """The file's UTF-8 text, or one refusal naming the file (unreadable or not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(str(path), "unreadable", "a readable TOML file",
                           exc.strerror) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(str(path), f"not UTF-8 text (byte {exc.start})",
                           "a TOML file in UTF-8") from None
