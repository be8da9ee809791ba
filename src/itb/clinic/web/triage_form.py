"""The symptom form (the care team's symptom call and the patient's symptom checker):
what was reported, `itb triage` on it (itb.physiology.triage, with the pump facts the
clinic's record holds), the disposition worded as the seeds say it, and the call kept as a
symptom-call record (audited; a patient only for their own record).

The clinic's symptom-call service (`itb.clinic.symptom_calls`, api helper) words the advice
the same way; when it is on main, `take_call` here becomes a call to it.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from itb.clinic import records
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Implant, Patient, RefillRecord, SymptomCall
from itb.errors import InvalidInput
from itb.physiology.symptoms import VOCABULARY, Disposition
from itb.physiology.triage import AlarmTone, PumpFacts, TriageResult, triage

# As `itb triage` heads its answer (itb.physiology.cli; seed 004 "Contact 911 or your local
# emergency services number right away"; seeds 003/004 "When to call").
HEADINGS = {
    Disposition.EMERGENCY: "Emergency: call 911 or your local emergency services now",
    Disposition.CARE_TEAM: "Call the care team",
    Disposition.ROUTINE: "Routine: tell the team at your next visit",
}
SYMPTOMS = [(s.name, s.words) for s in sorted(VOCABULARY, key=lambda s: s.words)]
TONES = [("", "no alarm heard"), (AlarmTone.NON_CRITICAL.value, "single tone (one second)"),
         (AlarmTone.CRITICAL.value, "two tones (three seconds)")]


def _days(later: datetime, earlier: datetime) -> Fraction:
    return Fraction(int((later - earlier).total_seconds()), 86_400)


def record_facts(session: Session, patient_id: int, now: datetime) -> dict[str, Any]:
    """Days since the current pump's implant and since the last refill, from the record."""
    facts: dict[str, Any] = {}
    implant = session.scalars(select(Implant).where(
        Implant.patient_id == patient_id, Implant.deleted_at.is_(None),
        Implant.explanted_on.is_(None)).order_by(Implant.implanted_on.desc())).first()
    if implant is not None and implant.implanted_on <= now.date():
        facts["days_since_implant"] = Fraction((now.date() - implant.implanted_on).days)
    last = session.scalars(select(RefillRecord).where(
        RefillRecord.patient_id == patient_id, RefillRecord.deleted_at.is_(None),
        RefillRecord.added_ml.is_not(None), RefillRecord.at <= now)
        .order_by(RefillRecord.at.desc())).first()
    if last is not None:
        facts["days_since_refill"] = _days(now, last.at)
    return facts


def reported(form: FormData) -> tuple[list[str], dict[str, Any]]:
    """The symptoms and pump facts a form reports (a bad value: 422 naming the field)."""
    names = [str(v) for v in form.getlist("symptom")]
    known = {name for name, _ in SYMPTOMS}
    for name in names:
        if name not in known:
            raise InvalidRecord("symptom", name, "one of the listed symptoms")
    tone = str(form.get("alarm_tone", "") or "")
    if tone not in {t for t, _ in TONES}:
        raise InvalidRecord("alarm_tone", tone, "single-tone, two-tone or none")
    facts: dict[str, Any] = {"alarm_tone": tone or None,
                             "alarm_heard": form.get("alarm_heard") == "yes" or bool(tone),
                             "refill_overdue": form.get("refill_overdue") == "yes"}
    hours = str(form.get("hours_since_program_change", "") or "").strip()
    if hours:
        facts["hours_since_program_change"] = hours
    return names, facts


def run(names: list[str], facts: dict[str, Any]) -> TriageResult:
    try:
        pump = PumpFacts.of(**facts)
    except InvalidInput as refusal:
        raise InvalidRecord(refusal.field, refusal.value, refusal.allowed) from None
    if not names and not pump.alarm_heard and not pump.refill_overdue:
        raise InvalidRecord("symptom", "none", "at least one symptom, or an alarm heard")
    return triage(names, pump)


def advice(result: TriageResult) -> str:
    lines = [HEADINGS[result.disposition], "Reason: " + result.reason, "Tell the team:"]
    return "\n".join(lines + ["  " + line for line in result.tell_the_team])


def take_call(session: Session, actor: Actor, patient_id: int, form: FormData, *,
              now: datetime) -> tuple[SymptomCall, TriageResult]:
    """Triage what the form reports and keep it as a symptom call (guarded, audited)."""
    records.guard(session, actor, "symptom_call", patient_id, now=now,
                  entity="symptom_calls")
    records.live(session, Patient, patient_id)
    names, given = reported(form)
    result = run(names, record_facts(session, patient_id, now) | given)
    call = SymptomCall(patient_id=patient_id, at=now, symptoms=list(result.symptoms),
                       disposition=result.disposition.label,
                       causes=[c.value for c in result.causes], advice=advice(result),
                       taken_by_id=actor.user_id)
    records.create(session, actor, call, now=now, patient_id=patient_id)
    return call, result
