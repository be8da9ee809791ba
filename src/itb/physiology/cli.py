"""`itb triage`: the seeds' "when to call" for reported symptoms and pump facts."""

from __future__ import annotations

import json

import typer

from itb.cli_errors import refuse_value
from itb.errors import ItbError
from itb.physiology.symptoms import SYMPTOM_NAMES, Disposition
from itb.physiology.triage import AlarmTone, PumpFacts, TriageResult
from itb.physiology.triage import triage as run_triage

_HEADINGS = {
    Disposition.EMERGENCY: "EMERGENCY: call 911 or local emergency services now",
    Disposition.CARE_TEAM: "CALL THE CARE TEAM",
    Disposition.ROUTINE: "ROUTINE",
}


def _fail(message: str) -> typer.Exit:
    return refuse_value(message)


def _text(result: TriageResult) -> str:
    lines = [_HEADINGS[result.disposition]]
    if result.causes:
        lines.append("Likely causes: " + ", ".join(c.value for c in result.causes))
    lines.append("Reason: " + result.reason)
    lines.append("Tell the team:")
    lines.extend("  " + line for line in result.tell_the_team)
    lines.append("(itb is a simulation and teaching tool, not medical advice.)")
    return "\n".join(lines)


def triage(
    symptom: list[str] = typer.Option(
        [], "--symptom", "-s", metavar="NAME",
        help="A reported symptom (repeat for several). See --list for the names."),
    days_since_refill: str | None = typer.Option(
        None, "--days-since-refill", metavar="N", help="Days since the last pump refill."),
    hours_since_program_change: str | None = typer.Option(
        None, "--hours-since-program-change", metavar="N",
        help="Hours since the pump's program was last changed."),
    alarm_heard: bool = typer.Option(False, "--alarm-heard", help="A pump alarm was heard."),
    alarm_tone: str | None = typer.Option(
        None, "--alarm-tone", metavar="TONE",
        help="two-tone (critical) or single-tone (non-critical); implies --alarm-heard."),
    refill_overdue: bool = typer.Option(False, "--refill-overdue",
                                        help="The refill appointment was missed."),
    days_since_implant: str | None = typer.Option(
        None, "--days-since-implant", metavar="N", help="Days since the pump was implanted."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    list_names: bool = typer.Option(False, "--list", help="Print the known symptom names."),
) -> None:
    """Triage reported symptoms: emergency, call the care team, or routine (seeds 003/004)."""
    if list_names:
        others = {"--symptom": bool(symptom), "--days-since-refill": days_since_refill,
                  "--hours-since-program-change": hours_since_program_change,
                  "--alarm-heard": alarm_heard, "--alarm-tone": alarm_tone,
                  "--refill-overdue": refill_overdue, "--days-since-implant": days_since_implant,
                  "--json": as_json}
        given = [name for name, value in others.items() if value not in (None, False)]
        if given:  # never ignore what was asked: --list only lists
            raise _fail(f"--list = given with {given[0]} is not allowed: allowed is --list "
                        "alone (it only prints the symptom names)")
        typer.echo("\n".join(SYMPTOM_NAMES))
        return
    try:
        facts = PumpFacts.of(
            days_since_refill=days_since_refill,
            hours_since_program_change=hours_since_program_change,
            alarm_heard=alarm_heard, alarm_tone=alarm_tone, refill_overdue=refill_overdue,
            days_since_implant=days_since_implant)
        if not symptom and not facts.described():
            raise _fail("nothing to triage: give at least one --symptom NAME (see --list) "
                        "or a pump fact such as --alarm-heard")
        result = run_triage(symptom, facts)
    except ItbError as error:
        raise _fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
    else:
        typer.echo(_text(result))


__all__ = ["AlarmTone", "triage"]
