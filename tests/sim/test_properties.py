"""Invariants of a run over random timelines of refills, refill errors and faults."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from itb.sim import build_timeline, parse_scenario, run_scenario, summarize

# The fixed part of the random runs; the timeline is drawn.
HEAD = (Path(__file__).parent / "scenario_random_head.toml").read_text(encoding="utf-8")

REFILL = st.sampled_from([
    'event = "refill"\nfill_ml = 12',
    'event = "refill"\nfill_ml = 12\nerror = "pocket_fill"\npocket_fill_ml = 3',
    'event = "refill"\nfill_ml = 12\nerror = "wrong_concentration"\n'
    'true_concentration_mcg_per_ml = 500',
    'event = "refill"\nerror = "missed"',
    'event = "refill"\nfill_ml = 12\nconcentration_mcg_per_ml = 1000\nbridge_bolus = true',
])
FAULT = st.sampled_from([
    'event = "fault"\nfault = "catheter_occlusion"',
    'event = "fault"\nfault = "catheter_occlusion"\nflow_fraction = 0.25',
    'event = "fault"\nfault = "catheter_leak"\nleak_fraction = 0.5',
    'event = "fault"\nfault = "motor_stall"\nduration_h = 3',
    'event = "fault"\nfault = "memory_error"',
    'event = "catheter_revision"',
    'event = "acknowledge_alarms"',
])


@st.composite
def timelines(draw: st.DrawFn) -> str:
    entries = []
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        hours = draw(st.integers(min_value=1, max_value=6 * 24 - 1))
        body = draw(st.one_of(REFILL, FAULT))
        entries.append(f"[[timeline]]\nday = \"{Fraction(hours, 24)}\"\n{body}\n")
    return HEAD + "\n" + "\n".join(entries)


@settings(max_examples=25, deadline=None)
@given(text=timelines())
def test_drug_reaching_the_patient_never_exceeds_the_drug_put_in(text: str) -> None:
    scenario = parse_scenario(text, "random.toml")
    result = run_scenario(scenario)
    frame = build_timeline(result)
    summary = summarize(result, frame)
    put_in = Fraction(10) * 2000  # the implant fill
    for refill in result.refills:
        if refill.outcome == "refilled":
            conc = refill.true_concentration_mcg_per_ml or refill.concentration_mcg_per_ml
            put_in += Fraction(refill.added_nl, 1_000_000) * conc
    delivery = summary["delivery"]
    out = Fraction(delivery["csf_mcg"]) + Fraction(delivery["leaked_mcg"]) + \
        Fraction(delivery["pocket_mcg"])
    assert out <= put_in
    # The true reservoir is never negative, and every row has the patient's state.
    assert (frame["reservoir_true_ml"] >= -1e-9).all()
    assert (frame["delivered_mcg_per_day"] >= -1e-6).all()
    assert len(frame) == 6 * 288 and frame["ashworth"].between(0, 4).all()


@settings(max_examples=25, deadline=None)
@given(text=timelines())
def test_a_fault_is_never_detected_before_it_happens(text: str) -> None:
    scenario = parse_scenario(text, "random.toml")
    result = run_scenario(scenario)
    summary = summarize(result, build_timeline(result))
    for fault in summary["faults"]:
        if fault["hours_to_detection"] is not None:
            assert fault["hours_to_detection"] >= 0
        if fault["first_symptom_after"] is not None:
            assert fault["first_symptom_after"]["hours_after_fault"] >= 0
