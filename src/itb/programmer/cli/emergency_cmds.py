"""`itb programmer emergency ...`: overdose, withdrawal and a catheter access port bolus.

A thin shell over the pure plans in `itb.programmer.emergency` and the acts in
`itb.programmer.workflows.emergency_acts` (the pump's existing acts: stop, resume).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated

import typer
from rich.text import Text

from itb.programmer import emergency as plans
from itb.programmer.cli import shell
from itb.programmer.cli.infusion_cmds import print_infusion
from itb.programmer.refill import catheter_ml as catheter_volume_ml
from itb.programmer.workflows import emergency_acts
from itb.programmer.workflows.infusion import is_stopped
from itb.therapy.units import NL_PER_ML, display, ml_to_nl

emergency_app = typer.Typer(help="Emergency acts: overdose (stop and empty the reservoir), "
                            "withdrawal (restore the previous dose), a catheter access port "
                            "bolus (aspirate the dead volume first).", no_args_is_help=True)


def _print_steps(lines: tuple[str, ...], alarm_word: str) -> None:
    out = shell.console()
    for line in lines:
        out.print(Text(line, style="bold red" if line.startswith(alarm_word) else ""))


@emergency_app.command()
@shell.pump_command
def overdose(
    ctx: typer.Context,
    withdrawn_ml: Annotated[str, typer.Option(
        "--withdrawn-ml", help="Volume withdrawn when emptying the reservoir, mL.")],
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """Stop the infusion and tell the pump its reservoir was emptied (nothing added)."""
    visit = shell.open_visit(ctx, link)
    view = visit.read_closed()
    withdrawn_nl = ml_to_nl("withdrawn_ml", withdrawn_ml)
    _print_steps(plans.overdose_steps(view), "Overdose")
    withdrawn = display(Fraction(withdrawn_nl, NL_PER_ML))
    state, estimate_nl = emergency_acts.overdose(visit, view, withdrawn_nl, shell.agreed(
        f"Stop pump {view.serial} and tell it the reservoir was emptied ({withdrawn} mL "
        "withdrawn)?", yes))
    out = shell.console()
    out.print(Text(f"Pump {view.serial}: {state}; reservoir emptied ({withdrawn} mL "
                   "withdrawn), recorded in the session journal.", style="bold"))
    out.print(Text(f"The pump now counts {display(Fraction(estimate_nl, NL_PER_ML))} mL in its "
                   "reservoir, so its empty alarm sounds until the next refill. Plan the "
                   "restart lower, then titrate again.", style="yellow"))


@emergency_app.command()
@shell.pump_command
def withdrawal(ctx: typer.Context, yes: shell.YesOpt = False,
               link: shell.Link = shell.LINK) -> None:
    """Restore intrathecal baclofen at the previous dose (resume a stopped pump)."""
    visit = shell.open_visit(ctx, link)
    view = visit.read_closed()
    stopped = is_stopped(view.report.infusion.state)
    _print_steps(plans.withdrawal_steps(view, stopped), "Withdrawal")
    if not stopped:
        emergency_acts.withdrawal_running(visit, view)
        return
    changed = emergency_acts.withdrawal_resume(
        visit, view, shell.agreed(f"Resume the previous dose on pump {view.serial}?", yes))
    print_infusion(view.serial, changed)


@emergency_app.command("cap-bolus")
@shell.pump_command
def cap_bolus(
    ctx: typer.Context,
    dose: Annotated[str, typer.Option("--dose", help="Intrathecal bolus, mcg (at most 100).")],
    syringe_concentration: Annotated[str, typer.Option(
        "--syringe-concentration", help="Strength in the syringe, mcg/mL.")] = "50",
    catheter_ml: shell.CatheterMlOpt = None,
    catheter_length_cm: shell.CatheterLengthOpt = None,
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """A bolus through the catheter access port: aspirate the dead volume, then inject."""
    visit = shell.open_visit(ctx, link)
    view = visit.read_closed()
    plan = plans.cap_bolus_plan(view, dose_mcg=dose, syringe_mcg_per_ml=syringe_concentration,
                                catheter_ml=catheter_volume_ml(catheter_ml, catheter_length_cm))
    out = shell.console()
    for line in plan.steps():
        out.print(Text(line))
    shell.confirm(f"Aspirated at least {display(plan.aspirate_ml)} mL and discarded it?", yes)
    shell.confirm(f"Injected {display(plan.dose_mcg)} mcg ({display(plan.inject_ml)} mL)?", yes)
    emergency_acts.cap_bolus(visit, view, plan, aspirated=True, injected=True)
    out.print(Text("Recorded. Observe breathing, consciousness and tone.", style="bold"))
