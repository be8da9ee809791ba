"""`itb programmer refill`: the refill wizard, step by step; every answer can be a flag."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from itb.programmer import guardrail_check, render
from itb.programmer.cli import shell
from itb.programmer.refill import KNOWN_BRANDS
from itb.programmer.workflows.refill_wizard import DrugAnswers, DrugPut, RefillWizard
from itb.therapy.bridge import BridgeBolus
from itb.therapy.units import NL_PER_ML, display

Opt = typer.Option


def _step(out: Console, number: int, title: str) -> None:
    out.print(Text(f"Step {number} of 7: {title}", style="bold"))


def _drug_line(drug: DrugPut) -> str:
    dilution = drug.dilution
    return (f"{drug.brand} {display(drug.concentration_mcg_per_ml)} mcg/mL"
            + ("" if dilution is None else f" (prescribed dilution of "
               f"{display(dilution.stock_mcg_per_ml)} mcg/mL in {dilution.diluent})")
            + f", {render.ml(drug.fill.fill_nl)} into a {render.ml(drug.fill.capacity_nl)} "
              "reservoir.")


def _bridge_line(wizard: RefillWizard, drug: DrugPut, bridge: BridgeBolus) -> str:
    return (f"Concentration changes {display(wizard.concentration_now)} -> "
            f"{display(drug.concentration_mcg_per_ml)} mcg/mL: "
            f"bridge bolus pushes {display(bridge.dead_volume_ml)} mL of old drug "
            f"(pump tubing {display(bridge.pump_tubing_ml)} + catheter "
            f"{display(bridge.catheter_ml)} mL) at {display(bridge.bridge_rate_ml_per_day)} "
            f"mL/day for {display(bridge.bridge_duration_h)} h, keeping "
            f"{display(bridge.old_daily_dose_mcg)} mcg/day; then "
            f"{display(bridge.new_rate_ml_per_day)} mL/day of the new drug.")


def _first_steps(out: Console, wizard: RefillWizard, yes: bool, withdrawn_ml: str | None
                 ) -> None:
    """Steps 1 and 2: the patient's pump, and the residual withdrawn."""
    view = wizard.view
    report = view.report
    _step(out, 1, "confirm the patient and the pump")
    out.print(Text(f"Pump {view.serial}, {report.model}, implanted "
                   f"{render.when(report.implanted)}; drug {display(wizard.concentration_now)} "
                   f"mcg/mL; reservoir estimate "
                   f"{render.reservoir_estimate(view.reservoir_estimate_nl)}; "
                   f"program {render.program_line(view.program)}."))
    wizard.confirm_pump(shell.agreed(f"Is this the patient's pump (serial {view.serial})?", yes))
    _step(out, 2, "withdraw the residual and compare")
    withdrawn_text = shell.ask_value("Volume withdrawn from the reservoir (mL)", withdrawn_ml,
                                     scripted=yes, flag="--withdrawn-ml")
    residual = wizard.check_residual(withdrawn_text)
    out.print(Text(f"Withdrawn {render.ml(residual.withdrawn_nl)}, expected "
                   f"{render.ml(residual.expected_nl)}: difference "
                   f"{render.signed(Fraction(residual.check.discrepancy_nl, NL_PER_ML))}"
                   f" mL, within {render.ml(residual.check.threshold_nl)}."))


def _drug_answers(wizard: RefillWizard, yes: bool, drug: str | None,
                  concentration: str | None, prescribed: str | None, added_ml: str | None
                  ) -> tuple[str, str, str, str]:
    """Step 3's questions: each asked only when its flag is not given (defaults under --yes):
    (drug, concentration, prescribed concentration, volume added)."""
    conc_now = display(wizard.concentration_now)
    brand = shell.ask_value("Drug (" + " or ".join(KNOWN_BRANDS) + ")", drug, KNOWN_BRANDS[0],
                            scripted=yes, flag="--drug")
    conc_text = shell.ask_value("Concentration (mcg/mL)", concentration, conc_now, scripted=yes,
                                flag="--concentration")
    if prescribed is None and (yes or concentration is not None):
        prescribed = conc_now
    prescribed = shell.ask_value("Prescribed concentration (mcg/mL)", prescribed, conc_now,
                                 scripted=yes, flag="--prescribed-concentration")
    added = shell.ask_value("Volume added to the reservoir (mL)", added_ml, scripted=yes,
                            flag="--added-ml")
    return brand, conc_text, prescribed, added


def _last_steps(out: Console, wizard: RefillWizard, yes: bool, catheter_ml: str | None,
                catheter_length_cm: str | None) -> None:
    """Steps 4 to 7: the bridge bolus, the update, the new dates, the record."""
    view, drug = wizard.view, wizard.drug
    assert drug is not None
    _step(out, 4, "concentration change")
    if wizard.needs_bridge:
        if catheter_ml is None and catheter_length_cm is None and not yes:
            catheter_length_cm = shell.ask_value("Implanted catheter length (cm)", None,
                                                 flag="--catheter-length-cm")
        bridge = wizard.plan_bridge(catheter_ml, catheter_length_cm)
        assert bridge is not None
        out.print(Text(_bridge_line(wizard, drug, bridge)))
    else:
        wizard.plan_bridge(None, None)
        out.print(Text("Same concentration: no bridge bolus."))
    _step(out, 5, "update the pump")
    for line in render.projection_lines(wizard.projection()):
        out.print(Text("If confirmed: " + line))
    assert wizard.residual is not None
    updated = wizard.update(shell.agreed(guardrail_check.question(
        f"Update pump {view.serial}: withdrawn {render.ml(wizard.residual.withdrawn_nl)}, added "
        f"{render.ml(drug.fill.fill_nl)} of {display(drug.concentration_mcg_per_ml)} mcg/mL"
        + (", with bridge bolus" if wizard.bridge else "") + "?", drug.findings), yes))
    _step(out, 6, "new alarm and refill dates")
    for line in render.projection_lines(updated.after.projection):
        out.print(Text(line))
    if wizard.bridge_differs() and wizard.bridge is not None:
        out.print(Text(f"Note: the pump's bridge bolus is "
                       f"{render.ml(updated.echo.bridge_bolus_nl)}, the clinic's dead volume "
                       f"{display(wizard.bridge.dead_volume_ml)} mL: check the catheter volume "
                       "stored in the pump (interrogate shows it; set-catheter-volume stores "
                       "the implant record's).", style="yellow"))
    wizard.write_record()


@shell.pump_command
def refill(
    ctx: typer.Context,
    withdrawn_ml: Annotated[str | None, Opt(
        "--withdrawn-ml", help="Volume actually withdrawn from the reservoir, mL.")] = None,
    drug: Annotated[str | None, Opt("--drug", help="Lioresal Intrathecal or Gablofen.")] = None,
    concentration: Annotated[str | None, Opt(
        "--concentration", help="Concentration put in, mcg/mL.")] = None,
    prescribed_concentration: Annotated[str | None, Opt(
        "--prescribed-concentration",
        help="Prescribed concentration, mcg/mL (default: the pump's present drug).")] = None,
    added_ml: Annotated[str | None, Opt(
        "--added-ml", help="Volume put into the reservoir, mL.")] = None,
    catheter_ml: shell.CatheterMlOpt = None,
    catheter_length_cm: shell.CatheterLengthOpt = None,
    diluted_from: Annotated[str | None, Opt(
        "--diluted-from", help="Prescribed dilution: the marketed stock strength, mcg/mL.")
    ] = None,
    diluent: Annotated[str | None, Opt(
        "--diluent", help="Prescribed dilution: preservative-free 0.9% sodium chloride.")
    ] = None,
    lot: Annotated[str | None, Opt("--lot", help="The drug's lot number.")] = None,
    expiry: Annotated[str | None, Opt(
        "--expiry", help="The drug's expiry date, YYYY-MM-DD (expired drug is refused).")
    ] = None,
    second_check_by: Annotated[str | None, Opt(
        "--second-check-by", help="Who checked the strength and the program (second person).")
    ] = None,
    wasted_ml: Annotated[str | None, Opt(
        "--wasted-ml", help="Volume wasted, mL (default: the withdrawn residual).")] = None,
    pocket_skin_check: Annotated[str | None, Opt(
        "--pocket-skin-check", help="Findings of the pocket and skin check.")] = None,
    override_reason: Annotated[str | None, Opt(
        "--override-reason", help="Clinical reason to go beyond the strength guardrail's "
        "block (recorded).")] = None,
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """The refill wizard, step by step; every answer can be given as a flag."""
    # The pump is read once; the session is closed while the clinician works through the
    # steps (no idle timeout to race); step 5 opens a new one and checks nothing changed.
    wizard = RefillWizard.start(shell.open_visit(ctx, link))
    out = shell.console()
    _first_steps(out, wizard, yes, withdrawn_ml)
    _step(out, 3, "the drug put in")
    answers = DrugAnswers(*_drug_answers(wizard, yes, drug, concentration,
                                         prescribed_concentration, added_ml),
                          diluted_from, diluent, lot, expiry, second_check_by, wasted_ml,
                          pocket_skin_check, override_reason)
    put = wizard.check_drug(answers)
    out.print(Text(_drug_line(put)))
    shell.print_findings(out, put.findings, override_reason)
    _last_steps(out, wizard, yes, catheter_ml, catheter_length_cm)
    out.print(Text("Step 7 of 7: refill record written to the session journal "
                   f"{link.session_file}", style="bold green"))

