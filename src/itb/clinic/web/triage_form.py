"""The symptom form (the care team's symptom call and the patient's symptom checker):
what was reported, `itb triage` on it (itb.physiology.triage, with the pump facts the
clinic's record holds), the disposition worded as the seeds say it, and the call kept as a
symptom-call record (audited; a patient only for their own record).

The call is kept by the clinic's symptom-call service (`itb.clinic.symptom_calls`), which
triages it and words the stored advice; this module only reads the form and words the
page's heading.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from itb.clinic import symptom_calls
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import SymptomCall
from itb.physiology.symptoms import VOCABULARY, Disposition
from itb.physiology.triage import AlarmTone, TriageResult

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


def take_call(session: Session, actor: Actor, patient_id: int, form: FormData, *,
              now: datetime) -> tuple[SymptomCall, TriageResult]:
    """Keep what the form reports as a symptom call (the clinic's service triages it, with
    the record's pump facts) and the triage to show (the same pure call on the same facts)."""
    names, given = reported(form)
    if not names and not given["alarm_heard"] and not given["refill_overdue"]:
        raise InvalidRecord("symptom", "none", "at least one symptom, or an alarm heard")
    call = symptom_calls.take_call(session, actor, patient_id,
                                   {"symptoms": names, "facts": given}, now=now)
    facts = symptom_calls.known_facts(session, patient_id, call.at) | {
        k: v for k, v in given.items() if v is not None}
    return call, symptom_calls.run_triage(names, facts)
