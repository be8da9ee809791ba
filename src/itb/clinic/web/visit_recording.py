"""Every act of a web visit recorded to the clinic, as the programmer's feed records them.

The web visit drives the programmer's workflows on a `Visit` whose single journal write
point (`Visit.record`) also hands each journal entry, with its sequence number in the
visit's journal, to a `Recorder`. `ClinicRecorder` writes it in one transaction of its own
(so an act done on the pump is in the clinic's record before the page answers) through
`record_entry`.

`record_entry` is the small adapter the slice brief asks for until the feed's recording
service (`itb.clinic.recording`) is on main: the same shape, journal entry -> records,
idempotent on (session id, sequence) through the `recordings` table, every write through
`records.create`/`records.update` (so audited with before and after). When the feed's service
lands, `record_entry` becomes a call to it and nothing else here changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
from itb.clinic.models import (
    Interrogation,
    ProgramChange,
    Recording,
    RefillRecord,
    SessionAct,
)
from itb.clinic.models import Visit as VisitRecord
from itb.programmer.journal import JournalEntry

# The clinic's exact columns hold 6 decimal places (columns.ExactDecimal).
_PLACES = Decimal("0.000001")
# A web visit's kind in the clinic, from the acts it holds (the most telling wins).
_VISIT_KIND = {"refill": "refill", "program": "titration", "emergency": "emergency"}


def short_outcome(outcome: str) -> str:
    """The journal's outcome in the clinic's 16-character column: "done (answer lost;
    confirmed from the pump's log)" is "done", "stopped: residual discrepancy" is "stopped"
    (the whole outcome stays in the summary, the details and the recorded entry)."""
    return outcome if len(outcome) <= 16 else outcome.split(" (")[0].split(":")[0][:16]


class Recorder(Protocol):
    def __call__(self, entry: JournalEntry, seq: int) -> None: ...


def exact(text: object) -> Decimal | None:
    """An exact string of the journal ("4.071", "35/3") as a Decimal the clinic can hold;
    None when it is missing or does not end within 6 places (the exact text stays in the
    recorded entry)."""
    if text is None:
        return None
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return None
    scaled = value * 1_000_000
    if scaled.denominator != 1:
        return None
    return (Decimal(scaled.numerator) / 1_000_000).quantize(_PLACES)


def instant(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _day(text: object) -> date | None:
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _interrogation(data: dict[str, Any]) -> dict[str, Any]:
    status = str(data.get("battery_status") or "")
    return {
        "pump_time": instant(data.get("pump_time")),
        "reservoir_ml": exact(data.get("reservoir_estimate_ml")),
        "strength_mcg_per_ml": exact(data.get("concentration_mcg_per_ml")),
        "daily_dose_mcg": exact(data.get("daily_dose_mcg")),
        "alarms": [{"name": a.get("kind"), "critical": bool(a.get("critical"))}
                   for a in data.get("alarms") or []],
        "battery": status[:64] or None,
        "eri": "eri" in status.lower() or "end" in status.lower(),
        "refill_by": instant(data.get("refill_by")),
        "low_alarm_at": instant(data.get("low_reservoir_alarm_at")),
        "empty_at": instant(data.get("empty_at")),
        "eri_at": instant(data.get("battery_eri_at")),
        "end_of_service_at": instant(data.get("battery_eos_at")),
    }


def _refill(entry: JournalEntry) -> dict[str, Any]:
    data = dict(entry.details.get("refill") or {})
    bridge = data.get("bridge_bolus") or {}
    known = {k: v for k, v in data.items() if v != "not recorded"}
    return {
        "outcome": short_outcome(entry.outcome),
        "withdrawn_ml": exact(known.get("withdrawn_ml")),
        "expected_ml": exact(known.get("expected_residual_ml")),
        "discrepancy_ml": exact(known.get("discrepancy_ml")),
        "added_ml": exact(known.get("added_ml")),
        "strength_mcg_per_ml": exact(known.get("concentration_mcg_per_ml")),
        "drug": known.get("drug"),
        "lot": known.get("lot"),
        "expiry": _day(known.get("expiry")),
        "bridge_bolus_mcg": exact(bridge.get("old_drug_mcg")),
        "wasted_ml": exact(known.get("wasted_ml")),
        "second_checker": known.get("second_check_of_strength_and_program_by"),
        "pocket_check": (known.get("pocket_and_skin_check") or None) and
        str(known["pocket_and_skin_check"])[:128],
        "details": data,
    }


def _program(entry: JournalEntry) -> dict[str, Any]:
    details = entry.details
    return {
        "outcome": short_outcome(entry.outcome),
        "daily_dose_before_mcg": exact(details.get("previous_daily_dose_mcg")),
        "daily_dose_after_mcg": exact(details.get("daily_dose_mcg")),
        "before": details.get("previous") or {},
        "after": details.get("new") or {},
        "override_reason": details.get("override_reason"),
        "details": details,
    }


def _visit_row(session: Session, actor: Actor, patient_id: int, implant_id: int | None,
               entry: JournalEntry, at: datetime, now: datetime) -> VisitRecord:
    """The clinic's visit for this programmer session: made at its first entry, its kind
    raised to refill / titration / emergency when such an act is recorded."""
    found = session.scalars(select(VisitRecord).where(
        VisitRecord.session_id == entry.session, VisitRecord.patient_id == patient_id,
        VisitRecord.deleted_at.is_(None))).first()
    kind = _VISIT_KIND.get(entry.kind)
    if found is None:
        return records.create(session, actor, VisitRecord(
            patient_id=patient_id, implant_id=implant_id, kind=kind or "interrogation", at=at,
            clinician_id=actor.user_id, session_id=entry.session,
            notes="visit in the browser"), now=now, patient_id=patient_id)
    if kind is not None and found.kind == "interrogation":
        records.update(session, actor, found, {"kind": kind}, now=now,
                       expected_version=found.version, patient_id=patient_id)
    return found


def record_entry(session: Session, actor: Actor, patient_id: int, implant_id: int | None,
                 entry: JournalEntry, seq: int, *, now: datetime) -> bool:
    """One journal entry into the clinic's records; False if (session, seq) was recorded
    already (a retry records nothing twice)."""
    records.guard(session, actor, "record_session", patient_id, now=now, entity="recordings")
    session_id = entry.session or "no-session"
    seen = session.scalars(select(Recording).where(Recording.session_id == session_id,
                                                   Recording.seq == seq)).first()
    if seen is not None:
        return False
    recording = Recording(session_id=session_id, seq=seq, serial=entry.serial[:64],
                          kind=entry.kind[:32], received_at=now, entry=entry.to_json(),
                          patient_id=patient_id)
    session.add(recording)
    session.flush()
    audit.record(session, actor, "create", "recordings", now=now, entity_id=recording.id,
                 patient_id=patient_id, after=audit.snapshot(recording),
                 detail=f"{entry.kind} {entry.outcome}: {entry.summary}"[:2000])
    at = instant(entry.at) or now
    visit = _visit_row(session, actor, patient_id, implant_id, entry, at, now)
    common = {"patient_id": patient_id, "visit_id": visit.id, "at": at}
    row: Any
    if entry.kind == "interrogation" and "interrogation" in entry.details:
        row = Interrogation(**common, implant_id=implant_id,
                            **_interrogation(entry.details["interrogation"]))
    elif entry.kind == "refill" and "refill" in entry.details:
        row = RefillRecord(**common, **_refill(entry))
    elif entry.kind == "program":
        row = ProgramChange(**common, **_program(entry))
    else:
        row = SessionAct(**common, kind=entry.kind[:32], outcome=short_outcome(entry.outcome),
                         summary=entry.summary, details=entry.details)
    records.create(session, actor, row, now=now, patient_id=patient_id)
    return True


@dataclass(frozen=True)
class ClinicRecorder:
    """Records a web visit's journal entries to the clinic, each in its own transaction."""

    db: ClinicDB
    actor: Actor
    patient_id: int
    implant_id: int | None
    clock: Callable[[], datetime]

    def __call__(self, entry: JournalEntry, seq: int) -> None:
        with self.db.session() as session:
            record_entry(session, self.actor, self.patient_id, self.implant_id, entry, seq,
                         now=self.clock())
