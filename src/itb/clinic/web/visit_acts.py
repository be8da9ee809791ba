"""The acts of a visit in the browser, on the programmer's workflow library.

Each function takes the held `WebVisit` and the answer of one step (text, as the form sent
it), drives one workflow step and returns what to show (`Said`). It never raises: every
refusal is worded by the programmer's one table (`itb.programmer.refusals.explain`) into the
same sentence and next step the command line prints; a link lost during a therapy change
says what the pump's log showed (`itb.programmer.delivery`: carried out / not carried out /
unknown). No clinical rule is made here.

A reviewed program, a reviewed bolus and a read for a stop or resume are used for one send
only: after any attempt they are dropped, so nothing is ever sent twice from a stale page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType

from itb.cli_errors import _sentence
from itb.clinic.web.visit_state import Refill, WebVisit
from itb.errors import InvalidInput, ItbError, shorten
from itb.programmer import guardrail_check, render
from itb.programmer.cli.infusion_cmds import STOP_WARNING
from itb.programmer.cli.shell import pump_port
from itb.programmer.delivery import DeliveryChecked
from itb.programmer.programming import patient_facts
from itb.programmer.refusals import explain
from itb.programmer.view import view_to_json
from itb.programmer.wand import ConnectionOptions
from itb.programmer.workflows import infusion, reading
from itb.programmer.workflows.infusion import BolusRequest
from itb.programmer.workflows.program_change import ProgramChange, ProgramRequest
from itb.programmer.workflows.refill_wizard import DrugAnswers, RefillWizard
from itb.therapy.units import display, in_range

UNEXPECTED_NEXT = "Interrogate the pump to check its state, and report this fault."


@dataclass(frozen=True)
class Said:
    """What the page shows after an act: a done line, or a refusal's two sentences."""

    ok: bool
    text: str
    next_step: str | None = None
    lines: tuple[str, ...] = ()  # further lines (dates, notes), shown under the text
    delivery: str | None = None  # after a lost link: what the pump's log showed


def refused(exc: BaseException, options: ConnectionOptions | None) -> Said:
    """A refusal in the programmer's words (the command line's `Error:` and `Next:`)."""
    sentence, next_step = explain(exc, options)
    delivery = exc.found.delivery.value if isinstance(exc, DeliveryChecked) else None
    return Said(False, _sentence(sentence), _sentence(next_step), delivery=delivery)


def attempt(web: WebVisit, act: Callable[[], Said], lines: list[str] | None = None) -> Said:
    """Run one act; a refusal becomes its sentence, a fault the CLI's fault sentence.
    `lines` the act filled in before it was refused (the guardrails' findings) are kept."""
    try:
        return act()
    except (ItbError, OSError) as exc:
        said = refused(exc, web.options)
        return replace(said, lines=tuple(lines)) if lines else said
    except Exception as exc:  # a programmer bug still ends in a sentence, never a 500
        return Said(False, _sentence(f"the programmer failed unexpectedly "
                                     f"({type(exc).__name__}: {shorten(exc)})"), UNEXPECTED_NEXT)


def as_text(renderable: RenderableType) -> str:
    """A Rich rendering of the programmer as plain text (the CLI's words, no colours)."""
    console = Console(record=True, width=104, color_system=None, file=_Null())
    console.print(renderable)
    return console.export_text()


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        return None


def connection(host: str | None, port: int | None, key_file: str | None,
               serial: str) -> ConnectionOptions:
    """Where the implant's pump is served, as the programmer's connection options."""
    if port is None:
        raise InvalidInput("pump_port", "none", "the port where this implant's pump is served "
                           "(itb pump serve), 1 to 65535")
    return ConnectionOptions(host or "127.0.0.1", pump_port(str(port)),
                             None if not key_file else Path(key_file), serial)


def blank(text: str | None) -> str | None:
    """A form field left empty is an answer not given."""
    return None if text is None or not text.strip() else text.strip()


# ---- reading -----------------------------------------------------------------------------------


def interrogate(web: WebVisit) -> Said:
    def act() -> Said:
        web.view = reading.interrogate(web.visit).view
        return Said(True, f"Pump {web.view.serial} interrogated.")
    return attempt(web, act)


def acknowledge(web: WebVisit, kind: str) -> Said:
    def act() -> Said:
        result = reading.alarms(web.visit, kind)
        web.view = result.view
        return Said(True, f"{result.silenced} sounding alarm(s) silenced; they sound again "
                    "later if the cause remains.")
    return attempt(web, act)


def report_html(web: WebVisit) -> tuple[str | None, Said | None]:
    """The session report of this visit (a final interrogation first, as the CLI's)."""
    from itb.programmer.report import render_report  # matplotlib: loaded when asked for

    holder: list[str] = []

    def act() -> Said:
        data = reading.report_data(web.visit)
        web.view = data.view
        holder.append(render_report(data.view, data.entries, generated_at=data.generated_at,
                                    session_file=web.visit.journal.name))
        return Said(True, "report")
    said = attempt(web, act)
    return (holder[0], None) if holder else (None, said)


# ---- the refill wizard -------------------------------------------------------------------------


def refill_start(web: WebVisit) -> Said:
    def act() -> Said:
        web.refill = Refill(RefillWizard.start(web.visit))
        web.view = web.refill.wizard.view
        return Said(True, "Step 1 of 7: confirm the patient and the pump.")
    return attempt(web, act)


def refill_confirm(refill: Refill, web: WebVisit, confirmed: bool) -> Said:
    def act() -> Said:
        refill.wizard.confirm_pump(confirmed)
        refill.pump_confirmed = True
        return Said(True, f"Pump {refill.wizard.view.serial} confirmed.")
    return attempt(web, act)


def refill_residual(refill: Refill, web: WebVisit, withdrawn_ml: str) -> Said:
    def act() -> Said:
        residual = refill.wizard.check_residual(withdrawn_ml.strip())
        return Said(True, f"Withdrawn {render.ml(residual.withdrawn_nl)}, expected "
                    f"{render.ml(residual.expected_nl)}: difference "
                    f"{render.signed(Fraction(residual.check.discrepancy_nl, 1_000_000))} mL, "
                    f"within {render.ml(residual.check.threshold_nl)}.")
    return attempt(web, act)


def refill_drug(refill: Refill, web: WebVisit, answers: DrugAnswers) -> Said:
    def act() -> Said:
        wizard = refill.wizard
        drug = wizard.check_drug(answers)
        if not wizard.needs_bridge:
            wizard.plan_bridge(None, None)
            refill.bridge_planned = True
        dilution = drug.dilution
        findings = guardrail_check.lines(drug.findings, drug.override_reason)
        return Said(True, f"{drug.brand} {display(drug.concentration_mcg_per_ml)} mcg/mL"
                    + ("" if dilution is None else f" (prescribed dilution of "
                       f"{display(dilution.stock_mcg_per_ml)} mcg/mL in {dilution.diluent})")
                    + f", {render.ml(drug.fill.fill_nl)} into a "
                      f"{render.ml(drug.fill.capacity_nl)} reservoir.",
                    lines=(*findings, *(() if wizard.needs_bridge
                                        else ("Same concentration: no bridge bolus.",))))
    return attempt(web, act)


def bridge_line(wizard: RefillWizard) -> str:
    drug, bridge = wizard.drug, wizard.bridge
    if drug is None or bridge is None:
        return "Same concentration: no bridge bolus."
    return (f"Concentration changes {display(wizard.concentration_now)} -> "
            f"{display(drug.concentration_mcg_per_ml)} mcg/mL: bridge bolus pushes "
            f"{display(bridge.dead_volume_ml)} mL of old drug (pump tubing "
            f"{display(bridge.pump_tubing_ml)} + catheter {display(bridge.catheter_ml)} mL) at "
            f"{display(bridge.bridge_rate_ml_per_day)} mL/day for "
            f"{display(bridge.bridge_duration_h)} h, keeping "
            f"{display(bridge.old_daily_dose_mcg)} mcg/day; then "
            f"{display(bridge.new_rate_ml_per_day)} mL/day of the new drug.")


def refill_bridge(refill: Refill, web: WebVisit, catheter_ml: str | None,
                  catheter_length_cm: str | None) -> Said:
    def act() -> Said:
        refill.wizard.plan_bridge(blank(catheter_ml), blank(catheter_length_cm))
        refill.bridge_planned = True
        return Said(True, bridge_line(refill.wizard))
    return attempt(web, act)


def refill_update(refill: Refill, web: WebVisit, confirmed: bool) -> Said:
    """Step 5 (sent once: whatever happens the update is never offered again), then steps 6
    and 7: the new dates from the refilled pump's interrogation, the refill record, and that
    interrogation recorded (the clinic's new alarm date)."""
    wizard = refill.wizard

    def act() -> Said:
        try:
            updated = wizard.update(confirmed)
        except BaseException:
            refill.closed = True
            raise
        after = updated.after
        web.view = after
        lines = list(render.projection_lines(after.projection))
        if wizard.bridge_differs() and wizard.bridge is not None:
            lines.append(f"Note: the pump's bridge bolus is "
                         f"{render.ml(updated.echo.bridge_bolus_nl)}, the clinic's dead volume "
                         f"{display(wizard.bridge.dead_volume_ml)} mL: check the catheter volume "
                         "stored in the pump (interrogate shows it; set-catheter-volume stores "
                         "the implant record's).")
        wizard.write_record()  # with the refilled pump's reading: the clinic's new dates
        refill.recorded = True
        return Said(True, "Step 7 of 7: refill record written to the session journal and the "
                    "clinic's record.", lines=tuple(lines))
    return attempt(web, act)


# ---- a program change --------------------------------------------------------------------------


def age_years(born: date, today: date) -> str:
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return str(max(years, 0))


def program_request(form: dict[str, str], origin: str, born: date, today: date
                    ) -> ProgramRequest:
    """The form read as the CLI reads its options (the same fields, ranges and sentences);
    the patient's origin and age come from the clinic's record."""
    facts = patient_facts(origin, age_years(born, today), form.get("phase") or "titration",
                          form.get("pediatric_rule") or "5-15")
    dose_text = blank(form.get("daily_dose"))
    if dose_text is None:
        raise InvalidInput("daily dose", "not given", "a new daily dose in mcg/day")
    dose = in_range("daily dose", dose_text, 0, None, "mcg/day", low_inclusive=False)
    limit_text, bolus_text = blank(form.get("max_daily_dose")), blank(form.get("max_bolus"))
    return ProgramRequest(
        facts, dose, None,
        None if limit_text is None else in_range("max daily dose", limit_text, 0, None, "mcg",
                                                 low_inclusive=False),
        None if bolus_text is None else in_range("max bolus", bolus_text, 0, None, "mcg",
                                                 low_inclusive=False),
        override_reason=blank(form.get("override_reason")),
        response=blank(form.get("response")),
        catheter_checked=blank(form.get("catheter_checked")),
        cancel_bridge_reason=blank(form.get("cancel_bridge_reason")))


def program_review(web: WebVisit, form: dict[str, str], origin: str, born: date,
                   today: date) -> tuple[Said, str | None]:
    """Review (the pump's own dry run included) and check; returns the preview's text too."""
    web.program = web.program_review = None
    preview: list[str] = []

    def act() -> Said:
        request = program_request(form, origin, born, today)
        change = ProgramChange(web.visit, request)
        review = change.review()
        web.view = review.view
        findings = guardrail_check.lines(review.findings, request.override_reason)
        preview.append("\n".join([as_text(render.preview(review.preview)).rstrip(),
                                   *findings]))
        change.check(review)  # a refusal (journaled once) leaves nothing to send
        web.program, web.program_review = change, review
        return Said(True, "The program passed the titration check and the pump's own check; "
                    "confirm to send it.")
    said = attempt(web, act)
    return said, (preview[0] if preview else None)


def program_send(web: WebVisit, confirmed: bool, large_decrease_confirmed: bool) -> Said:
    change, review = web.program, web.program_review
    web.program = web.program_review = None  # one send per review, whatever happens

    def act() -> Said:
        if change is None or review is None:
            raise InvalidInput("program", "no reviewed program", "a program reviewed on this "
                               "visit (review it again)")
        sent = change.send(review, confirmed=confirmed,
                           large_decrease_confirmed=large_decrease_confirmed)
        return Said(True, f"Program sent and verified: the pump's echo and a fresh interrogation "
                    f"show the new program in force since {render.when(sent.echo.effective)}.")
    return attempt(web, act)


# ---- bolus, stop and resume --------------------------------------------------------------------


def bolus_review(web: WebVisit, dose: str, minutes: str, override_reason: str | None = None
                 ) -> Said:
    """Review a bolus; the guardrails' findings are listed, and a block without an override
    reason is refused (journaled) before any confirmation is offered."""
    web.bolus = None
    findings: list[str] = []

    def act() -> Said:
        request = BolusRequest.parse(dose.strip(), minutes.strip(), blank(override_reason))
        review = infusion.review_bolus(web.visit, request)
        web.view = review.view
        findings.extend(guardrail_check.lines(review.findings, request.override_reason))
        infusion.check_bolus(web.visit, review)
        web.bolus = review
        view = review.view
        return Said(True, f"Bolus {display(request.dose_mcg)} mcg ({render.ml(review.volume_nl)} "
                    f"at {display(view.concentration_mcg_per_ml)} mcg/mL) over "
                    f"{display(request.minutes)} min; with the program's "
                    f"{display(review.daily_mcg)} mcg/day the next 24 h hold about "
                    f"{display(review.daily_mcg + request.dose_mcg)} mcg (hard limit "
                    f"{display(review.max_daily_mcg)} mcg).", lines=tuple(findings))
    return attempt(web, act, findings)


def bolus_give(web: WebVisit, confirmed: bool) -> Said:
    review, web.bolus = web.bolus, None

    def act() -> Said:
        if review is None:
            raise InvalidInput("bolus", "no reviewed bolus", "a bolus reviewed on this visit")
        echo = infusion.give_bolus(web.visit, review, confirmed)
        return Said(True, f"Bolus running: {display(echo.dose_mcg)} mcg "
                    f"({render.ml(echo.volume_nl)}) from {render.when(echo.starts)} to "
                    f"{render.when(echo.ends)}.")
    return attempt(web, act)


def infusion_review(web: WebVisit, act_name: str) -> Said:
    web.infusion_view = None

    def act() -> Said:
        view = web.visit.read_closed()
        web.infusion_view = web.view = view
        web.infusion_act = act_name
        if act_name == "stop":
            return Said(True, STOP_WARNING)
        return Said(True, f"Resume: {render.program_line(view.program)}.")
    return attempt(web, act)


def infusion_change(web: WebVisit, act_name: str, confirmed: bool) -> Said:
    view, web.infusion_view = web.infusion_view, None
    if web.infusion_act != act_name:
        view = None  # a stop was read, a resume confirmed (or the reverse): read again
    change = infusion.stop_infusion if act_name == "stop" else infusion.resume_infusion

    def act() -> Said:
        if view is None:
            raise InvalidInput(act_name, "not read", "a pump read on this visit just before")
        changed = change(web.visit, view, confirmed)
        return Said(True, f"Pump {view.serial}: {changed.state} since "
                    f"{render.when(changed.at)}.")
    return attempt(web, act)


def refill_preview(refill: Refill) -> dict[str, Any]:
    """Step 5's figures: the dates if the update is confirmed, and what is sent."""
    wizard = refill.wizard
    if refill.step != 5 or wizard.drug is None or wizard.residual is None:
        return {}
    drug = wizard.drug
    question = (f"Update pump {wizard.view.serial}: withdrawn "
                f"{render.ml(wizard.residual.withdrawn_nl)}, added {render.ml(drug.fill.fill_nl)} "
                f"of {display(drug.concentration_mcg_per_ml)} mcg/mL"
                + (", with bridge bolus" if wizard.bridge else "") + "?")
    return {"projection_lines": render.projection_lines(wizard.projection()),
            "update_question": guardrail_check.question(question, drug.findings)}


def confirm_question(web: WebVisit) -> dict[str, str]:
    """The confirmation questions of a reviewed program or bolus, as the CLI asks them (with
    the guardrails' warnings being confirmed)."""
    out = {}
    if web.program_review is not None:
        out["program_question"] = guardrail_check.question(
            f"Send this program to pump {web.serial}?", web.program_review.findings)
    if web.bolus is not None:
        out["bolus_question"] = guardrail_check.question(
            f"Give this bolus now on pump {web.serial}?", web.bolus.findings)
    return out


def details_of(web: WebVisit) -> dict[str, Any]:
    """The last interrogation as the CLI's exact JSON (for the page's facts)."""
    return {} if web.view is None else view_to_json(web.view)
