"""The worklists: what the care team must do next, from each pump's last interrogation.

For every live patient's current implant (not explanted, not deleted), the newest live
interrogation of that implant is read in one query (a correlated `ORDER BY at DESC LIMIT 1`
sub-select per implant, served by the index `ix_interrogations_latest`), together with the
patient's last refill and current prescription's in-pump stability limit. Each entry says
why it is on the list. Soft-deleted patients, implants, interrogations, refills and
prescriptions are left out.

Kinds:

- `refill_overdue` / `refill_due`: the earliest of the pump's refill-by date, its
  low-reservoir alarm date and the drug's in-pump stability limit (counted from the last
  refill, or the implant) is past, or within the horizon (default 14 days).
- `replacement_due`: the elective replacement indicator (ERI) is on, or the projected end of
  service is less than 6 months away (devices.md, battery row: replacement is best scheduled
  about 6 months before the shut-off; the pump stops 90 days after ERI).
- `critical_alarm`: a critical alarm was active at the last interrogation.
- `not_seen`: not interrogated for longer than the patient's refill interval.

The dates are the pump's own projections as interrogated (itb.programmer.view); nothing
here recomputes a clinical figure. Dates are UTC calendar dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Row, String, and_, cast, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import Implant, Interrogation, Patient, Prescription, RefillRecord
from itb.therapy.catalogue import DEFAULT_STABILITY_LIMIT_DAYS

KINDS = ("refill_overdue", "refill_due", "replacement_due", "critical_alarm", "not_seen")
DEFAULT_HORIZON_DAYS = 14
HORIZON_DAYS = (0, 365)  # what --horizon accepts
# devices.md, battery row: replacement best scheduled about 6 months before the shut-off
REPLACEMENT_LEAD_MONTHS = 6
# devices.md, battery row: after ERI the pump runs on and stops after 90 days
ERI_TO_STOP_DAYS = 90
# no prescription states its stability: itb.therapy's default (*unconfirmed*, catalogue.py)
FALLBACK_STABILITY_DAYS = int(DEFAULT_STABILITY_LIMIT_DAYS)
REFILLED = "done"  # a refill record's outcome when the reservoir was filled (journal.py)


@dataclass(frozen=True)
class WorkEntry:
    """One line of a worklist: whose, what, by when, and why."""

    patient_id: int
    mrn: str
    name: str
    kind: str
    due: date
    reason: str
    implant_id: int | None = None
    pump_serial: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"mrn": self.mrn, "patient_id": self.patient_id, "name": self.name,
                "kind": self.kind, "due": self.due.isoformat(), "reason": self.reason,
                "implant_id": self.implant_id, "pump_serial": self.pump_serial}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 Aug + 6 months = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


class DayAfter(FunctionElement[date]):
    """`DayAfter(moment, days)`: the calendar date `days` after `moment`'s date, in SQL on
    both back ends (SQLite's date(); PostgreSQL's date + integer)."""

    type = Date()
    inherit_cache = True
    name = "day_after"


@compiles(DayAfter, "sqlite")
def _day_after_sqlite(element: DayAfter, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    # the modifier 'N days' takes a sign: '-60 days', '90 days'
    return (f"date({compiler.process(moment, **kw)}, "
            f"({compiler.process(days, **kw)}) || ' days')")


@compiles(DayAfter, "postgresql")
def _day_after_postgresql(element: DayAfter, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return f"(CAST({compiler.process(moment, **kw)} AS DATE) + ({compiler.process(days, **kw)}))"


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _candidate_rows(session: Session, today: date, horizon: int) -> list[Row[Any]]:
    """The live current implants that may be on a worklist, with what `entries_for` needs:
    the implant, its newest live interrogation (or NULLs), the last refill and the current
    prescription's stability. The WHERE clause only narrows: a row it keeps may give no
    entry, a row it drops would give none; the exact rules stay in `entries_for`."""
    g = Interrogation
    latest_id = (select(g.id).where(g.implant_id == Implant.id, g.deleted_at.is_(None))
                 .order_by(g.at.desc(), g.id.desc()).limit(1).correlate(Implant)
                 .scalar_subquery())
    last_refill = (select(func.max(RefillRecord.at))
                   .where(RefillRecord.patient_id == Patient.id,
                          RefillRecord.deleted_at.is_(None),
                          RefillRecord.outcome == REFILLED)
                   .correlate(Patient).scalar_subquery())
    stability = (select(Prescription.stability_days)
                 .where(Prescription.patient_id == Patient.id,
                        Prescription.deleted_at.is_(None), Prescription.ended_on.is_(None))
                 .order_by(Prescription.started_on.desc(), Prescription.id.desc())
                 .limit(1).correlate(Patient).scalar_subquery())
    # the shortest stability limit and refill interval in the clinic bound the per-row
    # limits from below, so most rows are settled by comparing with a constant
    shortest_stability, shortest_interval = session.execute(select(
        select(func.min(func.coalesce(Prescription.stability_days, FALLBACK_STABILITY_DAYS)))
        .where(Prescription.deleted_at.is_(None), Prescription.ended_on.is_(None))
        .scalar_subquery(),
        select(func.min(Patient.refill_interval_days)).where(Patient.deleted_at.is_(None))
        .scalar_subquery())).one()
    last_day = today + timedelta(days=horizon)
    refill_cut = _start_of(last_day + timedelta(days=1))
    seen = func.coalesce(g.at, Implant.implanted_on)
    # not seen: the last interrogation before this day, at the least
    unseen_cut = _start_of(today - timedelta(days=int(shortest_interval or 0)))
    # a pump filled before this day may pass its shortest stability limit by the last day
    bound = last_day + timedelta(days=1 - int(shortest_stability or FALLBACK_STABILITY_DAYS))
    may_be_listed = or_(
        g.refill_by < refill_cut, g.low_alarm_at < refill_cut, g.eri.is_(True),
        g.end_of_service_at < _start_of(add_months(today, REPLACEMENT_LEAD_MONTHS)),
        and_(g.alarms.is_not(None), cast(g.alarms, String) != "[]"),
        and_(seen < unseen_cut,
             DayAfter(seen, Patient.refill_interval_days) < literal(today, Date())),
        # filled before the bound: implanted before it, and no refill since (a set built
        # once from the recent refills, not a look-up per implant)
        and_(Implant.implanted_on < bound, Implant.patient_id.not_in(
            select(RefillRecord.patient_id).where(
                RefillRecord.deleted_at.is_(None), RefillRecord.outcome == REFILLED,
                RefillRecord.at >= _start_of(bound)))))
    query = (select(Patient.id.label("patient_id"), Patient.mrn, Patient.name,
                    Patient.refill_interval_days, Implant.id.label("implant_id"),
                    Implant.pump_serial, Implant.implanted_on,
                    g.at, g.refill_by, g.low_alarm_at, g.eri, g.eri_at,
                    g.end_of_service_at, g.alarms,
                    last_refill.label("last_refill"), stability.label("stability"))
             .select_from(Implant)
             .join(Patient, Patient.id == Implant.patient_id)
             .outerjoin(g, g.id == latest_id)
             .where(Patient.deleted_at.is_(None), Implant.deleted_at.is_(None),
                    Implant.explanted_on.is_(None), may_be_listed))
    return _newest_implants_only(session, list(session.execute(query)))


def _newest_implants_only(session: Session, rows: list[Row[Any]]) -> list[Row[Any]]:
    """Drop a row whose patient has a newer pump in place (a record listing two)."""
    patients = {row.patient_id for row in rows}
    if not patients:
        return rows
    newest: dict[int, tuple[date, int]] = {}
    for patient_id, implanted_on, implant_id in session.execute(
            select(Implant.patient_id, Implant.implanted_on, Implant.id).where(
                Implant.patient_id.in_(patients), Implant.deleted_at.is_(None),
                Implant.explanted_on.is_(None))):
        newest[patient_id] = max(newest.get(patient_id, (implanted_on, implant_id)),
                                 (implanted_on, implant_id))
    return [row for row in rows
            if newest.get(row.patient_id) == (row.implanted_on, row.implant_id)]


def _refill_entry(row: Any, base: dict[str, Any], today: date,
                  horizon: int) -> WorkEntry | None:
    seen = row.at
    source = "" if seen is None else f" from the interrogation of {seen.date()}"
    candidates: list[tuple[date, str]] = []
    if row.refill_by is not None:
        candidates.append((row.refill_by.date(), f"refill-by date {row.refill_by.date()}"
                           f"{source}"))
    if row.low_alarm_at is not None:
        candidates.append((row.low_alarm_at.date(), f"low-reservoir alarm date "
                           f"{row.low_alarm_at.date()}{source}"))
    filled = row.implanted_on if row.last_refill is None else max(row.implanted_on,
                                                                  row.last_refill.date())
    days = FALLBACK_STABILITY_DAYS if row.stability is None else int(row.stability)
    stated = "" if row.stability is not None else " (itb's default, *unconfirmed*)"
    since = "implant" if row.last_refill is None or filled == row.implanted_on else "last refill"
    candidates.append((filled + timedelta(days=days),
                       f"in-pump stability limit of {days} days{stated} from the {since} "
                       f"on {filled}"))
    due, why = min(candidates)
    if due < today:
        return WorkEntry(**base, kind="refill_overdue", due=due,
                         reason=f"Refill overdue since {due}: {why}.")
    if due <= today + timedelta(days=horizon):
        return WorkEntry(**base, kind="refill_due", due=due,
                         reason=f"Refill due by {due}: {why}.")
    return None


def _replacement_entry(row: Any, base: dict[str, Any], today: date) -> WorkEntry | None:
    seen = row.at
    if seen is None:
        return None
    eos = None if row.end_of_service_at is None else row.end_of_service_at.date()
    if row.eri:
        eri_day = seen.date() if row.eri_at is None else row.eri_at.date()
        due = eos or eri_day + timedelta(days=ERI_TO_STOP_DAYS)
        return WorkEntry(**base, kind="replacement_due", due=due, reason=(
            f"Replace the pump by {due}: the elective replacement indicator (ERI) was on "
            f"at the interrogation of {seen.date()} (since {eri_day}); the pump stops "
            f"{ERI_TO_STOP_DAYS} days after ERI (devices.md)."))
    if eos is not None and eos < add_months(today, REPLACEMENT_LEAD_MONTHS):
        return WorkEntry(**base, kind="replacement_due", due=eos, reason=(
            f"Replace the pump before {eos}: its projected end of service, from the "
            f"interrogation of {seen.date()}, is less than {REPLACEMENT_LEAD_MONTHS} months "
            f"away (devices.md: schedule about 6 months before the shut-off)."))
    return None


def _alarm_entries(row: Any, base: dict[str, Any]) -> list[WorkEntry]:
    seen = row.at
    if seen is None or not row.alarms:
        return []
    out = []
    for alarm in row.alarms:
        if not isinstance(alarm, dict) or not alarm.get("critical"):
            continue
        name = str(alarm.get("name") or alarm.get("kind") or "unnamed")
        out.append(WorkEntry(**base, kind="critical_alarm", due=seen.date(), reason=(
            f"Critical alarm {name} was active at the interrogation of {seen.date()}.")))
    return out


def _not_seen_entry(row: Any, base: dict[str, Any], today: date) -> WorkEntry | None:
    last = row.implanted_on if row.at is None else row.at.date()
    interval = int(row.refill_interval_days)
    if (today - last).days <= interval:
        return None
    what = "since the implant on" if row.at is None else "since the interrogation of"
    return WorkEntry(**base, kind="not_seen", due=last + timedelta(days=interval), reason=(
        f"Not interrogated for {(today - last).days} days {what} {last}, longer than the "
        f"refill interval of {interval} days."))


def entries_for(row: Any, today: date, horizon: int) -> list[WorkEntry]:
    """Every worklist entry one implant's row gives (pure: no session, no clock). `row` has
    the attributes `_latest_rows` selects."""
    base = {"patient_id": row.patient_id, "mrn": row.mrn, "name": row.name,
            "implant_id": row.implant_id, "pump_serial": row.pump_serial}
    found = [_refill_entry(row, base, today, horizon), _replacement_entry(row, base, today),
             *_alarm_entries(row, base), _not_seen_entry(row, base, today)]
    return [entry for entry in found if entry is not None]


def checked_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise InvalidRecord("kind", kind, "one of: " + ", ".join(KINDS))
    return kind


def checked_horizon(horizon_days: int) -> int:
    if not HORIZON_DAYS[0] <= horizon_days <= HORIZON_DAYS[1]:
        raise InvalidRecord("horizon_days", horizon_days,
                            f"{HORIZON_DAYS[0]} to {HORIZON_DAYS[1]} days")
    return horizon_days


def worklist(session: Session, actor: Actor, *, now: datetime, kind: str | None = None,
             horizon_days: int = DEFAULT_HORIZON_DAYS) -> list[WorkEntry]:
    """The worklist (all kinds, or one), soonest due first; the read is audited."""
    records.guard(session, actor, "read_worklist", None, now=now, entity="worklist")
    checked_kind(kind)
    checked_horizon(horizon_days)
    today = now.date()
    entries = [entry for row in _candidate_rows(session, today, horizon_days)
               for entry in entries_for(row, today, horizon_days)
               if kind is None or entry.kind == kind]
    entries.sort(key=lambda e: (e.due, KINDS.index(e.kind), e.mrn))
    audit.record(session, actor, "read", "worklist", now=now,
                 detail=f"{kind or 'all'}: {len(entries)} entries")
    return entries
