"""One fleet patient through the real pump and patient model: faults, their detection
routes, and the outcomes the summary counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.fleet.episodes import Episodes
from itb.fleet.hazards import MONTH_S, Streams, stall_age_s
from itb.fleet.patient_run import run_patient
from itb.fleet.schema import MotorStall

from .helpers import study


def _events(result, category: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [e for e in result.events if e[2] == category]


def test_a_patient_is_the_same_whatever_else_runs_and_in_any_order() -> None:
    s = study(patients=3, occlusion=(0.5, 0.5), pocket=0.05, late=0.2)
    first = [run_patient(s, i) for i in (0, 1, 2)]
    again = [run_patient(s, i) for i in (2, 1, 0)][::-1]
    assert [r.row for r in first] == [r.row for r in again]
    assert [r.events for r in first] == [r.events for r in again]


def test_a_quiet_patient_on_time_has_planned_refills_and_no_symptoms() -> None:
    result = run_patient(study(patients=1), 0)
    row = result.row
    assert row["withdrawal_episodes"] == 0 and row["overdose_episodes"] == 0
    assert row["refills"] >= 4 and row["pumps"] == 1  # a 20 mL reservoir lasts < 90 days
    assert not _events(result, "fault") and not _events(result, "detection")
    assert row["alarm_reservoir_empty"] == 0


def test_a_motor_stall_is_detected_by_its_alarm_and_the_pump_replaced() -> None:
    s = study(patients=6, years="2", stall=(0.95, 0.95))  # nearly every pump stalls
    stalled = [r for r in (run_patient(s, i) for i in range(6)) if r.row["fault_motor_stall"]]
    assert stalled
    for result in stalled:
        detections = [e for e in _events(result, "detection") if e[3] == "motor_stall"]
        assert detections and all(e[4] == "alarm" and e[5] == 0 for e in detections)
        explants = [e for e in _events(result, "pump") if e[3] == "explant"]
        assert explants[0][4] == "motor_stall"
        assert result.row["pumps"] >= 2


def test_an_occlusion_is_found_by_the_residual_check_or_the_symptoms_never_by_an_alarm(
        ) -> None:
    s = study(patients=8, occlusion=(2.0, 0.0))
    routes: set[str] = set()
    for i in range(8):
        result = run_patient(s, i)
        for e in _events(result, "detection"):
            if e[3] == "catheter_occlusion":
                routes.add(e[4])
                assert e[4] in ("residual", "symptoms", "undetected")
        if result.row["fault_catheter_occlusion"]:
            assert result.row["revisions"] >= 1 or result.row["detected_symptoms"] == 0
    assert routes & {"residual", "symptoms"}


def test_without_the_residual_check_a_silent_occlusion_is_never_found_at_a_refill() -> None:
    s = study(patients=6, occlusion=(2.0, 0.8), residual=False)
    for i in range(6):
        result = run_patient(s, i)
        assert result.row["detected_residual"] == 0
        assert result.row["residual_discrepancies"] == 0


def test_a_pocket_fill_gives_an_overdose_found_by_the_patients_symptoms() -> None:
    s = study(patients=3, pocket=1.0)  # every refill goes into the pocket
    result = run_patient(s, 0)
    assert result.row["fault_pocket_fill"] >= 1
    assert result.row["overdose_episodes"] >= 1
    assert "symptoms" in {e[4] for e in _events(result, "detection")}


def test_when_every_appointment_is_missed_the_alarm_brings_the_patient_in_not_always_in_time(
        ) -> None:
    s = study(patients=4, years="1", missed=1.0)  # every booked appointment is missed
    quiet = [run_patient(study(patients=4, years="1"), i).row for i in range(4)]
    rows = [run_patient(s, i).row for i in range(4)]
    assert all(r["refills_missed"] >= 1 and r["alarm_low_reservoir"] >= 1 for r in rows)
    assert all(r["refills"] >= 3 for r in rows)  # the visits the alarm prompted
    assert sum(r["withdrawal_episodes"] for r in rows) > sum(
        r["withdrawal_episodes"] for r in quiet) == 0


def test_the_stall_draws_reproduce_the_calibration_figure_at_78_months() -> None:
    hazard = MotorStall(approved_cumulative=0.024, unapproved_cumulative=0.07, at_months=78,
                        weibull_shape=1.5, source="FDA 2013 via devices.md")
    rng = np.random.default_rng(5)
    for unapproved, target in ((False, 0.024), (True, 0.07)):
        ages = np.array([stall_age_s(hazard, unapproved, rng) for _ in range(40_000)])
        share = float(np.mean(ages <= 78 * MONTH_S))
        se = math.sqrt(target * (1 - target) / len(ages))
        assert abs(share - target) < 4 * se


def test_patient_i_has_the_seed_sequences_ith_child_whatever_the_partitions() -> None:
    a = Streams.for_patient(9, 5).stall.random(3)
    child = np.random.SeedSequence(9).spawn(6)[5]  # the 6th child, then its stream 1
    b = np.random.default_rng(np.random.SeedSequence(child.entropy,
                                                     spawn_key=(*child.spawn_key, 1))).random(3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, Streams.for_patient(9, 6).stall.random(3))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=30), min_size=1,
                max_size=6))
def test_episodes_split_across_passes_are_the_same_as_in_one_pass(
        passes: list[list[int]]) -> None:
    whole = [s for p in passes for s in p]
    t = np.arange(len(whole), dtype=float) * 900
    one, many = Episodes("w"), Episodes("w")
    closed_one = one.feed(t, np.array(whole))
    closed_many, offset = [], 0
    for p in passes:
        closed_many += many.feed(t[offset:offset + len(p)], np.array(p))
        offset += len(p)
    assert closed_one == closed_many
    assert (one.count, one.worst, one.count_at_least(3)) == (
        many.count, many.worst, many.count_at_least(3))


def test_the_daily_summary_adds_up_to_the_drug_delivered_and_holds_the_worst_stages() -> None:
    text_study = study(patients=2, pocket=0.3, late=0.3)
    s = study(patients=2, pocket=0.3, late=0.3, daily=True)
    for i in range(2):
        result = run_patient(s, i)
        assert result.daily is not None
        assert len(result.daily["day"]) == 365
        # Delivery goes on every day, near the dose: never zero unless the reservoir ran dry.
        dose = result.row["dose_start_mcg_per_day"]
        mcg = result.daily["csf_mcg"]
        assert float(np.median(mcg)) == pytest.approx(dose, rel=0.15)
        assert int(result.daily["worst_withdrawal_stage"].max()) == \
            result.row["worst_withdrawal_stage"]
        assert int(result.daily["worst_overdose_stage"].max()) == \
            result.row["worst_overdose_stage"]
        assert run_patient(text_study, i).row == result.row  # the summary changes nothing
