"""The clinic's care of one fleet patient: refill visits, investigations, replacements,
catheter revisions and titration, each an act at `state.now_s` on the real pump.

What the clinic may know is what a real clinic knows: the pump's alarms and estimate
(`itb.pump`'s belief), the syringe reading at a refill (the residual check of
`itb.therapy.check_refill`), and what the patient reports. A fault is *detected* only
through one of those routes (`alarm`, `residual`, `symptoms`); the faults in the truth
(`state.faults`) are the simulator's bookkeeping, never read to decide an act except
through `state.detect`, which finds only what the route could show.
"""

from __future__ import annotations

import math
from fractions import Fraction

from itb.fleet import adherence, hazards
from itb.fleet.dosing import LABEL_DOSE, need_mcg_per_day
from itb.fleet.runstate import (
    CATHETER_FAULTS,
    DAY_S,
    HOUR_S,
    PUMP,
    REFILL,
    REVISION,
    SETTLE_S,
    TITRATION,
    Fault,
    RunState,
    program_for,
)
from itb.pump import Pump
from itb.pump.errors import PumpError
from itb.pump.records import to_datetime
from itb.therapy.errors import RefillDiscrepancy
from itb.therapy.refill import check_refill

# What a residual discrepancy can reveal: drug that left the reservoir faster (an
# overinfusing pump, a pocket fill that never reached it) or slower (an occlusion).
RESIDUAL_SHOWS = ("catheter_occlusion", "overinfusion", "pocket_fill")
# What a symptomatic patient's work-up (interrogation, catheter study, history of the
# last refill) can find.
WORKUP_FINDS = (*CATHETER_FAULTS, "overinfusion", "pocket_fill", "wrong_strength")
# Label: each refill strength is 500, 1,000 or 2,000 mcg/mL; the wrong strength is taken
# to be the other common one (*unconfirmed*: which mix-up happens is not reported).
_OTHER_STRENGTH = {Fraction(500): Fraction(2000), Fraction(1000): Fraction(2000),
                   Fraction(2000): Fraction(500)}


def _ml(nl: int) -> Fraction:
    return Fraction(nl, 1_000_000)


def plan_next_refill(state: RunState) -> None:
    """The next refill: at the policy's interval, or earlier so that it comes `margin` days
    before the reservoir is empty at the programmed rate; then the patient keeps it, comes
    late or misses it (the care policy's distributions). With `adherence = "appointments"`
    the appointment rules book it instead (adherence.py)."""
    care = state.study.spec.care
    if care.adherence == "appointments":
        adherence.plan(state)
        return
    pump = state.pump
    conc = state.concentration_mcg_per_ml
    flow_nl_per_day = state.dose_mcg * 1_000_000 / conc  # the programmed rate
    days_to_empty = float(max(0, pump.reservoir_estimate_nl) / flow_nl_per_day)
    days = min(care.refill_interval_days,
               max(1, math.floor(days_to_empty) - care.refill_margin_days))
    at_s = state.now_s + days * DAY_S
    rng = state.streams.care
    missed, late, late_u = rng.random(), rng.random(), rng.random()
    if at_s >= state.study.end_s:
        pass  # after the study: nothing to write down
    elif missed < care.missed_refill_share:
        state.note(REFILL, "missed", "appointment missed", float(care.missed_rebook_days),
                   at_s=at_s)
        state.counts["refills_missed"] += 1
        at_s += care.missed_rebook_days * DAY_S
    elif late < care.late_refill_share:
        delay_days = -math.log1p(-late_u) * care.late_refill_mean_days
        state.note(REFILL, "late", "came late", round(delay_days, 6), at_s=at_s)
        state.counts["refills_late"] += 1
        at_s += int(delay_days * DAY_S)
    state.book_refill(at_s)


def refill_visit(state: RunState) -> None:
    """Withdraw the residual, compare it with the pump's estimate (if the policy checks),
    refill to capacity; a discrepancy starts a catheter study or a pump replacement."""
    pump = state.pump
    care = state.study.spec.care
    expected = max(0, pump.reservoir_estimate_nl)
    withdrawn = pump.physical.reservoir_nl
    state.counts["refills"] += 1
    if care.residual_check:
        try:
            check_refill(expected_residual_ml=_ml(expected), withdrawn_ml=_ml(withdrawn),
                         fill_ml=_ml(pump.model.reservoir_capacity_nl),
                         capacity_ml=_ml(pump.model.reservoir_capacity_nl))
        except RefillDiscrepancy:
            state.counts["residual_discrepancies"] += 1
            state.note(REFILL, "discrepancy", "residual differs from the estimate",
                       float(_ml(withdrawn - expected)))
            _remedy(state, state.detect("residual", RESIDUAL_SHOWS))
    # The old drug leaves the reservoir: a refill error's drug is gone, whether seen or not.
    state.end_faults(("pocket_fill", "wrong_strength"))
    _fill(state)
    plan_next_refill(state)


def _fill(state: RunState) -> None:
    pump = state.pump
    conc = state.concentration_mcg_per_ml
    fill = pump.model.reservoir_capacity_nl
    error = hazards.refill_error(state.study.spec.hazards, state.streams.refill)
    pump.refill(added_nl=fill, concentration_mcg_per_ml=conc,
                pocket_fill_nl=fill if error == "pocket_fill" else 0,
                true_concentration_mcg_per_ml=_OTHER_STRENGTH[conc]
                if error == "wrong_strength" else None)
    pump.acknowledge_alarm()
    state.note(REFILL, "refilled", error or "", float(_ml(fill)))
    if error is not None:
        state.start_fault(error)
        state.quiet_from_s = state.now_s + SETTLE_S


def investigate(state: RunState) -> None:
    """The patient called with symptoms and is seen: interrogation, catheter study and the
    last refill's record find what they can; an empty reservoir is refilled."""
    state.call_pending = False
    found = state.detect("symptoms", WORKUP_FINDS)
    _remedy(state, found)
    refill_error = any(f.kind in ("pocket_fill", "wrong_strength") for f in found)
    if refill_error or state.pump.reservoir_estimate_nl <= 0 or state.pump.state.alarms:
        state.end_faults(("pocket_fill", "wrong_strength"))
        _fill(state)
        plan_next_refill(state)
    state.pump.acknowledge_alarm()


def _remedy(state: RunState, found: list[Fault]) -> None:
    delay = state.study.spec.care.revision_delay_days * DAY_S
    kinds = {f.kind for f in found}
    if kinds & set(CATHETER_FAULTS) and not state.revision_pending:
        state.revision_pending = True
        state.schedule(state.now_s + delay, "revision")
    if "overinfusion" in kinds and not state.replacement_pending:
        state.replacement_pending = True
        state.schedule(state.now_s + delay, "replace", "overinfusion")


def alarm_heard(state: RunState, kind: str, at_s: int) -> None:
    """The patient hears a pump alarm (raised at `at_s`) and acts on it."""
    care = state.study.spec.care
    critical_s = int(care.critical_alarm_response_hours * HOUR_S)
    if kind == "motor_stall":
        state.detect("alarm", ("motor_stall",), at_s)
        _replace_soon(state, at_s + critical_s, "motor_stall")
    elif kind == "end_of_service":
        _replace_soon(state, at_s + critical_s, "end_of_service")
    elif kind == "elective_replacement" and care.eri_policy == "replace":
        _replace_soon(state, at_s + care.eri_replacement_days * DAY_S, "eri")
    elif kind == "elective_replacement":  # run to end of service: look when it comes
        state.schedule(at_s + state.pump.model.eri_warning_s + HOUR_S, "look")
    elif kind == "reservoir_empty" and state.next_refill_s > at_s + critical_s:
        state.book_refill(at_s + critical_s)
    elif kind == "low_reservoir":
        u = state.streams.care.random()
        at = at_s + int(-math.log1p(-u) * care.low_alarm_response_mean_days * DAY_S)
        if state.next_refill_s > at:
            state.book_refill(at)


def _replace_soon(state: RunState, at_s: int, reason: str) -> None:
    if not state.replacement_pending:
        state.replacement_pending = True
        state.schedule(at_s, "replace", reason)


def replace_pump(state: RunState, reason: str, *, implant: bool = True) -> None:
    """Explant the pump (its age and why, for device survival); implant a new one, filled,
    programmed with the dose in force and primed. The catheter stays, faults and all."""
    old = state.pump
    age_days = (state.now_s - state.pump_implant_s) / DAY_S
    stalled = reason == "motor_stall"
    state.note(PUMP, "explant", reason, round(age_days, 6))
    if state.pump_no == 1:
        state.first_pump_days, state.first_pump_stalled = age_days, stalled
    state.end_faults(("motor_stall", "overinfusion"), pump_no=state.pump_no)
    state.replacement_pending = False
    if not implant:
        return
    state.pump_no += 1
    state.pump_implant_s = state.now_s
    state.excess_ppm = 0
    pump = Pump.implant(old.model, serial=f"F{state.index}-{state.pump_no}",
                        at=to_datetime(state.now_s), fill_nl=old.model.reservoir_capacity_nl,
                        concentration_mcg_per_ml=state.concentration_mcg_per_ml,
                        program=program_for(state.dose_mcg),
                        seed=int(state.streams.stall.integers(2**31)),
                        low_reservoir_alarm_nl=state.study.low_reservoir_alarm_nl)
    carry_catheter(old, pump)
    pump.prime()
    state.pump = pump
    state.log_index = 0
    state.counts["pumps"] += 1
    state.note(PUMP, "implant", reason, float(state.pump_no))
    schedule_pump_hazards(state)
    state.quiet_from_s = state.now_s + SETTLE_S
    plan_next_refill(state)


def carry_catheter(old: Pump, new: Pump) -> None:
    """The new pump is connected to the old catheter, in whatever state it is."""
    catheter = old.physical.catheter
    new.physical.catheter.state = catheter.state
    new.physical.catheter.flow_ppm = catheter.flow_ppm
    new.physical.catheter.leak_ppm = catheter.leak_ppm


def schedule_pump_hazards(state: RunState) -> None:
    """A new pump's own hazards: its stall age and overinfusion onset."""
    spec = state.study.spec.hazards
    stall = hazards.stall_age_s(spec.motor_stall, state.unapproved, state.streams.stall)
    if stall is not None:
        state.schedule(state.pump_implant_s + stall, "stall", state.pump_no)
    onset = hazards.overinfusion_age_s(spec.overinfusion, state.streams.overinfusion)
    if onset is not None:
        state.schedule(state.pump_implant_s + onset, "overinfusion", (state.pump_no, 0))


def revise_catheter(state: RunState) -> None:
    """A new catheter, primed; the next catheter faults are drawn from now."""
    state.revision_pending = False
    pump = state.pump
    pump.revise_catheter(pump.catheter_volume_nl)
    pump.prime()
    state.end_faults(CATHETER_FAULTS)
    state.counts["revisions"] += 1
    state.note(REVISION, "catheter", "revised")
    state.quiet_from_s = state.now_s + SETTLE_S
    schedule_catheter_faults(state)


def schedule_catheter_faults(state: RunState) -> None:
    state.catheter_generation += 1
    nxt = hazards.next_catheter_faults(state.study.spec.hazards, state.streams.catheter,
                                       state.now_s)
    if nxt:
        kind, at_s = min(nxt.items(), key=lambda item: (item[1], item[0]))
        state.schedule(at_s, "catheter", (kind, state.catheter_generation))


def titrate(state: RunState) -> None:
    """A titration visit: the dose moves toward what the patient needs now, by at most the
    label's step (spinal +10-30 %, cerebral and children +5-15 %, -10-20 % for side
    effects; here at most +20 % or -15 %, *unconfirmed* midpoints)."""
    days = state.study.spec.cohort.days_on_therapy + (
        state.now_s - state.patient.start.timestamp()) / DAY_S
    need = need_mcg_per_day(state.params, days)
    low, high = math.ceil(state.dose_mcg * 0.85), math.floor(state.dose_mcg * 1.2)
    new = int(min(max(round(need), low), high, LABEL_DOSE[1]))
    if new != state.dose_mcg and abs(new - state.dose_mcg) >= 0.05 * state.dose_mcg:
        try:
            state.pump.program(program_for(new))
        except PumpError:
            state.counts["titrations_refused"] += 1
        else:
            state.note(TITRATION, "dose", f"{state.dose_mcg} -> {new}", float(new))
            state.dose_mcg = new
            state.quiet_from_s = state.now_s + SETTLE_S
    every = state.study.spec.care.titration_every_days
    state.schedule(state.now_s + every * DAY_S, "titrate")
