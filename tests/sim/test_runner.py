"""The runner on small inline scenarios: edge cases the library does not show."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pandas as pd

from itb.sim import (
    SimulationResult,
    build_timeline,
    parse_scenario,
    run_scenario,
    summarize,
)

from .helpers import SCENARIOS as SCENARIOS_DIR

BASE = """\
[scenario]
name = "inline"
start = 2026-01-05T08:00:00Z
duration_days = {days}

[patient]
origin = "spinal"
{patient}

[pump]
model = "synchromed-ii-20"
seed = 3

[implant]
date = {implant}
fill_ml = 20
concentration_mcg_per_ml = 2000

{program}
{rest}
"""
PROGRAM = '[program]\ntype = "simple"\ndaily_dose_mcg = 500\n'


def run(days: int = 3, patient: str = "days_on_therapy = 400",
        implant: str = "2026-01-05T08:00:00Z", program: str = PROGRAM, rest: str = ""
        ) -> tuple[SimulationResult, pd.DataFrame, dict[str, Any]]:
    text = BASE.format(days=days, patient=patient, implant=implant, program=program, rest=rest)
    result = run_scenario(parse_scenario(text, "inline.toml"))
    frame = build_timeline(result)
    return result, frame, summarize(result, frame)


def test_a_patient_who_fails_screening_is_not_implanted() -> None:
    result, frame, summary = run(
        days=5, patient="[patient.response]\nec50_initial_mcg_per_ml = 0.8",
        implant="2026-01-09T08:00:00Z", program="",
        rest='[screening]\nstart = 2026-01-05T09:00:00Z\n\n[[timeline]]\nday = 4.5\n'
             'event = "bolus"\ndose_mcg = 50\n')
    assert summary["screening"]["decision"] == "not a candidate"
    assert [b["dose_mcg"] for b in summary["screening"]["boluses"]] == ["50", "75", "100"]
    assert summary["implanted"] is False
    assert any(e.kind == "no_implant" for e in result.events)
    assert frame["reservoir_true_ml"].isna().all()
    assert len(frame) == 5 * 288  # the patient is still followed


def test_acts_the_pump_refuses_are_reported_not_raised() -> None:
    rest = ('[[timeline]]\nday = 1\nevent = "fault"\nfault = "motor_stall"\ncause = "mechanical"\n'
            '\n[[timeline]]\nday = 1.5\nevent = "bolus"\ndose_mcg = 20\n')
    _result, frame, summary = run(rest=rest)
    assert len(summary["refused"]) == 1
    assert "motor is stalled" in summary["refused"][0]["detail"]
    # A mechanical stall without an end stays: no drug from day 1 on, alarm to the end.
    assert summary["alarms"][0]["kind"] == "motor_stall" and summary["alarms"][0]["cleared"] is None
    assert (frame[frame["hours"] > 24.1]["delivered_mcg_per_day"] == 0).all()


def test_a_pump_history_ages_the_battery_and_log_before_the_start() -> None:
    result, _frame, summary = run(implant="2023-01-05T08:00:00Z", patient="days_on_therapy = 1100",
                                  rest="[auto_refill]\nfill_ml = 20\n")
    assert summary["alarms"] == []  # a three-year-old pump, refilled on time
    assert result.implant_times_s[0] < result.scenario.start_s
    # About 17 planned refills over the three years happened before the start.
    before = [t for t in result.refill_times_s if t < result.scenario.start_s]
    assert 15 <= len(before) <= 19
    battery = Fraction(result.final_status["battery_remaining_fraction"])
    assert Fraction(1, 2) < battery < Fraction(3, 4)


def test_progress_is_reported_in_order_up_to_the_patient_pass() -> None:
    seen: list[float] = []
    text = BASE.format(days=3, patient="days_on_therapy = 400", implant="2026-01-05T08:00:00Z",
                       program=PROGRAM, rest="")
    run_scenario(parse_scenario(text, "inline.toml"), lambda done, _label: seen.append(done))
    assert seen == sorted(seen) and seen[-1] == 0.7


def test_a_partial_occlusion_lets_part_of_the_drug_through() -> None:
    rest = ('[[timeline]]\nday = 1\nevent = "fault"\nfault = "catheter_occlusion"\n'
            'flow_fraction = 0.5\n')
    _result, frame, summary = run(days=4, rest=rest)
    later = frame[frame["hours"] > 30]
    ratio = later["delivered_mcg_per_day"].mean() / later["commanded_mcg_per_day"].mean()
    assert 0.45 < ratio < 0.55
    assert summary["alarms"] == []


def test_same_scenario_same_result() -> None:
    a = run(days=2)[2]
    b = run(days=2)[2]
    assert a == b


def test_exact_segment_amounts_equal_the_pumps_own() -> None:
    from itb.sim.runner import exact_mcg

    result, _frame, summary = run(days=3, rest=(
        '[[timeline]]\nday = 1\nevent = "refill"\nfill_ml = 20\nconcentration_mcg_per_ml = 500\n'
        'bridge_bolus = true\n'))
    segments = result.history.csf
    assert len({s.mcg_per_ml for s in segments}) >= 2
    assert exact_mcg(segments) == [s.mcg for s in segments]
    assert sum(exact_mcg(segments), Fraction(0)) == Fraction(summary["delivery"]["csf_mcg"])


def test_a_patient_year_is_event_driven_and_fast() -> None:
    """bench/patient_year.py measures it properly (target 0.2 s); this guards against a
    fixed-step loop creeping in (this process's CPU time, generous bound for a shared CI)."""
    import time

    text = (SCENARIOS_DIR / "normal-year.toml").read_text(encoding="utf-8")
    scenario = parse_scenario(text, "normal-year.toml")
    start = time.process_time()
    result = run_scenario(scenario)
    frame = build_timeline(result)
    spent = time.process_time() - start
    assert len(frame) == 365 * 288
    assert len(result.history.csf) < 2_000  # segments only where something changes
    assert spent < 1.0
