"""`itb programmer bolus | stop | resume`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from itb.programmer import guardrail_check, render
from itb.programmer.cli import shell
from itb.programmer.workflows import infusion
from itb.programmer.workflows.infusion import BolusRequest
from itb.telemetry.protocol.commands import InfusionChanged
from itb.therapy.units import display

# Boxed warning [LIO-LABEL via devices.md]: abrupt discontinuation can be fatal.
STOP_WARNING = ("Warning: stopping intrathecal baclofen abruptly can cause withdrawal "
                "(high fever, altered mental status, rebound spasticity, muscle rigidity;"
                " it can progress to rhabdomyolysis, organ failure and death). Plan the "
                "resumption.")


@shell.pump_command
def bolus(
    ctx: typer.Context,
    dose: Annotated[str, typer.Option("--dose", help="Bolus dose, mcg.")],
    duration_min: Annotated[str, typer.Option("--duration-min", help="Over how many minutes.")],
    override_reason: shell.OverrideReasonOpt = None,
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """A clinician single bolus, within the program's maximum bolus and 24-hour limit."""
    request = BolusRequest.parse(dose, duration_min, override_reason)
    visit = shell.open_visit(ctx, link)
    review = infusion.review_bolus(visit, request)
    view = review.view
    out = shell.console()
    out.print(Text(f"Bolus {display(request.dose_mcg)} mcg ({render.ml(review.volume_nl)} at "
                   f"{display(view.concentration_mcg_per_ml)} mcg/mL) over "
                   f"{display(request.minutes)} min; with the program's "
                   f"{display(review.daily_mcg)} mcg/day the next 24 h hold about "
                   f"{display(review.daily_mcg + request.dose_mcg)} mcg (hard limit "
                   f"{display(review.max_daily_mcg)} mcg)."))
    shell.print_findings(out, review.findings, override_reason)
    infusion.check_bolus(visit, review)  # a block is refused before any question
    echo = infusion.give_bolus(visit, review, shell.agreed(guardrail_check.question(
        f"Give this bolus now on pump {view.serial}?", review.findings), yes))
    out.print(Text(f"Bolus running: {display(echo.dose_mcg)} mcg "
                   f"({render.ml(echo.volume_nl)}) from {render.when(echo.starts)} to "
                   f"{render.when(echo.ends)}.", style="bold green"))


def print_infusion(serial: str, changed: InfusionChanged) -> None:
    shell.console().print(Text(f"Pump {serial}: {changed.state} since {render.when(changed.at)}.",
                               style="bold"))


@shell.pump_command
def stop(ctx: typer.Context, yes: shell.YesOpt = False, link: shell.Link = shell.LINK) -> None:
    """Stop the infusion (the pump keeps its minimum rate). Beware withdrawal."""
    visit = shell.open_visit(ctx, link)
    view = visit.read_closed()
    shell.console().print(Text(STOP_WARNING, style="bold red"))
    changed = infusion.stop_infusion(
        visit, view, shell.agreed(f"Stop the infusion on pump {view.serial}?", yes))
    print_infusion(view.serial, changed)


@shell.pump_command
def resume(ctx: typer.Context, yes: shell.YesOpt = False, link: shell.Link = shell.LINK) -> None:
    """Resume the programmed therapy after a stop."""
    visit = shell.open_visit(ctx, link)
    view = visit.read_closed()
    shell.console().print(Text(f"Resume: {render.program_line(view.program)}."))
    changed = infusion.resume_infusion(
        visit, view, shell.agreed(f"Resume the program on pump {view.serial}?", yes))
    print_infusion(view.serial, changed)
