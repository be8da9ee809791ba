"""The demo clinic with simulated pumps: each patient's pump lives through its plan
(itb.clinic.demo) and each visit is filed through the clinic's write pattern.

A pump is implanted, primed, run event by event to each visit, interrogated the way the
programmer does (the pump's interrogation answer, then `build_view`: the pump's own
low-alarm and empty projection, the refill-by date, the battery forecast), refilled with the
nurse's syringe reading, reprogrammed when the plan's dose changes, and at the end run to
`now` and saved in the state folder with its keys, as `itb pump new` does, so that
`itb pump serve --state DIR` serves it.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from itb.clinic import patients, records
from itb.clinic.demo import (
    DEMO,
    DRUG,
    PatientPlan,
    add_logins,
    call_record,
    key_path,
    ml,
    screening,
)
from itb.clinic.models import (
    Interrogation,
    Prescription,
    ProgramChange,
    RefillRecord,
    ScreeningTrial,
    SessionAct,
    SymptomCall,
    Visit,
)
from itb.programmer.view import build_view, view_to_json
from itb.pump import ContinuousTherapy, HardLimits, Program, Pump, get_model
from itb.telemetry.io.store import StateStore
from itb.telemetry.protocol.commands import Interrogate
from itb.telemetry.protocol.guard import LinkGuard
from itb.telemetry.protocol.keys import KEY_BYTES, LinkKey, Role
from itb.telemetry.pumpside.adapter import PumpAdapter
from itb.telemetry.pumpside.runtime import SimulatedPump

MAX_BOLUS_MCG = Fraction(100)  # itb pump new's default hard limit for one bolus (devices.md)
LIMIT_FACTOR = Fraction(13, 10)  # itb pump new: room for one titration step of 30%


def _program(dose: Decimal) -> Program:
    return Program(ContinuousTherapy(Fraction(dose)),
                   HardLimits(Fraction(dose) * LIMIT_FACTOR, MAX_BOLUS_MCG))


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _interrogate(session: Session, adapter: PumpAdapter, pid: int, implant_id: int,
                 visit_id: int | None, at: datetime) -> dict[str, Any]:
    """What the programmer would file after an interrogation (its view of the answer)."""
    report = adapter.handle(Interrogate(), Role.CLINICIAN, 0.0)
    view = view_to_json(build_view(report, ()))  # type: ignore[arg-type]
    record = Interrogation(
        patient_id=pid, implant_id=implant_id, visit_id=visit_id, at=at,
        pump_time=_when(view["pump_time"]), reservoir_ml=Decimal(view["reservoir_estimate_ml"]),
        strength_mcg_per_ml=Decimal(view["concentration_mcg_per_ml"]),
        daily_dose_mcg=None if view["daily_dose_mcg"] is None
        else Decimal(view["daily_dose_mcg"]),
        alarms=[{"name": a["kind"], "critical": a["critical"]} for a in view["alarms"]],
        battery=view["battery_status"], eri=view["battery_status"] != "ok",
        refill_by=_when(view["refill_by"]), low_alarm_at=_when(view["low_reservoir_alarm_at"]),
        empty_at=_when(view["empty_at"]), eri_at=_when(view["battery_eri_at"]),
        end_of_service_at=_when(view["battery_eos_at"]))
    records.create(session, DEMO, record, now=at, patient_id=pid)
    return view


def _visit(session: Session, pid: int, implant_id: int, kind: str, at: datetime,
           notes: str = "") -> Visit:
    return records.create(session, DEMO, Visit(patient_id=pid, implant_id=implant_id, kind=kind,
                                                at=at, notes=notes), now=at, patient_id=pid)


def _prescribe(session: Session, pid: int, plan: PatientPlan, dose: Decimal, at: datetime,
               before: Prescription | None) -> Prescription:
    if before is not None:
        records.update(session, DEMO, before, {"ended_on": at.date()}, now=at,
                       expected_version=before.version, patient_id=pid)
    return records.create(session, DEMO, Prescription(
        patient_id=pid, drug=DRUG[plan.strength], strength_mcg_per_ml=Decimal(plan.strength),
        daily_dose_mcg=dose, program={"therapy": {"type": "continuous",
                                                  "daily_dose_mcg": str(dose)}},
        max_daily_dose_mcg=(dose * Decimal("1.3")).quantize(Decimal("0.1")),
        stability_days=180, started_on=at.date()), now=at, patient_id=pid)


def _refill(session: Session, pump: Pump, pid: int, visit: Visit, plan: PatientPlan,
            k: int) -> None:
    """Empty the reservoir, read the syringe to 0.1 mL, fill it up again."""
    true_nl = pump.physical.reservoir_nl
    syringe_nl = (true_nl // 100_000) * 100_000  # a syringe reads 0.1 mL
    capacity = pump.model.reservoir_capacity_nl
    report = pump.refill(added_nl=capacity - 2_000_000 if plan.index % 5 == 0 else capacity,
                         concentration_mcg_per_ml=Fraction(plan.strength),
                         withdrawn_nl=syringe_nl)
    records.create(session, DEMO, RefillRecord(
        patient_id=pid, visit_id=visit.id, at=visit.at, outcome="done",
        withdrawn_ml=ml(syringe_nl), expected_ml=ml(report.expected_residual_nl),
        discrepancy_ml=ml(report.discrepancy_nl), added_ml=ml(report.added_nl),
        strength_mcg_per_ml=Decimal(plan.strength), drug=DRUG[plan.strength],
        lot=f"L{plan.index % 97:02d}{k:03d}", second_checker="demo nurse",
        details={"reservoir_estimate_ml": str(ml(report.reservoir_estimate_nl))}),
        now=visit.at, patient_id=pid)


def _reprogram(session: Session, pump: Pump, pid: int, visit: Visit, old: Decimal,
               new: Decimal) -> None:
    pump.program(_program(new))
    records.create(session, DEMO, ProgramChange(
        patient_id=pid, visit_id=visit.id, at=visit.at, outcome="done",
        daily_dose_before_mcg=old, daily_dose_after_mcg=new,
        before={"therapy": {"type": "continuous", "daily_dose_mcg": str(old)}},
        after={"therapy": {"type": "continuous", "daily_dose_mcg": str(new)}},
        details={"reason": "titration: a 10% step at a refill (label, maintenance)"}),
        now=visit.at, patient_id=pid)


def _fault(session: Session, adapter: PumpAdapter, pid: int, implant_id: int,
           at: datetime) -> None:
    """A motor stall, seen at an emergency visit: interrogated with its critical alarm,
    then cleared and acknowledged (the pump resumes its program)."""
    pump = adapter.pump
    pump.advance(at - timedelta(hours=2))
    pump.faults.start_motor_stall()
    pump.advance(at)
    visit = _visit(session, pid, implant_id, "emergency", at,
                   "demo: the pump's critical alarm sounded; the motor stalled")
    _interrogate(session, adapter, pid, implant_id, visit.id, at)
    pump.faults.clear_motor_stall()
    pump.acknowledge_alarm()
    records.create(session, DEMO, SessionAct(
        patient_id=pid, visit_id=visit.id, at=at, kind="alarm_ack", outcome="done",
        summary="motor stall alarm acknowledged"), now=at, patient_id=pid)


def _life(session: Session, plan: PatientPlan, pid: int, implant_id: int,
          adapter: PumpAdapter) -> None:
    """The pump's years: each refill visit in turn, a fault and calls where planned."""
    pump = adapter.pump
    prescription = _prescribe(session, pid, plan, plan.doses[0], plan.implanted_at, None)
    events: list[tuple[datetime, str, Any]] = [(at, "refill", k + 1)
                                               for k, at in enumerate(plan.refills)]
    events += [(at, "call", symptoms) for at, symptoms in plan.calls]
    if plan.fault_at is not None:
        events.append((plan.fault_at, "fault", None))
    for at, kind, detail in sorted(events, key=lambda e: e[0]):
        if kind == "call":
            records.create(session, DEMO, SymptomCall(patient_id=pid,
                                                      **call_record(at, detail)),
                           now=at, patient_id=pid)
            continue
        if kind == "fault":
            _fault(session, adapter, pid, implant_id, at)
            continue
        pump.advance(at)
        visit = _visit(session, pid, implant_id, "refill", at)
        _interrogate(session, adapter, pid, implant_id, visit.id, at)
        _refill(session, pump, pid, visit, plan, detail)
        old, new = plan.doses[detail - 1], plan.doses[detail]
        if new != old:
            _reprogram(session, pump, pid, visit, old, new)
            prescription = _prescribe(session, pid, plan, new, at, prescription)
        _interrogate(session, adapter, pid, implant_id, visit.id, at)


def _implant(plan: PatientPlan) -> tuple[PumpAdapter, bytes]:
    facts = get_model(plan.model)
    pump = Pump.implant(facts, serial=plan.serial, at=plan.implanted_at,
                        fill_nl=facts.reservoir_capacity_nl,
                        concentration_mcg_per_ml=Fraction(plan.strength),
                        program=_program(plan.doses[0]), seed=plan.index,
                        catheter_volume_nl=110_000)
    pump.prime()  # the implant ends with the priming bolus (itb pump new)
    return PumpAdapter(pump), secrets.token_bytes(KEY_BYTES)


def write_with_pumps(session: Session, plans: list[PatientPlan], state: Path, now: datetime,
                     pump_host: str | None, pump_port: int | None) -> None:
    """Every plan's pump in `state` and its records in the clinic (one transaction)."""
    store = StateStore(state, None)
    for plan in plans:
        adapter, pump_key = _implant(plan)
        at = plan.implanted_at
        trial = screening(plan)
        patient = patients.create_patient(session, DEMO, {
            "mrn": plan.mrn, "name": plan.name, "date_of_birth": plan.born,
            "weight_kg": plan.weight_kg, "origin": plan.origin,
            "injury_level": plan.injury_level,
            "refill_interval_days": plan.refill_interval_days}, now=at)
        pid = patient.id
        records.create(session, DEMO, ScreeningTrial(**{**trial, "patient_id": pid}),
                       now=at - timedelta(days=21), patient_id=pid)
        implant = patients.add_implant(session, DEMO, pid, {
            "pump_serial": plan.serial, "pump_model": plan.model,
            "implanted_on": at.date(), "catheter_volume_ml": Decimal("0.11"),
            "key_file": str(key_path(state, plan.serial)), "pump_host": pump_host,
            "pump_port": pump_port}, now=at)
        visit = _visit(session, pid, implant.id, "implant", at)
        _interrogate(session, adapter, pid, implant.id, visit.id, at)
        _life(session, plan, pid, implant.id, adapter)
        adapter.pump.advance(now)
        simulated = SimulatedPump(adapter.pump, pump_key, LinkGuard())
        store.save(plan.serial, simulated.to_document())
        clinic_key = LinkKey(plan.serial, "clinic", pump_key)
        store.write_key(clinic_key, f"{plan.serial}.key")
        store.write_key(clinic_key.patient_key(), f"{plan.serial}.patient.key")
    add_logins(session, plans[0].mrn, now)
