"""`itb clinic demo`: a synthetic clinic with years of history, for the main job, the demos
and the benchmarks. Synthetic people only; deterministic from the seed (and `now`).

Each patient gets a plan (`plan_patients`): who they are, their pump, drug strength, doses
over time and the dates of their refill visits, spaced so that each refill comes before the
last refill's refill-by date. The last refill is placed so that at `now` most patients are
not yet due, some are due within a fortnight and some are overdue, so the worklists have
work in them. Then one of two writers makes the history:

- with pumps (`demo_pumps.write_with_pumps`): a simulated pump per patient is implanted in
  the state folder (the layout `itb pump new` makes), run through its history, refilled
  and reprogrammed at each visit, interrogated as a programmer would (the pump's own
  projection and battery forecast), and saved at `now` for `itb pump serve`; every record
  goes through the clinic's write pattern (`records.create`, audited);
- records only (`write_records_only`, for benchmarks): the same plans as bulk inserts,
  with the dates from the same mean-flow arithmetic the pump projects with, and one audit
  entry for the import instead of one per record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from itb.clinic import audit, implant_status, users
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
from itb.clinic.errors import InvalidRecord
from itb.clinic.models import (
    Implant,
    Interrogation,
    Patient,
    Prescription,
    RefillRecord,
    ScreeningTrial,
    SymptomCall,
    Visit,
)
from itb.physiology.triage import triage
from itb.pump import get_model
from itb.therapy.catalogue import (
    DEFAULT_REFILL_SAFETY_MARGIN_DAYS,
    DEFAULT_STABILITY_LIMIT_DAYS,
)

DEMO = Actor(user_id=None, username="itb-clinic-demo", role="admin", patient_id=None)
# The demo's logins, printed by the command (a demo clinic only: never a real site's).
LOGINS = (("admin", "admin", "demo-admin-pw"), ("clinician", "clinician", "demo-clinician-pw"),
          ("nurse", "nurse", "demo-nurse-pw"), ("viewer", "viewer", "demo-viewer-pw"),
          ("patient", "patient", "demo-patient-pw"))
LOGINS_SHOWN = tuple((name, password, role) for role, name, password in LOGINS)
MODELS = ("synchromed-ii-20", "synchromed-ii-40", "synchromed-ii-20", "synchromed-ii-40",
          "synchromed-10")
STRENGTHS = (500, 500, 500, 2000)  # mcg/mL: marketed refill strengths (itb.therapy.catalogue)
DRUG = {500: "Lioresal Intrathecal", 2000: "Lioresal Intrathecal"}
FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena",
         "Milo", "Nia", "Omar", "Pia", "Quin", "Rosa", "Sami", "Tova", "Uma", "Vik", "Wren",
         "Yara", "Zeb")
LAST = ("Abbott", "Baker", "Chen", "Diaz", "Evans", "Frost", "Garcia", "Haddad", "Ito",
        "Jensen", "Khan", "Lopez", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi",
        "Singh", "Tanaka", "Usman", "Varga", "Weber", "Young", "Zhou")
# Symptom calls the demo files, each triaged by itb triage (seeds 001-004) when filed.
CALLS = (("headache",), ("nausea",), ("itchy-skin", "muscle-spasms"))
ML = Decimal(1_000_000)


@dataclass
class PatientPlan:
    index: int
    mrn: str
    name: str
    born: date
    weight_kg: Decimal
    origin: str
    injury_level: str | None
    model: str
    serial: str
    strength: int  # mcg/mL
    implanted_at: datetime
    refills: list[datetime]  # refill visits, oldest first
    doses: list[Decimal]  # the daily dose from implant, then after each refill visit
    calls: list[tuple[datetime, tuple[str, ...]]] = field(default_factory=list)
    fault_at: datetime | None = None  # a motor stall seen at an emergency visit
    refill_interval_days: int = 90


def _cycle_days(model: str, strength: int, dose: Decimal) -> Fraction:
    """Days from a full reservoir to its refill-by date at `dose`: the lower of (alarm
    volume reached − the safety margin) and the stability limit (itb.therapy.refill)."""
    facts = get_model(model)
    usable_ml = Fraction(facts.reservoir_capacity_nl - facts.low_reservoir_alarm_default_nl,
                         1_000_000)
    to_alarm = usable_ml * strength / Fraction(dose)
    return min(to_alarm - DEFAULT_REFILL_SAFETY_MARGIN_DAYS, DEFAULT_STABILITY_LIMIT_DAYS)


def _plan_one(rng: random.Random, index: int, now: datetime) -> PatientPlan:
    while True:  # a pump and strength that hold at least 40 days of this patient's dose
        model, strength = rng.choice(MODELS), rng.choice(STRENGTHS)
        facts = get_model(model)
        usable_ml = (facts.reservoir_capacity_nl - facts.low_reservoir_alarm_default_nl) / 1e6
        highest = min(900, int(usable_ml * strength / 40))  # mcg/day (usual range: label)
        if highest >= 150:
            break
    dose = Decimal(rng.randrange(100, highest, 10))
    steps = [dose]
    for _ in range(rng.randrange(0, 4)):  # titration steps of 10% over the years (label)
        steps.append((steps[-1] * Decimal("1.1")).quantize(Decimal(1)))
    # refills come before refill-by at the highest dose, a few days early
    cycle = _cycle_days(model, strength, max(steps))
    # 4 months to 5 years 10 months since implant: the oldest near their ERI (about 6 years
    # at these doses, itb.pump battery model), none past end of service
    years = Fraction(rng.randrange(4, 71), 12)
    implanted = (now - timedelta(days=float(years * 365))).replace(microsecond=0)
    category = rng.random()
    # now as a share of the last refill's cycle: not due / due within days / overdue
    share = (rng.uniform(0.1, 0.75) if category < 0.7 else rng.uniform(0.85, 0.99)
             if category < 0.88 else rng.uniform(1.01, 1.08))
    last = now - timedelta(days=float(cycle) * share)
    refills: list[datetime] = []
    moment = last
    while moment - timedelta(days=float(cycle) * 0.9) > implanted:
        refills.append(moment.replace(microsecond=0))
        moment -= timedelta(days=float(cycle) - rng.uniform(1, 6))
    refills.reverse()
    doses = [steps[0]]
    for k in range(len(refills)):
        step = min(len(steps) - 1, (k * len(steps)) // max(1, len(refills)))
        doses.append(steps[step])
    born = date(rng.randrange(1940, 2010), rng.randrange(1, 13), rng.randrange(1, 29))
    origin = rng.choice(("spinal", "spinal", "cerebral"))
    plan = PatientPlan(
        index=index, mrn=f"DEMO-{index:05d}",
        name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", born=born,
        weight_kg=Decimal(rng.randrange(300, 1100)) / 10, origin=origin,
        injury_level=rng.choice(("T4", "T10", "C6", "L1")) if origin == "spinal" else None,
        model=model, serial=f"ITB-D{index:05d}", strength=strength, implanted_at=implanted,
        refills=refills, doses=doses, refill_interval_days=min(180, int(cycle)))
    for _ in range(rng.choice((0, 0, 1, 2))):
        plan.calls.append((implanted + (now - implanted) * rng.uniform(0.1, 0.95),
                           rng.choice(CALLS)))
    if rng.random() < 0.06 and refills and now - refills[-1] > timedelta(days=3):
        plan.fault_at = refills[-1] + (now - refills[-1]) * rng.uniform(0.2, 0.8)
    return plan


def plan_patients(count: int, seed: int, now: datetime) -> list[PatientPlan]:
    """The demo's patients, the same for the same count, seed and `now`."""
    rng = random.Random(seed)
    return [_plan_one(rng, index, now) for index in range(1, count + 1)]


def check_options(patients: int, now: datetime) -> None:
    if not 1 <= patients <= 100_000:
        raise InvalidRecord("--patients", patients, "1 to 100000")
    if now.tzinfo is None:
        raise InvalidRecord("--now", now, "an ISO-8601 time with its UTC offset")


def ml(nl: int | Fraction) -> Decimal:
    """nL as exact mL (at most 6 places, as the clinic stores them)."""
    return Decimal(int(nl)) / ML


def refill_dates(filled_at: datetime, reservoir_ml: Fraction, alarm_ml: Fraction,
                 dose: Decimal, strength: int) -> tuple[datetime, datetime, datetime]:
    """Low-alarm, empty and refill-by dates at the programmed mean flow: the pump's own
    projection (PumpAdapter._projection) and itb.therapy.refill's refill-by rule."""
    flow_ml_per_day = Fraction(dose) / strength
    alarm_at = filled_at + timedelta(days=float((reservoir_ml - alarm_ml) / flow_ml_per_day))
    empty_at = filled_at + timedelta(days=float(reservoir_ml / flow_ml_per_day))
    refill_by = min(alarm_at - timedelta(days=float(DEFAULT_REFILL_SAFETY_MARGIN_DAYS)),
                    filled_at + timedelta(days=float(DEFAULT_STABILITY_LIMIT_DAYS)))
    return alarm_at, empty_at, refill_by


def screening(plan: PatientPlan) -> dict[str, Any]:
    """A screening trial some weeks before the implant: a 50 mcg bolus that worked."""
    started = plan.implanted_at - timedelta(days=21)
    return {"patient_id": None, "started_on": started.date(), "decision": "implant",
            "notes": "demo: a positive response to the first bolus",
            "boluses": [{"dose_mcg": "50", "at": started.isoformat(),
                         "observations": [{"hour": h, "ashworth": a} for h, a in
                                          ((0, "3"), (2, "2"), (4, "1+"), (8, "2"))]}]}


_TRIAGED: dict[tuple[str, ...], dict[str, Any]] = {}


def call_record(at: datetime, symptoms: tuple[str, ...]) -> dict[str, Any]:
    found = _TRIAGED.get(symptoms)
    if found is None:
        found = _TRIAGED[symptoms] = triage(symptoms).as_json()
    return {"at": at, "symptoms": list(symptoms), "disposition": found["disposition"],
            "causes": found["causes"], "advice": found["reason"]}


def add_logins(session: Session, first_mrn: str, now: datetime) -> list[tuple[str, str, str]]:
    """The demo's users; the patient login is linked to the first demo patient."""
    for role, name, password in LOGINS:
        users.add_user(session, name, role, password, now=now,
                       patient_mrn=first_mrn if role == "patient" else None, by=DEMO)
    return [(name, password, role) for role, name, password in LOGINS]


def require_empty(db: ClinicDB) -> None:
    with db.session() as s:
        held = s.scalar(select(func.count()).select_from(Patient))
    if held:
        raise InvalidRecord("--db", db.url, "a new or empty clinic database",
                            f"it already holds {held} patients")


# ---- records only: bulk inserts ---------------------------------------------------------


class _Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        self.next[table] = self.next.get(table, 0) + 1
        return self.next[table]


def _versioned(ids: _Ids, table: str, now: datetime, **values: Any) -> dict[str, Any]:
    return {"id": ids.take(table), "version": 1, "created_at": now, "deleted_at": None,
            **values}


def _rows_of(plan: PatientPlan, ids: _Ids, rows: dict[str, list[dict[str, Any]]],
             now: datetime) -> None:
    """One patient's records as rows (records only)."""
    pid = ids.take("patients")
    rows["patients"].append({
        "id": pid, "version": 1, "created_at": plan.implanted_at, "deleted_at": None,
        "mrn": plan.mrn, "name": plan.name, "date_of_birth": plan.born,
        "weight_kg": plan.weight_kg, "origin": plan.origin, "injury_level": plan.injury_level,
        "time_zone": "UTC", "refill_interval_days": plan.refill_interval_days, "phone": None,
        "email": None, "notes": ""})
    trial = screening(plan)
    rows["screening_trials"].append(_versioned(ids, "screening_trials", plan.implanted_at,
                                               **{**trial, "patient_id": pid}))
    facts = get_model(plan.model)
    implant = _versioned(ids, "implants", plan.implanted_at, patient_id=pid,
                         pump_serial=plan.serial, pump_model=plan.model,
                         implanted_on=plan.implanted_at.date(), catheter_length_cm=None,
                         catheter_volume_ml=Decimal("0.11"), key_file=None, pump_host=None,
                         pump_port=None, explanted_on=None, explant_reason=None,
                         replaces_id=None)
    rows["implants"].append(implant)
    capacity = Fraction(facts.reservoir_capacity_nl, 1_000_000)
    alarm = Fraction(facts.low_reservoir_alarm_default_nl, 1_000_000)
    moments = [plan.implanted_at, *plan.refills]
    for k, at in enumerate(moments):
        dose = plan.doses[k]
        visit = _versioned(ids, "visits", at, patient_id=pid, implant_id=implant["id"],
                           kind="implant" if k == 0 else "refill", at=at, clinician_id=None,
                           session_id=None, ashworth=None, notes="")
        rows["visits"].append(visit)
        if k == 0 or dose != plan.doses[k - 1]:
            if rows["prescriptions"] and rows["prescriptions"][-1]["patient_id"] == pid:
                rows["prescriptions"][-1]["ended_on"] = at.date()
            rows["prescriptions"].append(_versioned(
                ids, "prescriptions", at, patient_id=pid, drug=DRUG[plan.strength],
                strength_mcg_per_ml=Decimal(plan.strength), daily_dose_mcg=dose,
                program={"therapy": {"type": "continuous", "daily_dose_mcg": str(dose)}},
                max_daily_dose_mcg=(dose * Decimal("1.3")).quantize(Decimal("0.1")),
                patient_bolus_mcg=None, patient_bolus_lockout_min=None,
                patient_bolus_max_per_day=None, stability_days=180, started_on=at.date(),
                ended_on=None, prescriber_id=None))
        if k > 0:
            left = capacity - Fraction(plan.doses[k - 1]) / plan.strength * Fraction(
                int((at - moments[k - 1]).total_seconds()), 86400)
            rows["refills"].append(_versioned(
                ids, "refills", at, patient_id=pid, visit_id=visit["id"], at=at,
                outcome="done", withdrawn_ml=ml(max(left, 0) * 10**6),
                expected_ml=ml(max(left, 0) * 10**6), discrepancy_ml=Decimal(0),
                added_ml=ml(capacity * 10**6), strength_mcg_per_ml=Decimal(plan.strength),
                drug=DRUG[plan.strength], lot=f"L{plan.index % 97:02d}{k:03d}", expiry=None,
                bridge_bolus_mcg=None, wasted_ml=None, second_checker="demo nurse",
                pocket_check=None, details={}))
        alarm_at, empty_at, refill_by = refill_dates(at, capacity, alarm, dose, plan.strength)
        rows["interrogations"].append(_versioned(
            ids, "interrogations", at, patient_id=pid, implant_id=implant["id"],
            visit_id=visit["id"], at=at, pump_time=at, reservoir_ml=ml(capacity * 10**6),
            strength_mcg_per_ml=Decimal(plan.strength), daily_dose_mcg=dose, alarms=[],
            battery="ok", eri=False, refill_by=refill_by, low_alarm_at=alarm_at,
            empty_at=empty_at,
            eri_at=plan.implanted_at + timedelta(days=6 * 365 + 120),  # *unconfirmed* ~6.3 y
            end_of_service_at=plan.implanted_at + timedelta(days=6 * 365 + 210)))
    if plan.fault_at is not None:
        last = rows["interrogations"][-1]
        rows["interrogations"].append({**last, "id": ids.take("interrogations"),
                                       "at": plan.fault_at, "pump_time": plan.fault_at,
                                       "visit_id": None, "created_at": plan.fault_at,
                                       "alarms": [{"name": "motor_stall", "critical": True}]})
    for at, symptoms in plan.calls:
        rows["symptom_calls"].append(_versioned(ids, "symptom_calls", at, patient_id=pid,
                                                taken_by_id=None, **call_record(at, symptoms)))


TABLES = {"patients": Patient, "screening_trials": ScreeningTrial, "implants": Implant,
          "visits": Visit, "prescriptions": Prescription, "refills": RefillRecord,
          "interrogations": Interrogation, "symptom_calls": SymptomCall}


def write_records_only(db: ClinicDB, plans: list[PatientPlan], now: datetime,
                       batch: int = 500) -> dict[str, int]:
    """Bulk inserts of every plan's records, in batches of `batch` patients."""
    ids = _Ids()
    counts = dict.fromkeys(TABLES, 0)
    for start in range(0, len(plans), batch):
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        for plan in plans[start:start + batch]:
            _rows_of(plan, ids, rows, now)
        with db.session() as s:
            for name, model in TABLES.items():  # parents before children
                if rows[name]:
                    s.execute(insert(model.__table__), rows[name])  # type: ignore[arg-type]
                    counts[name] += len(rows[name])
            # bulk inserts pass the ORM's flush: the worklist's summary, in the same batch
            implant_status.refresh(s.connection(), [row["id"] for row in rows["patients"]])
    with db.session() as s:
        audit.record(s, DEMO, "create", "demo", now=now,
                     detail=f"demo clinic (records only): {len(plans)} patients, "
                            f"{sum(counts.values())} records")
        add_logins(s, plans[0].mrn, now)
        if db.engine.dialect.name == "postgresql":  # the ids were given: move the sequences on
            for name in TABLES:
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"))
    return counts


def demo_now(given: str | None) -> datetime:
    if given is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(given)
    except ValueError:
        raise InvalidRecord("--now", given, "an ISO-8601 time such as 2026-11-30T09:00:00+00:00"
                            ) from None
    if moment.tzinfo is None:
        raise InvalidRecord("--now", given, "an ISO-8601 time with its UTC offset")
    return moment.astimezone(UTC)


def key_path(state: Path, serial: str) -> Path:
    return (state / "keys" / f"{serial}.key").resolve()
