"""Issue 16 scenarios: gross errors, drug holidays, emergency acts and calls, each with the
outcome a clinician would expect (sources in each scenario's description and in
docs/sim.md)."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import pytest

from itb.errors import ItbError
from itb.sim import build_timeline, parse_scenario, run_scenario, summarize

from .helpers import Outcome, outcome


def events(o: Outcome, kind: str) -> list:
    return [e for e in o.result.events if e.kind == kind]


def test_500_to_2000_without_a_bridge_under_doses_until_the_new_drug_arrives() -> None:
    o = outcome("concentration-change-500-to-2000-no-bridge")
    s = o.summary
    after = o.rows_between(2.05, 3.2)  # the day after the refill on day 2
    # The old 500 mcg/mL drug in the catheter leaves at a quarter of the old flow.
    assert after["delivered_mcg_per_day"].median() < 200
    assert s["worst"]["overdose"]["stage"] == 0
    assert 1 <= s["worst"]["withdrawal"]["stage"] <= 2
    assert s["first_symptom"]["triage"]["causes"][0] == "withdrawal"
    # Once the new drug reaches the tip, the dose and control come back.
    assert o.rows_between(4.5, 6)["delivered_mcg_per_day"].median() > 400
    assert o.rows_between(5.5, 6)["withdrawal_stage"].max() == 0


def test_tenfold_programming_error_reaches_coma_and_recovers_after_the_pump_is_emptied() -> None:
    o = outcome("tenfold-programming-error")
    s = o.summary
    worst = s["worst"]["overdose"]
    assert worst["stage"] == 4 and worst["first_reached"] < "2026-07-09T08:00:00+00:00"
    coma = o.frame[o.frame["overdose_stage"] == 4]["symptoms"].iloc[0].split()
    assert {"difficulty-breathing", "loss-of-consciousness"} <= set(coma)
    call = s["calls"][0]
    assert call["triage"]["disposition"] == "emergency"
    assert call["triage"]["causes"][0] == "overdose"
    assert "pump program changed" in " ".join(call["pump_facts"])
    assert events(o, "reservoir_emptied") and events(o, "pump_stopped")
    assert o.rows_between(2.55, 2.99)["delivered_mcg_per_day"].max() < 200  # stopped, empty
    assert o.rows_between(4.5, 5)["overdose_stage"].max() == 0


def test_restarting_the_old_dose_after_a_drug_holiday_overdoses() -> None:
    o = outcome("drug-holiday-restart")
    after = o.rows_between(43, 52)
    assert after["overdose_stage"].max() >= 1
    # Before the holiday the same 500 mcg/day was the patient's usual dose.
    assert o.rows_between(0, 1)["overdose_stage"].max() == 0
    assert not events(o, "restart_retitrated")


@pytest.mark.req("REQ-SIM-RETITRATE")
def test_the_simulated_clinic_retitrates_after_a_long_gap() -> None:
    o = outcome("drug-holiday-retitrated")
    restart = events(o, "restart_retitrated")
    assert len(restart) == 1 and "21 days without drug" in restart[0].detail
    steps = [e for e in events(o, "program") if "restart titration step" in e.detail]
    assert len(steps) >= 3
    doses = [float(e.detail.split()[0]) for e in steps]
    assert doses == sorted(doses) and doses[-1] == 500
    # Each step is at most the labeled 30 % over the one before (spinal origin).
    starts = [float(restart[0].detail.split()[0]), *doses]
    assert all(b <= a * 1.3 for a, b in itertools.pairwise(starts))
    assert o.rows_between(43, 52)["overdose_stage"].max() == 0
    assert o.rows_between(51, 52)["withdrawal_stage"].max() == 0


@pytest.mark.req("REQ-TRIAGE-EMERGENCY")
def test_a_meningitis_call_is_an_emergency() -> None:
    o = outcome("meningitis-call")
    call = o.summary["calls"][0]
    assert call["reported"] == ["fever", "headache", "neck-stiffness"]  # any letter case
    assert call["triage"]["disposition"] == "emergency"
    assert call["triage"]["causes"][0] == "meningitis"
    # The catheter revision's priming pushes out the new catheter's saline only: no bolus.
    assert o.summary["worst"]["overdose"]["stage"] == 0
    assert not o.summary["worst"]["side_effects"]


@pytest.mark.req("REQ-PRG-EMERGENCY")
def test_withdrawal_is_rescued_through_the_catheter_access_port() -> None:
    o = outcome("withdrawal-rescue")
    s = o.summary
    assert o.rows_between(16, 18)["withdrawal_stage"].max() >= 2
    call = s["calls"][0]
    assert call["triage"]["disposition"] == "emergency"
    assert call["triage"]["causes"][0] == "withdrawal"
    assert events(o, "access_port_bolus")
    assert o.rows_between(18.5, 24)["withdrawal_stage"].max() == 0
    assert s["beyond_model"] is None


@pytest.mark.req("REQ-SIM-ACCESS-PORT", "REQ-PRG-EMERGENCY")
def test_the_access_port_bolus_aspirates_the_catheters_dead_volume_before_injecting() -> None:
    # Issue 16.16: the catheter's 0.11 mL (the implant default) of 2000 mcg/mL is drawn out
    # and discarded first; then the dose; the refill of the emptied pump primes the CSF out.
    o = outcome("withdrawal-rescue")
    clinic = [e for e in o.result.events if e.source == "clinic"]
    kinds = [e.kind for e in clinic]
    aspirated = kinds.index("catheter_aspirated")
    assert kinds[aspirated + 1] == "access_port_bolus"
    assert "access_port_bolus" not in kinds[:aspirated]
    assert kinds.index("priming_bolus") > kinds.index("refill", aspirated)
    ((when, drawn_nl, drawn_mcg),) = o.result.history.aspirated
    assert when == clinic[aspirated].time_s == o.result.history.access_port[0][0]
    catheter_nl = o.result.scenario.spec.implant.catheter_volume_ml * 1_000_000
    assert drawn_nl == catheter_nl == 110_000
    assert drawn_mcg == Fraction(drawn_nl * 2000, 1_000_000)


# Reservoir left empty: a small fill that runs out, never refilled.
UNTREATED = (Path(__file__).parent / "scenario_untreated.toml").read_text(encoding="utf-8")


def test_untreated_life_threatening_withdrawal_is_marked_beyond_the_model() -> None:
    # Issue 16.3: it does not resolve at home; the run says its course is beyond the model.
    result = run_scenario(parse_scenario(UNTREATED, "inline.toml"))
    frame = build_timeline(result)
    summary = summarize(result, frame)
    assert frame["withdrawal_stage"].iloc[-1] == 4
    assert "beyond the model" in summary["beyond_model"]


@pytest.mark.parametrize(("extra", "key"), [
    ('[[timeline]]\nday = 1\nevent = "patient_call"\nsymptoms = ["sneezing"]\n', "symptoms"),
    ('[[timeline]]\nday = 1\nevent = "access_port_bolus"\ndose_mcg = 0\n', "dose_mcg"),
    ('[[timeline]]\nday = 1\nevent = "resume"\nretitrate = "maybe"\n', "retitrate"),
])
def test_bad_act_events_are_refused_with_their_key(extra: str, key: str) -> None:
    with pytest.raises(ItbError) as refused:
        parse_scenario(UNTREATED + extra, "inline.toml")
    assert key in str(refused.value)


@pytest.mark.req("REQ-PRG-POOR-RESPONSE")
def test_a_poor_response_to_rising_doses_prompts_a_catheter_check_that_finds_the_leak() -> None:
    # Issue 16.15: the check comes before the next increase, and the increase is held.
    o = outcome("poor-response-catheter-check")
    checks = events(o, "catheter_check")
    assert len(checks) == 1 and "catheter leaks" in checks[0].detail
    assert "increase is held" in checks[0].detail
    increases = [e for e in events(o, "program") if "titration 20 %" in e.detail]
    assert len(increases) == 2  # the third was held
    fault = next(f for f in o.summary["faults"] if f["fault"] == "catheter_leak")
    assert fault["detected_by"] == "catheter check on a poor response"
    assert o.rows_between(10, 12)["ashworth"].max() < 2.0  # revised: control is back


def test_a_good_response_needs_no_check() -> None:
    from itb.sim.clinic import Increase, poor_response

    seen = [Increase(0, Fraction(400), 3.0), Increase(86_400, Fraction(480), 2.4)]
    assert not poor_response(seen, 2 * 86_400, Fraction(576), 1.8)  # tone fell and is low
    assert poor_response(seen, 2 * 86_400, Fraction(576), 2.9)       # tone did not fall
    assert not poor_response(seen, 30 * 86_400, Fraction(576), 2.9)  # increases long ago
    assert not poor_response(seen[:1], 2 * 86_400, Fraction(576), 3.0)


def test_renal_function_is_a_scenario_patient_parameter() -> None:
    # Issue 16.6: impaired kidneys slow the systemic clearance.
    text = UNTREATED.replace("days_on_therapy = 900",
                             "days_on_therapy = 900\n[patient.kinetics]\nrenal_function = 0.2")
    scenario = parse_scenario(text, "inline.toml")
    assert scenario.parameters.kinetics.renal_function == 0.2
    with pytest.raises(ItbError) as refused:
        parse_scenario(text.replace("0.2", "1.5"), "inline.toml")
    assert "renal_function" in str(refused.value)
