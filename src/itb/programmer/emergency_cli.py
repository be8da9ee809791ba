"""`itb programmer emergency ...`: overdose, withdrawal and a catheter access port bolus.

A thin shell over the pure plans in `itb.programmer.emergency`; it uses the programmer's
own session, confirmation and journal helpers, and the pump's existing acts (stop, resume,
refill with nothing added to record an emptied reservoir).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from itb.programmer import emergency as plans
from itb.programmer import journal as journal_mod
from itb.programmer import refill as refill_mod
from itb.programmer.cli import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    HostOpt,
    KeyOpt,
    PortOpt,
    SerialOpt,
    SessionOpt,
    YesOpt,
    change_infusion,
    confirm,
    console,
    guarded,
    read_view,
    record,
    session,
    wand_factory,
)
from itb.programmer.wand import changing
from itb.telemetry.protocol.commands import InfusionChanged, Resume, Stop
from itb.therapy.units import NL_PER_ML, display, ml_to_nl

emergency_app = typer.Typer(help="Emergency acts: overdose (stop and empty the reservoir), "
                            "withdrawal (restore the previous dose), a catheter access port "
                            "bolus (aspirate the dead volume first).", no_args_is_help=True)


def _stopped(state: str) -> bool:
    return state.startswith("minimum_rate")


@emergency_app.command()
@guarded
def overdose(
    ctx: typer.Context,
    withdrawn_ml: Annotated[str, typer.Option(
        "--withdrawn-ml", help="Volume withdrawn when emptying the reservoir, mL.")],
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """Stop the infusion and record the reservoir emptied (nothing added)."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
    withdrawn_nl = ml_to_nl("withdrawn_ml", withdrawn_ml)
    for line in plans.overdose_steps(view):
        out.print(Text(line, style="bold red" if line.startswith("Overdose") else ""))
    withdrawn = display(Fraction(withdrawn_nl, NL_PER_ML))
    confirm(f"Stop pump {view.serial} and record the reservoir emptied ({withdrawn} mL "
            "withdrawn)?", yes)
    state = view.report.infusion.state
    if not _stopped(state):
        # A therapy change like any other: sent once with a command id (issue 14).
        with changing(factory, view, "emergency stop", Stop(), InfusionChanged) as (_c, done):
            state = done.state
    # The wand protocol's refill needs a volume added, so the firmware cannot be told the
    # reservoir is empty: its estimate stays until the next refill, which must account for it.
    estimate = display(Fraction(view.reservoir_estimate_nl, NL_PER_ML))
    record(session_file, "emergency", view, view.serial, "done",
           f"overdose: infusion stopped, reservoir emptied ({withdrawn} mL withdrawn)",
           {"act": "overdose", "withdrawn_ml": withdrawn, "state": state,
            "pump_estimate_ml": estimate})
    out.print(Text(f"Pump {view.serial}: {state}; reservoir emptied ({withdrawn} mL "
                   "withdrawn) and recorded in the session journal.", style="bold"))
    out.print(Text(f"The pump still counts {estimate} mL in its reservoir (it cannot be "
                   "told it is empty): at the next refill, withdraw nothing and expect this "
                   "discrepancy. Plan the restart lower, then titrate again.", style="yellow"))


@emergency_app.command()
@guarded
def withdrawal(
    ctx: typer.Context, yes: YesOpt = False, host: HostOpt = DEFAULT_HOST,
    port: PortOpt = DEFAULT_PORT, serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """Restore intrathecal baclofen at the previous dose (resume a stopped pump)."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
    stopped = _stopped(view.report.infusion.state)
    for line in plans.withdrawal_steps(view, stopped):
        out.print(Text(line, style="bold red" if line.startswith("Withdrawal") else ""))
    if not stopped:
        record(session_file, "emergency", view, view.serial, "done",
               "withdrawal: pump running its program; catheter check and intrathecal bolus "
               "advised", {"act": "withdrawal", "resumed": False})
        return
    change_infusion(factory, view, yes, session_file, out, kind="emergency",
                    question=f"Resume the previous dose on pump {view.serial}?",
                    command=Resume(), done="resumed (withdrawal)")


@emergency_app.command("cap-bolus")
@guarded
def cap_bolus(
    ctx: typer.Context,
    dose: Annotated[str, typer.Option("--dose", help="Intrathecal bolus, mcg (at most 100).")],
    syringe_concentration: Annotated[str, typer.Option(
        "--syringe-concentration", help="Strength in the syringe, mcg/mL.")] = "50",
    catheter_ml: Annotated[str | None, typer.Option(
        "--catheter-ml", help="Implanted catheter volume, mL.")] = None,
    catheter_length_cm: Annotated[str | None, typer.Option(
        "--catheter-length-cm", help="Implanted catheter length, cm.")] = None,
    yes: YesOpt = False, host: HostOpt = DEFAULT_HOST, port: PortOpt = DEFAULT_PORT,
    serial: SerialOpt = None, key_file: KeyOpt = None,
    session_file: SessionOpt = Path(journal_mod.DEFAULT_SESSION_FILE),
) -> None:
    """A bolus through the catheter access port: aspirate the dead volume, then inject."""
    factory = wand_factory(ctx, host, port, key_file, serial)
    out = console()
    with session(factory) as client:
        view = read_view(client, serial)
    plan = plans.cap_bolus_plan(view, dose_mcg=dose, syringe_mcg_per_ml=syringe_concentration,
                                catheter_ml=refill_mod.catheter_ml(catheter_ml,
                                                                   catheter_length_cm))
    for line in plan.steps():
        out.print(Text(line))
    confirm(f"Aspirated at least {display(plan.aspirate_ml)} mL and discarded it?", yes)
    confirm(f"Injected {display(plan.dose_mcg)} mcg ({display(plan.inject_ml)} mL)?", yes)
    record(session_file, "emergency", view, view.serial, "done",
           f"catheter access port bolus {display(plan.dose_mcg)} mcg after aspirating "
           f"{display(plan.aspirate_ml)} mL", {
               "act": "cap-bolus", "dose_mcg": display(plan.dose_mcg),
               "inject_ml": display(plan.inject_ml), "aspirated_ml": display(plan.aspirate_ml)})
    out.print(Text("Recorded. Observe breathing, consciousness and tone.", style="bold"))
