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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Row, case, func, or_, select
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import ImplantStatus
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


class WorkEntry(NamedTuple):
    """One line of a worklist: whose, what, by when, and why (a NamedTuple: a whole list
    makes thousands, and a tuple is cheaper to make than a frozen dataclass)."""

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


def listing_keys(row: Any) -> dict[str, Any]:
    """What decides which lists one implant's row is on, its due date on each, and the words
    of its entries, reduced to values that do not depend on the day the worklist is read
    (kept per implant in `implant_status`, so each list is one plain read of that table:
    `LISTS` is exact, not a narrowing, and `_ENTRIES` words an entry from the row alone)."""
    refill_due_on, which = _refill_due(row)
    replacement_due_on = _replacement_due(row)
    alarms = _critical_alarms(row)
    last_seen_on = _last_seen(row)
    return {"name": row.name, "pump_serial": row.pump_serial,
            "refill_due_on": refill_due_on, "refill_why": _refill_why(row, which),
            "eri": row.at is not None and bool(row.eri),
            "replacement_due_on": replacement_due_on,
            "replacement_reason": _replacement_reason(row, replacement_due_on),
            "critical_alarms": len(alarms), "critical_alarm_names": alarms or None,
            "seen_on": None if row.at is None else row.at.date(),
            "last_seen_on": last_seen_on,
            "not_seen_due_on": last_seen_on + timedelta(days=int(row.refill_interval_days))}


@dataclass(frozen=True)
class ListRule:
    """One list in SQL on `implant_status`: the rows on it on a day (exactly the rows its
    entry function below gives an entry of this kind for) and the column of their due date."""

    on_list: Callable[[date, int], Any]  # (today, horizon) -> WHERE clause
    due: Any


_S = ImplantStatus
LISTS: dict[str, ListRule] = {
    "refill_overdue": ListRule(lambda today, _h: _S.refill_due_on < today, _S.refill_due_on),
    "refill_due": ListRule(lambda today, h: _S.refill_due_on.between(
        today, today + timedelta(days=h)), _S.refill_due_on),
    "replacement_due": ListRule(lambda today, _h: or_(
        _S.eri.is_(True), _S.replacement_due_on < add_months(today, REPLACEMENT_LEAD_MONTHS)),
        _S.replacement_due_on),
    "critical_alarm": ListRule(lambda _t, _h: _S.critical_alarms > 0, _S.seen_on),
    "not_seen": ListRule(lambda today, _h: _S.not_seen_due_on < today, _S.not_seen_due_on),
}


# what an entry of each kind is worded from, in this order: `implant_status` alone
# (`listing_keys` wrote the words), and only the columns of that kind
_BASE = ("patient_id", "mrn", "name", "implant_id", "pump_serial")
_WORDED_FROM = {"refill_overdue": ("refill_due_on", "refill_why"),
                "refill_due": ("refill_due_on", "refill_why"),
                "replacement_due": ("eri", "replacement_due_on", "replacement_reason"),
                "critical_alarm": ("seen_on", "critical_alarm_names"),
                "not_seen": ("seen_on", "last_seen_on", "not_seen_due_on")}
_COLUMNS: dict[str | None, tuple[str, ...]] = {
    kind: _BASE + words for kind, words in _WORDED_FROM.items()}
# every list at once (kind None): each kind's columns picked out of one row of them all
_COLUMNS[None] = tuple(dict.fromkeys(c for columns in _COLUMNS.values() for c in columns))
_PICK = {kind: itemgetter(*(_COLUMNS[None].index(c) for c in columns))
         for kind, columns in _COLUMNS.items() if kind is not None}
_BY_MRN, _BY_DUE = itemgetter(_BASE.index("mrn")), attrgetter("due")  # sort keys


def _rows(session: Session, kind: str | None, where: Any, order: Any = None,
          limit: int | None = None) -> Sequence[Row[Any]]:
    """The current implants matching `where`, with the columns `kind`'s entries are worded
    from: one read of `implant_status` (kept in step with every write by
    itb.clinic.implant_status)."""
    query = select(*(_S.__table__.c[name] for name in _COLUMNS[kind])).where(where)
    if order is not None:
        query = query.order_by(order, _S.mrn).limit(limit)
    # Core rows, not the ORM's (a list of values needs no identity map); what the session
    # holds unwritten is flushed first, as the ORM's autoflush would
    session.flush()
    return session.connection().execute(query).all()


# which of the refill's dates is the earliest; on a tie the reason that sorts first in
# words wins ("in-pump stability..." < "low-reservoir..." < "refill-by..."), as it always has
_STABILITY, _LOW_ALARM, _REFILL_BY = 0, 1, 2


def _filled(row: Any) -> date:
    """The day the reservoir was last filled: the last live refill, or the implant."""
    if row.last_refill is None:
        return row.implanted_on  # type: ignore[no-any-return]
    return max(row.implanted_on, row.last_refill.date())  # type: ignore[no-any-return]


def _stability_days(row: Any) -> int:
    return FALLBACK_STABILITY_DAYS if row.stability is None else int(row.stability)


def _refill_due(row: Any) -> tuple[date, int]:
    """The earliest of the refill-by date, the low-reservoir alarm date and the stability
    limit, and which of them it is (the reason is worded only for a listed row)."""
    candidates = [(_filled(row) + timedelta(days=_stability_days(row)), _STABILITY)]
    if row.low_alarm_at is not None:
        candidates.append((row.low_alarm_at.date(), _LOW_ALARM))
    if row.refill_by is not None:
        candidates.append((row.refill_by.date(), _REFILL_BY))
    return min(candidates)


def _refill_why(row: Any, which: int) -> str:
    source = "" if row.at is None else f" from the interrogation of {row.at.date()}"
    if which == _REFILL_BY:
        return f"refill-by date {row.refill_by.date()}{source}"
    if which == _LOW_ALARM:
        return f"low-reservoir alarm date {row.low_alarm_at.date()}{source}"
    filled = _filled(row)
    stated = "" if row.stability is not None else " (itb's default, *unconfirmed*)"
    since = "implant" if row.last_refill is None or filled == row.implanted_on else "last refill"
    return (f"in-pump stability limit of {_stability_days(row)} days{stated} from the "
            f"{since} on {filled}")


def _replacement_due(row: Any) -> date | None:
    """The day the pump should be replaced by, from the last interrogation (None: never
    interrogated, or no projected end of service and no ERI)."""
    if row.at is None:
        return None
    eos = None if row.end_of_service_at is None else row.end_of_service_at.date()
    if row.eri:
        return eos or _eri_day(row) + timedelta(days=ERI_TO_STOP_DAYS)
    return eos


def _eri_day(row: Any) -> date:
    return row.at.date() if row.eri_at is None else row.eri_at.date()


def _replacement_reason(row: Any, due: date | None) -> str | None:
    """Why the pump is to be replaced by `due` (listed with ERI on, or once `due` is less
    than the lead time away)."""
    if due is None:
        return None
    seen = row.at.date()
    if row.eri:
        return (f"Replace the pump by {due}: the elective replacement indicator (ERI) was on "
                f"at the interrogation of {seen} (since {_eri_day(row)}); the pump stops "
                f"{ERI_TO_STOP_DAYS} days after ERI (devices.md).")
    return (f"Replace the pump before {due}: its projected end of service, from the "
            f"interrogation of {seen}, is less than {REPLACEMENT_LEAD_MONTHS} months "
            f"away (devices.md: schedule about 6 months before the shut-off).")


def _critical_alarms(row: Any) -> list[str]:
    """The names of the critical alarms active at the last interrogation."""
    if row.at is None or not row.alarms:
        return []
    return [str(alarm.get("name") or alarm.get("kind") or "unnamed") for alarm in row.alarms
            if isinstance(alarm, dict) and alarm.get("critical")]


def _last_seen(row: Any) -> date:
    return row.implanted_on if row.at is None else row.at.date()


# Each kind's entries from its rows (tuples in `_COLUMNS[kind]` order): the rule that puts
# a row on the list (`LISTS` is the same rule in SQL), and the words of its entry.
Rows = Iterable[Sequence[Any]]


def _overdue_entries(rows: Rows, today: date, _horizon: int) -> list[WorkEntry]:
    return [WorkEntry(pid, mrn, name, "refill_overdue", due,
                      f"Refill overdue since {due}: {why}.", implant, serial)
            for pid, mrn, name, implant, serial, due, why in rows if due < today]


def _due_entries(rows: Rows, today: date, horizon: int) -> list[WorkEntry]:
    last = today + timedelta(days=horizon)
    return [WorkEntry(pid, mrn, name, "refill_due", due, f"Refill due by {due}: {why}.",
                      implant, serial)
            for pid, mrn, name, implant, serial, due, why in rows if today <= due <= last]


def _replacement_entries(rows: Rows, today: date, _horizon: int) -> list[WorkEntry]:
    lead = add_months(today, REPLACEMENT_LEAD_MONTHS)
    return [WorkEntry(pid, mrn, name, "replacement_due", due, reason, implant, serial)
            for pid, mrn, name, implant, serial, eri, due, reason in rows
            if due is not None and (eri or due < lead)]


def _alarm_entries(rows: Rows, _today: date, _horizon: int) -> list[WorkEntry]:
    return [WorkEntry(pid, mrn, name, "critical_alarm", seen,
                      f"Critical alarm {alarm} was active at the interrogation of {seen}.",
                      implant, serial)
            for pid, mrn, name, implant, serial, seen, alarms in rows for alarm in alarms or ()]


def _not_seen_entries(rows: Rows, today: date, _horizon: int) -> list[WorkEntry]:
    entries = []
    for pid, mrn, name, implant, serial, seen, last, due in rows:
        if due < today:  # longer than the refill interval since `last`
            what = "since the implant on" if seen is None else "since the interrogation of"
            entries.append(WorkEntry(pid, mrn, name, "not_seen", due, (
                f"Not interrogated for {(today - last).days} days {what} {last}, longer than "
                f"the refill interval of {(due - last).days} days."), implant, serial))
    return entries


_ENTRIES: dict[str, Callable[[Rows, date, int], list[WorkEntry]]] = {
    "refill_overdue": _overdue_entries, "refill_due": _due_entries,
    "replacement_due": _replacement_entries, "critical_alarm": _alarm_entries,
    "not_seen": _not_seen_entries}


def entries_for(row: Any, today: date, horizon: int,
                kind: str | None = None) -> list[WorkEntry]:
    """The worklist's rules on one implant's records (`row`: the patient, the implant, its
    newest live interrogation, last refill and stability limit, as
    itb.clinic.implant_status computes them): the entries of every kind (or of `kind`)
    its summary row gives. Pure: no session, no clock."""
    summary = {"patient_id": row.patient_id, "mrn": row.mrn, "implant_id": row.implant_id,
               **listing_keys(row)}
    return [entry for name in KINDS if kind in (None, name) for entry in _ENTRIES[name](
        [tuple(summary[column] for column in _COLUMNS[name])], today, horizon)]


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
    # the order (due, kind, record number) in two stable sorts of C speed: the rows by
    # record number (Python's order, not the database's collation), each kind's entries made
    # in `KINDS` order, then by due date
    if kind is None:  # one read, so every list is of the same moment (one snapshot)
        rows = sorted(_rows(session, None, or_(*(rule.on_list(today, horizon_days)
                                                 for rule in LISTS.values()))), key=_BY_MRN)
        entries = [entry for name in KINDS for entry in _ENTRIES[name](
            map(_PICK[name], rows), today, horizon_days)]
    else:
        entries = _ENTRIES[kind](sorted(_rows(session, kind, LISTS[kind].on_list(
            today, horizon_days)), key=_BY_MRN), today, horizon_days)
    entries.sort(key=_BY_DUE)
    audit.record(session, actor, "read", "worklist", now=now,
                 detail=f"{kind or 'all'}: {len(entries)} entries")
    return entries


def _first(session: Session, kind: str, today: date, horizon: int, offset: int,
           limit: int) -> list[WorkEntry]:
    """Entries `offset` to `offset + limit` of one list, in the worklist's order: the first
    rows by (due, record number) in SQL, then the rules (a row gives at least one entry of
    the kind, so offset + limit rows are enough)."""
    rule = LISTS[kind]
    rows = _rows(session, kind, rule.on_list(today, horizon), rule.due, offset + limit)
    return _ENTRIES[kind](rows, today, horizon)[offset:offset + limit]


def counts(session: Session, today: date, horizon: int) -> dict[str, int]:
    """How many entries each list has (one pass over `implant_status`)."""
    sums = [func.coalesce(func.sum(case((rule.on_list(today, horizon),
                                         _S.critical_alarms if name == "critical_alarm"
                                         else 1), else_=0)), 0)
            for name, rule in LISTS.items()]
    return dict(zip(LISTS, (int(n) for n in session.execute(select(*sums)).one()),
                    strict=True))


def overview(session: Session, actor: Actor, *, now: datetime, first: int,
             horizon_days: int = DEFAULT_HORIZON_DAYS) -> dict[str, tuple[int, list[WorkEntry]]]:
    """Each list's size and its `first` most urgent entries (the dashboard); audited."""
    records.guard(session, actor, "read_worklist", None, now=now, entity="worklist")
    checked_horizon(horizon_days)
    today = now.date()
    sizes = counts(session, today, horizon_days)
    lists = {kind: (sizes[kind], _first(session, kind, today, horizon_days, 0, first)
                    if sizes[kind] else []) for kind in KINDS}
    audit.record(session, actor, "read", "worklist", now=now,
                 detail="overview: " + ", ".join(f"{k} {n}" for k, n in sizes.items()))
    return lists


def page(session: Session, actor: Actor, *, now: datetime, kind: str, offset: int,
         limit: int, horizon_days: int = DEFAULT_HORIZON_DAYS) -> tuple[int, list[WorkEntry]]:
    """One list's size and its entries `offset` to `offset + limit`; audited."""
    records.guard(session, actor, "read_worklist", None, now=now, entity="worklist")
    checked_kind(kind)
    checked_horizon(horizon_days)
    today = now.date()
    size = counts(session, today, horizon_days)[kind]
    entries = _first(session, kind, today, horizon_days, offset, limit)
    audit.record(session, actor, "read", "worklist", now=now,
                 detail=f"{kind}: entries {offset + 1} to {offset + len(entries)} of {size}")
    return size, entries
