"""Every scenario in scenarios/ and its clinically expected outcome."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from itb.sim import parse_scenario

from .helpers import SCENARIOS, Outcome, outcome

LIBRARY = sorted(p.stem for p in SCENARIOS.glob("*.toml"))


def test_the_library_covers_the_issue_list() -> None:
    wanted = {"normal-year", "missed-refill", "catheter-occlusion", "pocket-fill",
              "concentration-change-bridge", "concentration-change-no-bridge",
              "mri-motor-stall", "eri-planned", "eri-neglected", "screening-second-dose",
              "catheter-disconnection", "memory-error", "wrong-concentration",
              "population-flex-titration"}
    assert wanted <= set(LIBRARY)


@pytest.mark.parametrize("name", LIBRARY)
def test_every_library_scenario_validates(name: str) -> None:
    path = SCENARIOS / f"{name}.toml"
    scenario = parse_scenario(path.read_text(encoding="utf-8"), str(path))
    assert scenario.spec.scenario.description, "each library scenario explains itself"


def test_normal_year_keeps_the_patient_controlled_without_alarms() -> None:
    o = outcome("normal-year")
    s = o.summary
    assert s["first_alarm"] is None and s["alarms"] == []
    assert s["first_symptom"] is None
    assert s["worst"]["withdrawal"]["stage"] == 0 and s["worst"]["overdose"]["stage"] == 0
    refills = s["refills"]
    # Refilled on the planned dates, about every 65 days: five refills in the year.
    assert len(refills) == 5
    assert all(r["outcome"] == "refilled" and r["check"] == "ok" for r in refills)
    assert all(abs(Fraction(r["discrepancy_ml"])) < 2 for r in refills)
    after_start = o.rows_between(1, 365)
    assert after_start["ashworth"].max() < 2.0  # spasticity controlled (baseline 3.5)
    assert after_start["reservoir_true_ml"].min() > 2.0  # never near empty
    # A year at 5-minute resolution.
    assert len(o.frame) == 365 * 288


@pytest.mark.req("REQ-PUMP-RESERVOIR-ALARMS")
def test_missed_refill_empties_the_reservoir_and_causes_withdrawal() -> None:
    o = outcome("missed-refill")
    s = o.summary
    kinds = [a["kind"] for a in s["alarms"]]
    assert kinds[:2] == ["low_reservoir", "reservoir_empty"]
    assert s["worst"]["withdrawal"]["stage"] >= 3
    first = s["first_symptom"]
    assert first is not None and first["withdrawal_stage"] >= 1
    assert "refill is overdue" in first["pump_facts"]
    assert first["triage"]["disposition"] == "emergency"
    assert "withdrawal" in first["triage"]["causes"]
    # The withdrawal starts only after the missed appointment (day 28), before the late refill.
    assert 28 * 24 < first["hours_after_start"] < 45 * 24
    # After the late refill on day 45 the drug is back and the stage falls.
    late = o.rows_between(49, 50)
    assert late["withdrawal_stage"].max() < s["worst"]["withdrawal"]["stage"]
    assert late["delivered_mcg_per_day"].mean() > 400


def test_silent_occlusion_withdrawal_with_no_alarm_until_the_refill_residual() -> None:
    o = outcome("catheter-occlusion")
    s = o.summary
    fault = next(f for f in s["faults"] if f["fault"] == "catheter_occlusion")
    # The firmware never knew: the only alarms come after the blocked refill, whose residual
    # was withdrawn and discarded (issue 16.8), leaving the pump empty until the next day.
    assert [a["kind"] for a in s["alarms"]] == ["low_reservoir", "reservoir_empty"] or \
        {a["kind"] for a in s["alarms"]} <= {"low_reservoir", "reservoir_empty"}
    assert all(a["raised"] >= "2026-03-04T09:00:00+00:00" for a in s["alarms"])  # day 30
    assert all(a["cleared"] == "2026-03-05T09:00:00+00:00" for a in s["alarms"])  # day 31
    assert fault["detected_by"] == "refill residual discrepancy"
    assert fault["hours_to_detection"] == 20 * 24  # fault day 10, refill day 30
    # Withdrawal within hours of the occlusion, long before the detection.
    assert fault["first_symptom_after"]["hours_after_fault"] < 12
    assert s["worst"]["withdrawal"]["stage"] >= 3
    blocked = s["refills"][0]
    assert blocked["outcome"] == "blocked"
    assert Fraction(blocked["discrepancy_ml"]) > 2  # more left in the reservoir than expected
    # The residual was drawn out and discarded: the next day's refill finds nothing left,
    # so nothing is "withdrawn" twice.
    assert Fraction(s["refills"][1]["withdrawn_ml"]) == 0
    assert o.rows_between(30.01, 30.99)["reservoir_true_ml"].max() == 0
    # Life-threatening withdrawal does not resolve at home (issue 16.3): it lasts from its
    # onset until the catheter revision restores delivery on day 31.
    stage = o.frame["withdrawal_stage"].to_numpy()
    hours = o.frame["hours"].to_numpy()
    first4 = int(np.argmax(stage == 4))
    assert hours[first4] < 14 * 24
    assert (stage[(hours >= hours[first4]) & (hours < 31 * 24)] == 4).all()
    assert s["beyond_model"] is None  # treated before the end
    # The firmware's estimate kept falling while the true reservoir stood still.
    during = o.rows_between(11, 29)
    assert during["reservoir_true_ml"].max() - during["reservoir_true_ml"].min() < 0.01
    assert during["reservoir_estimate_ml"].iloc[0] - during["reservoir_estimate_ml"].iloc[-1] > 4
    assert (during["delivered_mcg_per_day"] == 0).all()
    assert (during["commanded_mcg_per_day"] > 400).all()
    # After the catheter revision and the refill, delivery and control come back.
    end = o.rows_between(35, 36)
    assert end["delivered_mcg_per_day"].mean() > 400
    assert end["withdrawal_stage"].max() == 0


def test_pocket_fill_overdoses_within_hours() -> None:
    o = outcome("pocket-fill")
    s = o.summary
    fault = next(f for f in s["faults"] if f["fault"] == "refill_pocket_fill")
    assert fault["first_alarm_after"] is None  # the firmware believes it was filled
    symptom = fault["first_symptom_after"]
    assert symptom is not None and symptom["hours_after_fault"] < 4
    assert {"drowsiness", "weakness"} <= set(symptom["symptoms"])
    # 40 mg absorbed systemically peaks at ~0.6 mcg/mL: mild, above the oral range (16.6).
    assert s["worst"]["overdose"]["stage"] >= 1
    assert s["first_symptom"]["triage"]["disposition"] == "emergency"
    assert s["first_symptom"]["triage"]["causes"][0] == "overdose"
    assert Fraction(s["delivery"]["pocket_mcg"]) == 40_000  # 20 mL at 2000 mcg/mL
    # The plasma, not the CSF, carries this overdose.
    day2 = o.rows_between(2, 2.5)
    assert day2["plasma_mcg_per_ml"].max() > 0.3


def test_the_bridge_bolus_avoids_the_dose_excursion_of_a_concentration_change() -> None:
    bridge = outcome("concentration-change-bridge")
    plain = outcome("concentration-change-no-bridge")
    window = (2, 3)  # the day after the change to 500 mcg/mL (refill on day 2)

    def drug_mcg(o: Outcome) -> float:
        rows = o.rows_between(*window)
        return float(rows["delivered_mcg_per_day"].sum() * 300 / 86_400)

    # Without the bridge the old 2000 mcg/mL drug leaves at the new fourfold flow.
    assert drug_mcg(plain) > drug_mcg(bridge) + 400
    assert abs(drug_mcg(bridge) - 500) < 60
    assert plain.rows_between(*window)["effect_site_mcg_per_ml"].max() > 2 * bridge.rows_between(
        *window)["effect_site_mcg_per_ml"].max()
    assert plain.rows_between(*window)["side_effects"].any()
    assert not bridge.rows_between(*window)["side_effects"].any()
    assert bridge.summary["refills"][0]["bridge_bolus"] is True
    assert plain.summary["refills"][0]["bridge_bolus"] is False


@pytest.mark.req("REQ-PUMP-STALL")
def test_mri_stall_sounds_the_critical_alarm_and_recovers() -> None:
    o = outcome("mri-motor-stall")
    s = o.summary
    assert [a["kind"] for a in s["alarms"]] == ["motor_stall"]
    alarm = s["alarms"][0]
    assert alarm["critical"] is True
    assert alarm["raised"] == "2026-06-04T10:00:00+00:00"
    assert alarm["cleared"] == "2026-06-04T11:00:00+00:00"
    stalled = o.frame[(o.frame["time"] >= "2026-06-04T10:05:00Z")
                      & (o.frame["time"] < "2026-06-04T10:55:00Z")]
    assert (stalled["delivered_mcg_per_day"] == 0).all()
    assert stalled["alarms"].str.contains("motor_stall").all()
    assert s["worst"]["withdrawal"]["stage"] == 0
    later = o.rows_between(4, 6)
    assert later["delivered_mcg_per_day"].mean() > 450
    assert later["alarms"].eq("").all()


@pytest.mark.req("REQ-PUMP-BATTERY")
def test_eri_with_a_planned_replacement_never_reaches_end_of_service() -> None:
    o = outcome("eri-planned")
    s = o.summary
    kinds = [a["kind"] for a in s["alarms"]]
    assert kinds == ["elective_replacement"]
    assert s["first_alarm"]["hours_after_start"] < 15 * 24
    assert "end_of_service" not in kinds
    assert s["worst"]["withdrawal"]["stage"] == 0
    assert s["pump_at_end"]["battery_state"] == "ok"
    assert s["pump_at_end"]["serial"].endswith("-2")


def test_neglected_eri_reaches_end_of_service_and_withdrawal() -> None:
    o = outcome("eri-neglected")
    s = o.summary
    kinds = [a["kind"] for a in s["alarms"]]
    assert kinds == ["elective_replacement", "end_of_service"]
    eri, eos = s["alarms"]
    # devices.md: after ERI the pump runs on and stops after 90 days.
    assert eri["raised"][:10] == "2026-07-11" and eos["raised"][:10] == "2026-10-09"
    assert s["pump_at_end"]["battery_state"] == "end_of_service"
    first = s["first_symptom"]
    assert first is not None and first["withdrawal_stage"] >= 1
    assert "pump alarm heard (two-tone, critical)" in first["pump_facts"]
    assert first["triage"]["disposition"] == "emergency"
    assert s["worst"]["withdrawal"]["stage"] >= 3


@pytest.mark.req("REQ-THER-SCREENING")
def test_screening_fails_at_50_and_passes_at_75_then_starts_at_twice_the_dose() -> None:
    o = outcome("screening-second-dose")
    screening = o.summary["screening"]
    assert [b["dose_mcg"] for b in screening["boluses"]] == ["50", "75"]
    assert [b["positive"] for b in screening["boluses"]] == [False, True]
    assert screening["decision"] == "candidate"
    # Effect of 8 h or less: the initial daily dose is twice the screening dose (label).
    assert Fraction(screening["boluses"][1]["effect_duration_h"]) <= 8
    assert screening["initial_daily_dose_mcg"] == "150"
    assert o.summary["implanted"] is True
    after_implant = o.rows_between(3.5, 6)
    assert abs(after_implant["commanded_mcg_per_day"].mean() - 150) < 1
    # The test doses relaxed the patient for some hours, then spasticity came back.
    day2 = o.rows_between(1, 2)
    assert day2["ashworth"].min() < 2.6 < day2["ashworth"].max()
    assert o.summary["worst"]["withdrawal"]["stage"] == 0


def test_timeline_reservoirs_match_the_pump_at_the_end() -> None:
    o = outcome("normal-year")
    pump_status = o.result.final_status
    assert pump_status is not None
    last = o.result.history.anchors[-1]
    assert last[2] == pump_status["reservoir_estimate_nl"]
    # The last 5-minute sample is within one sample's flow of the exact end values.
    tail = o.frame.iloc[-1]
    assert abs(tail["reservoir_estimate_ml"] - last[2] / 1e6) < 0.01
    assert abs(tail["reservoir_true_ml"] - last[1] / 1e6) < 0.01
    assert np.isfinite(o.frame["reservoir_true_ml"]).all()


def test_catheter_disconnection_is_silent_to_the_pump_and_the_refill_check() -> None:
    o = outcome("catheter-disconnection")
    s = o.summary
    fault = next(f for f in s["faults"] if f["fault"] == "catheter_disconnection")
    # The drug did leave the reservoir: no alarm, and the residual matches the estimate.
    assert fault["first_alarm_after"] is None and fault["first_discrepancy_after"] is None
    assert fault["detected_by"] is None
    assert s["refills"][0]["check"] == "ok"
    assert fault["first_symptom_after"]["hours_after_fault"] < 12
    assert s["worst"]["withdrawal"]["stage"] >= 3
    assert Fraction(s["delivery"]["leaked_mcg"]) > 7000  # 15 days at ~500 mcg/day
    leaking = o.rows_between(6, 20)
    assert (leaking["delivered_mcg_per_day"] == 0).all()
    assert (leaking["plasma_mcg_per_ml"] > 0).all()  # absorbed from the tissue
    revised = o.rows_between(25, 26)
    assert revised["delivered_mcg_per_day"].mean() > 400
    assert revised["withdrawal_stage"].max() == 0


@pytest.mark.req("REQ-PUMP-MEMORY")
def test_memory_error_drops_to_the_minimum_rate_with_a_critical_alarm_until_reprogrammed(
        ) -> None:
    o = outcome("memory-error")
    s = o.summary
    assert [(a["kind"], a["critical"]) for a in s["alarms"]] == [("memory_error", True)]
    assert s["alarms"][0]["cleared"] == "2026-05-14T08:00:00+00:00"  # reprogrammed on day 3
    safe = o.rows_between(2.1, 2.9)
    # The minimum rate, 0.048 mL/day at 2000 mcg/mL, is 96 mcg/day (devices.md).
    assert abs(safe["commanded_mcg_per_day"].median() - 96) < 1
    assert s["worst"]["withdrawal"]["stage"] >= 1
    first = s["first_symptom"]
    assert "pump alarm heard (two-tone, critical)" in first["pump_facts"]
    assert first["triage"]["disposition"] == "emergency"
    assert o.rows_between(4, 6)["commanded_mcg_per_day"].mean() > 490


def test_wrong_concentration_overdoses_without_any_alarm() -> None:
    o = outcome("wrong-concentration")
    s = o.summary
    assert s["alarms"] == []
    assert s["worst"]["overdose"]["stage"] >= 1
    fault = next(f for f in s["faults"] if f["fault"] == "refill_wrong_concentration")
    assert fault["detected_by"] is None
    assert fault["first_symptom_after"]["hours_after_fault"] < 72
    # Four times the programmed dose reaches the patient once the catheter has turned over.
    late = o.rows_between(3, 6)
    assert late["delivered_mcg_per_day"].median() > 3.5 * late["commanded_mcg_per_day"].median()
    assert s["first_symptom"]["triage"]["causes"][0] == "overdose"


def test_population_patient_is_screened_implanted_and_titrated_by_the_labeled_steps() -> None:
    o = outcome("population-flex-titration")
    s = o.summary
    assert s["patient"]["kind"] == "population draw"
    assert s["screening"]["decision"] == "candidate"
    assert s["refused"] == []
    doses = [e.detail for e in o.result.events if e.kind == "program"]
    assert len(doses) == 6
    # Each titration step stays within +10-30 % (spinal origin), never more than daily.
    day30 = o.rows_between(29, 30)
    day4 = o.rows_between(3.5, 4.5)
    assert day30["ashworth"].mean() < day4["ashworth"].mean()
    assert s["worst"]["withdrawal"]["stage"] == 0 and s["worst"]["overdose"]["stage"] == 0
    # The flex schedule gives more at night: the delivered rate follows two levels a day.
    assert day30["delivered_mcg_per_day"].max() > 1.5 * day30["delivered_mcg_per_day"].min()


def test_an_established_patient_starts_with_a_primed_catheter() -> None:
    # Issue 16.7: no start-up gap while saline is pushed out of a new catheter: the drug
    # keeps arriving from the first sample, and the spinal fluid stays near steady state.
    o = outcome("pocket-fill")
    first_hours = o.rows_between(0, 0.25)  # before the refill on day 2
    assert (first_hours["delivered_mcg_per_day"] > 400).all()
    lumbar = first_hours["lumbar_csf_mcg_per_ml"]
    assert lumbar.min() > 0.9 * lumbar.iloc[0]
    implanted = next(e for e in o.result.events if e.kind == "pump_implanted")
    assert implanted.time_s == o.result.scenario.start_s and "primed" in implanted.detail
