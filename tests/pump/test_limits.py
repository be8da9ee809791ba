"""Clinician hard limits: no command sequence makes the firmware exceed them."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from itb.errors import ItbError
from itb.pump import (
    AlarmKind,
    CommandedSegment,
    ContinuousTherapy,
    FlexStep,
    FlexTherapy,
    HardLimits,
    LimitExceeded,
    PatientBolusSettings,
    PeriodicBolus,
    Program,
    Pump,
)
from itb.pump.physical import mcg_in

from .helpers import START, at, continuous, implant

DAY = 86_400


def window_violations(segments: list[CommandedSegment], stroke_nl: int) -> list[str]:
    """Every 24 h window: ideal dose + one stroke ≤ the largest limit in force in it."""
    segs = sorted(segments, key=lambda s: s.start_s)
    max_conc = max((s.dose_mcg_per_ml for s in segs), default=Fraction(0))
    stroke_mcg = mcg_in(stroke_nl, max_conc)
    starts = set()
    for s in segs:
        starts.update((s.start_s, s.end_s, s.start_s - DAY, s.end_s - DAY))
    bad = []
    for a in sorted(starts):
        b = a + DAY
        dose = Fraction(0)
        limit = Fraction(0)
        for s in segs:
            lo, hi = max(a, s.start_s), min(b, s.end_s)
            if hi > lo:
                dose += Fraction(s.flow_nl_per_day * (hi - lo), DAY) * s.dose_mcg_per_ml / 1_000_000
                limit = max(limit, s.limit_mcg)
        if dose and dose + stroke_mcg > limit:
            bad.append(f"window from {a}: {float(dose)} mcg > {float(limit)}")
    return bad


def programs() -> st.SearchStrategy[Program]:
    continuous_p = st.builds(
        lambda dose, extra, pb: Program(ContinuousTherapy(Fraction(dose)),
                                        HardLimits(Fraction(dose + extra), Fraction(60)), pb),
        st.integers(24, 600), st.integers(1, 40),
        st.one_of(st.none(), st.builds(lambda d, n: PatientBolusSettings(Fraction(d), 7200, n),
                                       st.integers(1, 20), st.integers(1, 4))))
    flex_p = st.builds(
        lambda day, night, extra: Program(
            FlexTherapy((FlexStep(0, 8 * 3600, Fraction(night)),
                         FlexStep(8 * 3600, 16 * 3600, Fraction(day))),
                        periodic_boluses=(PeriodicBolus(12 * 3600, Fraction(10), 1800),)),
            HardLimits(Fraction(max(day, night) + 10 + extra), Fraction(60))),
        st.integers(24, 600), st.integers(24, 600), st.integers(1, 40))
    return st.one_of(continuous_p, flex_p)


class LimitMachine(RuleBasedStateMachine):
    """Random clinician and patient commands over time; the limits must always hold."""

    @initialize(program=programs())
    def implant_pump(self, program: Program) -> None:
        try:
            self.pump = Pump.implant("synchromed-ii-40", serial="M", at=START, fill_nl=40_000_000,
                                     concentration_mcg_per_ml=Fraction(500), program=program)
        except ItbError:
            self.pump = Pump.implant("synchromed-ii-40", serial="M", at=START,
                                     fill_nl=40_000_000, concentration_mcg_per_ml=Fraction(500),
                                     program=continuous(100, max_daily=110, max_bolus=60))
        self.segments: list[CommandedSegment] = []

    @rule(seconds=st.integers(60, 2 * DAY))
    def advance(self, seconds: int) -> None:
        elapsed = self.pump.now_s - int(START.timestamp())
        report = self.pump.advance(START + timedelta(seconds=elapsed + seconds))
        self.segments.extend(report.commanded_segments)

    @rule(program=programs())
    def reprogram(self, program: Program) -> None:
        with contextlib.suppress(ItbError):
            self.pump.program(program)

    @rule(dose=st.integers(1, 70), minutes=st.integers(1, 30))
    def clinician_bolus(self, dose: int, minutes: int) -> None:
        with contextlib.suppress(ItbError):
            self.pump.give_bolus(Fraction(dose), minutes * 60)

    @rule()
    def patient_bolus(self) -> None:
        self.pump.request_patient_bolus()

    @rule()
    def stop(self) -> None:
        self.pump.stop()

    @rule()
    def resume(self) -> None:
        with contextlib.suppress(ItbError):
            self.pump.resume()

    @rule(conc=st.sampled_from([500, 1000, 2000]), bridge=st.booleans())
    def refill(self, conc: int, bridge: bool) -> None:
        with contextlib.suppress(ItbError):
            self.pump.refill(added_nl=40_000_000, concentration_mcg_per_ml=Fraction(conc),
                             bridge_bolus=bridge)

    @invariant()
    def limits_hold(self) -> None:
        if hasattr(self, "pump"):
            assert window_violations(self.segments, self.pump.model.nominal_stroke_nl) == []


TestLimitMachine = LimitMachine.TestCase
TestLimitMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


def assert_hour_bolus_refused_unchanged(pump: Pump, dose_mcg: int, match: str) -> None:
    """A bolus of `dose_mcg` over 1 h is refused with `match` and leaves the pump as it was."""
    state = pump.to_state()
    with pytest.raises(LimitExceeded, match=match):
        pump.give_bolus(Fraction(dose_mcg), 3600)
    assert pump.to_state() == state


def test_bolus_above_the_maximum_bolus_is_refused_and_changes_nothing() -> None:
    pump = implant(continuous(300, max_daily=500, max_bolus=40))
    pump.advance(at(hours=1))
    assert_hour_bolus_refused_unchanged(pump, 41, "maximum bolus")


def test_bolus_that_would_exceed_the_daily_maximum_is_refused() -> None:
    pump = implant(continuous(300, max_daily=340, max_bolus=100))
    pump.advance(at(days=1))
    # A bolus replaces the base flow while it runs: 60 mcg over 1 h adds 47.5 mcg net.
    assert_hour_bolus_refused_unchanged(pump, 60, "per 24 h")
    pump.give_bolus(Fraction(40), 3600)  # adds 27.5 mcg net: fits within 340 mcg in 24 h


def test_raising_the_dose_right_after_a_bolus_is_refused_until_the_window_passes() -> None:
    pump = implant(continuous(300, max_daily=400, max_bolus=100))
    pump.advance(at(days=1))
    pump.give_bolus(Fraction(80), 3600)
    pump.advance(at(days=1, hours=2))
    with pytest.raises(LimitExceeded):
        pump.program(continuous(390, max_daily=400, max_bolus=100))
    pump.advance(at(days=2, hours=2))
    pump.program(continuous(390, max_daily=400, max_bolus=100))


def test_patient_bolus_respects_lockout_and_maximum_per_24_h_and_logs_refusals() -> None:
    program = continuous(300, max_daily=400, max_bolus=30,
                         patient_bolus=PatientBolusSettings(Fraction(20), 4 * 3600, 2))
    pump = implant(program)
    pump.advance(at(hours=1))
    assert pump.request_patient_bolus().granted
    outcome = pump.request_patient_bolus()
    assert not outcome.granted and "in progress" in outcome.reason
    pump.advance(at(hours=2))
    outcome = pump.request_patient_bolus()
    assert not outcome.granted and outcome.reason.startswith("lockout")
    pump.advance(at(hours=5, seconds=1))
    assert pump.request_patient_bolus().granted
    pump.advance(at(hours=10))
    outcome = pump.request_patient_bolus()
    assert not outcome.granted and "maximum of 2" in outcome.reason
    refused = [dict(e.details)["reason"] for e in pump.log.entries() if e.kind == "bolus_refused"]
    assert len(refused) == 3
    pump.advance(at(days=1, hours=1, seconds=700))
    assert pump.request_patient_bolus().granted


def test_patient_bolus_without_settings_is_refused_with_a_reason() -> None:
    pump = implant()
    outcome = pump.request_patient_bolus()
    assert not outcome.granted and outcome.reason == "no patient bolus is programmed"


def test_no_bolus_in_memory_error_safe_state() -> None:
    pump = implant()
    pump.faults.corrupt_memory()
    assert AlarmKind.MEMORY_ERROR in pump.alarms
    from itb.pump import ActRefused
    with pytest.raises(ActRefused, match="safe state"):
        pump.give_bolus(Fraction(10), 600)


def test_a_dose_reduction_is_accepted_after_the_patient_used_every_bolus() -> None:
    pb = PatientBolusSettings(Fraction(20), 3600, 3)
    pump = implant(continuous(300, max_daily=361, max_bolus=30, patient_bolus=pb))
    pump.advance(at(hours=1))
    for hour in (1, 3, 5):
        pump.advance(at(hours=hour))
        assert pump.request_patient_bolus().granted
    pump.advance(at(hours=7))
    pump.program(continuous(200, max_daily=261, max_bolus=30, patient_bolus=pb))
    assert pump.active_program is not None
    assert pump.active_program.therapy == ContinuousTherapy(Fraction(200))


# synchromed-ii-20 at 500 mcg/mL: 24 mL/day maximum flow is 12,000 mcg in 24 h; one
# stroke (catalogue nominal_stroke_nl) is added to the daily ceiling for quantisation.
def test_hard_limits_beyond_what_the_pump_can_deliver_are_refused_at_implant() -> None:
    from itb.pump.catalogue import get_model
    from itb.pump.errors import InvalidProgram
    from itb.pump.programs import max_deliverable_daily_dose_mcg
    model = get_model("synchromed-ii-20")
    ceiling = max_deliverable_daily_dose_mcg(model, Fraction(500))
    assert ceiling == Fraction(24_000_000 + model.nominal_stroke_nl, 2000)
    implant(continuous(max_daily=ceiling, max_bolus=12_000))  # the ceilings themselves are fine
    with pytest.raises(InvalidProgram, match=r"max_daily_dose_mcg.*maximum flow"):
        implant(continuous(max_daily=ceiling + Fraction(1, 1000)))
    with pytest.raises(InvalidProgram, match=r"max_bolus_mcg.*maximum flow"):
        implant(continuous(max_bolus=12_001))
    with pytest.raises(InvalidProgram, match="max_daily_dose_mcg"):
        implant(continuous(max_daily=10**90))


def test_a_program_change_to_an_undeliverable_limit_is_refused_and_changes_nothing() -> None:
    from itb.pump.errors import InvalidProgram
    pump = implant()
    pump.advance(at(hours=5))
    before = (pump.active_program, pump.log.next_index, pump.commanded_nl)
    with pytest.raises(InvalidProgram, match="max_bolus_mcg"):
        pump.program(continuous(max_bolus=10**90))
    assert (pump.active_program, pump.log.next_index, pump.commanded_nl) == before


def test_a_refill_at_a_lower_concentration_keeps_limits_set_at_the_higher_one() -> None:
    # 40,000 mcg is deliverable at 2000 mcg/mL (48,000 in 24 h) but not at 500 (12,000).
    pump = implant(continuous(dose=300, max_daily=40_000), conc=2000)
    pump.advance(at(days=30))
    pump.refill(added_nl=10_000_000, concentration_mcg_per_ml=Fraction(500))
    assert pump.active_program is not None
    assert pump.active_program.limits.max_daily_dose_mcg == 40_000
    assert pump.concentration_mcg_per_ml == 500


def test_a_float_bolus_dose_is_refused_as_inexact_not_as_over_the_limit() -> None:
    from itb.errors import InvalidInput
    pump = implant()
    pump.advance(at(hours=5))  # the priming bolus is over
    before = pump.to_state()
    with pytest.raises(InvalidInput, match="exact Fraction") as refusal:
        pump.give_bolus(10.0, 600)  # type: ignore[arg-type]
    assert not isinstance(refusal.value, LimitExceeded)
    assert pump.to_state() == before


def test_a_patient_bolus_allowance_right_after_a_full_day_at_the_limit_is_refused() -> None:
    """Found by TestLimitMachine: a day at 33 mcg/day under a 34 mcg limit, then a program
    with a 9 mcg patient bolus. The window starting one second after the whole-past one holds
    almost all of that day plus the allowance (42 mcg), so the program must be refused; it was
    accepted because only breakpoint windows were checked and the whole-past one is skipped."""
    pump = Pump.implant("synchromed-ii-40", serial="M", at=START, fill_nl=40_000_000,
                        concentration_mcg_per_ml=Fraction(500),
                        program=continuous(33, max_daily=34, max_bolus=60))
    pump.advance(START + timedelta(days=1))
    before = pump.to_state()
    with_bolus = Program(ContinuousTherapy(Fraction(24)), HardLimits(Fraction(34), Fraction(60)),
                         PatientBolusSettings(Fraction(9), 7200, 1))
    with pytest.raises(LimitExceeded, match="patient-bolus allowance 9 mcg"):
        pump.program(with_bolus)
    assert pump.to_state() == before
    # The same reduction without the patient bolus stays within the limit and is accepted.
    pump.program(Program(ContinuousTherapy(Fraction(24)), HardLimits(Fraction(34), Fraction(60))))
