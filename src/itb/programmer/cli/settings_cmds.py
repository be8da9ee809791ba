"""`itb programmer set-alarm-volume | set-catheter-volume | set-clock`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from itb.errors import InvalidInput
from itb.programmer import catheter, guardrail_check, render
from itb.programmer.cli import shell
from itb.programmer.workflows import settings
from itb.therapy.units import ml_to_nl


@shell.pump_command
def set_alarm_volume(
    ctx: typer.Context,
    ml: Annotated[str, typer.Option("--ml", help="Low-reservoir alarm volume, mL.")],
    override_reason: shell.OverrideReasonOpt = None,
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """Set the low-reservoir alarm volume (within the model's range), with the new alarm date."""
    volume_nl = ml_to_nl("--ml", ml)
    visit = shell.open_visit(ctx, link)
    review = settings.review_alarm_volume(visit, volume_nl, override_reason)
    view = review.view
    out = shell.console()
    out.print(Text(f"Alarm volume {render.ml(view.report.reservoir.low_reservoir_alarm_nl)} "
                   f"-> {render.ml(volume_nl)}."))
    for line in render.projection_lines(review.projection):
        out.print(Text(line))
    shell.print_findings(out, review.findings, override_reason)
    settings.check_alarm_volume(visit, review)  # a block is refused before any question
    settings.set_alarm_volume(visit, review, shell.agreed(guardrail_check.question(
        f"Set the alarm volume on pump {view.serial}?", review.findings), yes))
    out.print(Text(f"Alarm volume set to {render.ml(volume_nl)} and verified.", style="bold green"))


@shell.pump_command
def set_catheter_volume(
    ctx: typer.Context,
    ml: Annotated[str, typer.Option("--ml", help="Implanted catheter volume, mL (0 to 1).")],
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """Store the catheter volume in the pump (implant record, after a catheter revision)."""
    volume_nl = catheter.catheter_volume_nl(ml)
    visit = shell.open_visit(ctx, link)
    view = visit.read_closed()
    shell.console().print(Text(catheter.change_line(view, volume_nl)))
    agreed = shell.agreed(f"Store the catheter volume in pump {view.serial}?", yes)
    settings.set_catheter_volume(visit, view, volume_nl, agreed)
    shell.console().print(Text(f"Catheter volume {render.ml(volume_nl)} stored and verified.",
                               style="bold green"))


@shell.pump_command
def set_clock(
    ctx: typer.Context,
    to: Annotated[str | None, typer.Option("--to", help="New pump time, ISO-8601 with offset.")
                  ] = None,
    host_clock: Annotated[bool, typer.Option(
        "--host-clock", help="Set the pump to this programmer's UTC clock.")] = False,
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """Set the pump's clock (flex programs follow it)."""
    if (to is None) == (not host_clock):
        raise InvalidInput("clock", "both or neither", "exactly one of --to or --host-clock")
    target = shell.parse_instant("--to", to) if to is not None else shell.host_now()
    target = target.replace(microsecond=0)
    visit = shell.open_visit(ctx, link)
    view = visit.read_closed()
    out = shell.console()
    out.print(Text(f"Pump clock {render.when(view.now)} -> {render.when(target)} "
                   f"({render.clock_change(target - view.now)})."))
    echo = settings.set_clock(visit, view, target,
                              shell.agreed(f"Set the clock of pump {view.serial}?", yes))
    out.print(Text(f"Pump clock set to {render.when(echo.pump_time)} and verified.",
                   style="bold green"))
