"""`itb programmer program`: preview a new program, check it, confirm, send and verify."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from itb.errors import InvalidInput
from itb.programmer import guardrail_check, render
from itb.programmer.cli import shell
from itb.programmer.programming import patient_facts
from itb.programmer.workflows.program_change import (
    ProgramChange,
    ProgramRequest,
    ProgramReview,
    read_flex_file,
)
from itb.therapy.units import in_range


def _request(origin: str | None, age_years: str | None, phase: str, pediatric_rule: str,
             daily_dose: str | None, flex: Path | None, max_daily_dose: str | None,
             max_bolus: str | None) -> ProgramRequest:
    """The options read into a request, in the order the clinician's mistakes are reported."""
    if origin is None or age_years is None:
        raise InvalidInput("patient facts", "not given",
                           "--origin spinal|cerebral and --age-years N",
                           "the titration check needs the patient's spasticity origin and age")
    patient = patient_facts(origin, age_years, phase, pediatric_rule)
    dose = None if daily_dose is None else in_range("daily dose", daily_dose, 0, None, "mcg/day",
                                                    low_inclusive=False)
    schedule = None if flex is None else read_flex_file(flex)
    limit_daily = None if max_daily_dose is None else in_range(
        "max daily dose", max_daily_dose, 0, None, "mcg", low_inclusive=False)
    limit_bolus = None if max_bolus is None else in_range(
        "max bolus", max_bolus, 0, None, "mcg", low_inclusive=False)
    return ProgramRequest(patient, dose, schedule, limit_daily, limit_bolus)


def _answers(review: ProgramReview, confirm_large_decrease: bool, yes: bool) -> tuple[bool, bool]:
    """(send confirmed, large decrease confirmed). A cut beyond the labeled decrease step is
    confirmed on its own: --yes alone is not enough (it answers routine questions), the flag
    or an answer to this question is."""
    large_ok, confirmed = confirm_large_decrease, True
    if review.large_decrease and not large_ok and not yes:
        large_ok = confirmed = shell.agreed(
            "This large decrease can bring on withdrawal. Confirm the large decrease?", False)
    if confirmed:
        confirmed = shell.agreed(guardrail_check.question(
            f"Send this program to pump {review.view.serial}?", review.findings), yes)
    return confirmed, large_ok


@shell.pump_command
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
    yes: shell.YesOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """Preview a new dose or flex schedule, check it, confirm, send it and verify the echo."""
    request = _request(origin, age_years, phase, pediatric_rule, daily_dose, flex,
                       max_daily_dose, max_bolus)
    request = replace(request, override_reason=override_reason, response=response,
                      catheter_checked=catheter_checked,
                      cancel_bridge_reason=cancel_bridge_reason)
    change = ProgramChange(shell.open_visit(ctx, link), request)
    review = change.review()
    out = shell.console()
    out.print(render.preview(review.preview))
    shell.print_findings(out, review.findings, override_reason)
    change.check(review)
    confirmed, large_ok = _answers(review, confirm_large_decrease, yes)
    sent = change.send(review, confirmed=confirmed, large_decrease_confirmed=large_ok)
    out.print(Text(f"Program sent and verified: the pump's echo and a fresh interrogation show "
                   f"the new program in force since {render.when(sent.echo.effective)}.",
                   style="bold green"))
