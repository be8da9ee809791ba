"""Symptom calls: what a patient or carer reported, triaged by `itb triage`'s rules
(itb.physiology.triage), stored with the disposition as triage words it.

The disposition is `emergency`, `call-care-team` or `routine` (the labels of
`itb triage --json`); the advice keeps the instruction as the seeds give it (seed 004
"Contact 911 or your local emergency services number right away"), the reason and what to
tell the team. Pump facts the caller does not give are taken from the clinic's record
(days since the current pump's implant, days since the last refill recorded).
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import checks, clinical, records
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Implant, Patient, RefillRecord, SymptomCall
from itb.errors import InvalidInput
from itb.physiology.symptoms import SYMPTOM_NAMES, Disposition
from itb.physiology.triage import PumpFacts, TriageResult, triage

# As `itb triage` heads its answer (itb.physiology.cli; seeds 003/004 "When to Call").
INSTRUCTIONS = {
    Disposition.EMERGENCY: "EMERGENCY: call 911 or local emergency services now",
    Disposition.CARE_TEAM: "CALL THE CARE TEAM",
    Disposition.ROUTINE: "ROUTINE",
}
FACTS = ("days_since_refill", "hours_since_program_change", "alarm_heard", "alarm_tone",
         "refill_overdue", "days_since_implant")
MAX_SYMPTOMS = len(SYMPTOM_NAMES)


def _days(later: datetime, earlier: datetime) -> Fraction:
    return Fraction(int((later - earlier).total_seconds()), 86_400)


def known_facts(session: Session, patient_id: int, now: datetime) -> dict[str, Any]:
    """What the clinic's record says: days since the implant and since the last refill."""
    facts: dict[str, Any] = {}
    implant = session.scalars(select(Implant).where(
        Implant.patient_id == patient_id, Implant.deleted_at.is_(None),
        Implant.explanted_on.is_(None)).order_by(Implant.implanted_on.desc())).first()
    if implant is not None and implant.implanted_on <= now.date():
        facts["days_since_implant"] = Fraction((now.date() - implant.implanted_on).days)
    refill = session.scalars(select(RefillRecord).where(
        RefillRecord.patient_id == patient_id, RefillRecord.deleted_at.is_(None),
        RefillRecord.added_ml.is_not(None), RefillRecord.at <= now)
        .order_by(RefillRecord.at.desc())).first()
    if refill is not None:
        facts["days_since_refill"] = _days(now, refill.at)
    return facts


def run_triage(symptoms: Any, facts: dict[str, Any]) -> TriageResult:
    """`itb triage` on what was reported; a bad name or fact is a 422 naming it."""
    if not isinstance(symptoms, list) or len(symptoms) > MAX_SYMPTOMS \
            or not all(isinstance(s, str) for s in symptoms):
        raise InvalidRecord("symptoms", symptoms,
                            f"a list of at most {MAX_SYMPTOMS} names of `itb triage --list`")
    try:
        pump = PumpFacts.of(**facts)
        if not symptoms and not pump.described():
            raise InvalidRecord("symptoms", symptoms, "at least one symptom (`itb triage "
                                "--list`) or a pump fact such as alarm_heard")
        return triage(symptoms, pump)
    except InvalidRecord:
        raise
    except InvalidInput as refusal:
        raise InvalidRecord(refusal.field, refusal.value, refusal.allowed) from None


def advice(result: TriageResult) -> str:
    lines = [INSTRUCTIONS[result.disposition], "Reason: " + result.reason, "Tell the team:"]
    lines.extend("  " + line for line in result.tell_the_team)
    return "\n".join(lines)


def take_call(session: Session, actor: Actor, patient_id: int, fields: dict[str, Any], *,
              now: datetime) -> SymptomCall:
    """Triage a call and keep it (a patient may call only for their own record)."""
    clinical.may(session, actor, SymptomCall, patient_id, now=now, permission="symptom_call")
    records.live(session, Patient, patient_id)
    unknown = sorted(set(fields) - {"symptoms", "facts", "at"})
    if unknown:
        raise InvalidRecord(unknown[0], fields[unknown[0]], "not a field of a symptom call")
    given = fields.get("facts") or {}
    if not isinstance(given, dict) or set(given) - set(FACTS):
        raise InvalidRecord("facts", given, "an object with any of: " + ", ".join(FACTS))
    at = checks.moment("at", fields.get("at", now), latest=now)
    facts = known_facts(session, patient_id, at) | {k: v for k, v in given.items()
                                                   if v is not None}
    result = run_triage(fields.get("symptoms", []), facts)
    call = SymptomCall(patient_id=patient_id, at=at, symptoms=list(result.symptoms),
                       disposition=result.disposition.label,
                       causes=[c.value for c in result.causes], advice=advice(result),
                       taken_by_id=actor.user_id)
    return clinical.add(session, actor, call, now=now, permission="symptom_call")


_KIND = clinical.Kind(SymptomCall, SymptomCall.at)
list_calls = _KIND.listing
read_call = _KIND.read
delete_call = _KIND.delete
