"""Triage follows the seeds' "when to call" lists exactly, sharpened by pump facts.

Seed lists are quoted from ../shared/seeds/ (001 side effects, 003 Penn withdrawal and
overdose lists, 004 Cleveland Clinic "When to Call the Doctor").
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.physiology import overdose, withdrawal
from itb.physiology.symptoms import BY_NAME, SYMPTOM_NAMES, Cause, Disposition
from itb.physiology.triage import AlarmTone, PumpFacts, triage

# Seed 004 "When to Call": withdrawal (itchy skin, sweating, muscle stiffness or spasms,
# low-grade fever, dizziness or lightheaded, seizures) -> 911.
SEED_004_WITHDRAWAL = ["itchy-skin", "sweating", "muscle-stiffness", "muscle-spasms",
                       "low-grade-fever", "dizziness", "lightheadedness", "seizures"]
# Seed 004 "When to Call": overdose (drowsiness, weakness, difficulty breathing, low body
# temperature, seizures, loss of consciousness) -> 911.
SEED_004_OVERDOSE = ["drowsiness", "weakness", "difficulty-breathing", "low-body-temperature",
                     "seizures", "loss-of-consciousness"]
# Seed 004 "Baclofen overdose symptoms" adds: difficulty standing up, sitting up or moving;
# low blood pressure ("seek medical attention as soon as possible"; suggestive -> 911).
SEED_004_OVERDOSE_SECTION = ["trouble-moving", "low-blood-pressure"]
# Seed 004 infection: a fever, skin discoloration or swelling over the pump or in your back,
# drainage from the incisions, pain -> contact your healthcare provider.
SEED_004_INFECTION = ["fever", "skin-discoloration-over-pump", "swelling-over-pump",
                      "skin-discoloration-in-back", "swelling-in-back", "drainage-from-incision",
                      "incision-pain"]
# Seed 003 withdrawal -> "Contact your doctor immediately".
SEED_003_WITHDRAWAL = ["dizziness", "extreme-sweating", "fever", "itchy-skin", "nausea",
                       "seizures", "severe-muscle-spasms", "severe-pain-at-pump-site"]
# Seed 003 overdose -> "Contact your doctor immediately".
SEED_003_OVERDOSE = ["difficulty-breathing", "drowsiness", "loss-of-consciousness",
                     "low-blood-pressure", "low-body-temperature", "weakness", "seizures",
                     "trouble-moving"]
# Seed 001 common side effects (usually temporary, managed by adjusting the dose); dizziness
# is also on seed 004's withdrawal list, which decides (911).
# Vomiting is left out: it is the stronger form of seed 003's nausea (issue 16.12).
SEED_001_SIDE_EFFECTS = ["loose-muscles", "sleepiness", "upset-stomach", "headache"]


# (signs, the disposition they lead to, the cause named): seed 004's lists decide, and seed
# 003's overdose signs are emergencies through seed 004.
LISTED_DISPOSITIONS = [
    (SEED_004_WITHDRAWAL, Disposition.EMERGENCY, Cause.WITHDRAWAL),
    (SEED_004_OVERDOSE + SEED_004_OVERDOSE_SECTION, Disposition.EMERGENCY, Cause.OVERDOSE),
    (SEED_004_INFECTION, Disposition.CARE_TEAM, Cause.INFECTION),
    (SEED_003_OVERDOSE, Disposition.EMERGENCY, Cause.OVERDOSE),
]


@pytest.mark.parametrize(("name", "disposition", "cause"), [
    (name, disposition, cause) for names, disposition, cause in LISTED_DISPOSITIONS
    for name in names])
def test_seed_signs_get_the_seeds_disposition_and_cause(name: str, disposition: Disposition,
                                                          cause: Cause) -> None:
    result = triage([name])
    assert result.disposition is disposition
    assert cause in result.causes


@pytest.mark.parametrize("name", SEED_003_WITHDRAWAL)
def test_seed_003_withdrawal_signs_call_the_doctor_immediately_at_least(name: str) -> None:
    result = triage([name])
    assert result.disposition >= Disposition.CARE_TEAM
    assert Cause.WITHDRAWAL in result.causes
    # Where seed 004 also lists the sign, its 911 instruction decides.
    in_004 = name in SEED_004_WITHDRAWAL or name in ("extreme-sweating", "severe-muscle-spasms")
    assert (result.disposition is Disposition.EMERGENCY) == in_004


@pytest.mark.parametrize("name", SEED_001_SIDE_EFFECTS)
def test_seed_001_side_effects_alone_are_routine(name: str) -> None:
    result = triage([name])
    assert result.disposition is Disposition.ROUTINE
    assert result.causes[0] is Cause.SIDE_EFFECT


def test_expected_post_operative_tenderness_is_routine() -> None:
    # Seed 001: "you'll feel some discomfort and tenderness at the pump and catheter sites".
    assert triage(["tenderness-at-incision"]).disposition is Disposition.ROUTINE


def test_alarm_heard_alone_is_a_pump_problem_for_the_care_team() -> None:
    result = triage([], PumpFacts.of(alarm_heard=True))
    assert result.disposition is Disposition.CARE_TEAM
    assert result.causes[0] is Cause.PUMP_OR_CATHETER


def test_critical_alarm_with_any_symptom_is_an_emergency() -> None:
    result = triage(["headache"], PumpFacts.of(alarm_tone="two-tone"))
    assert result.disposition is Disposition.EMERGENCY
    assert result.causes[:2] == (Cause.PUMP_OR_CATHETER, Cause.WITHDRAWAL)


def test_non_critical_alarm_with_a_side_effect_is_for_the_care_team() -> None:
    result = triage(["headache"], PumpFacts.of(alarm_tone=AlarmTone.NON_CRITICAL))
    assert result.disposition is Disposition.CARE_TEAM


def test_refill_overdue_points_to_withdrawal() -> None:
    # Seed 004: "Missing a pump refill appointment may lead to baclofen withdrawal."
    alone = triage([], PumpFacts.of(refill_overdue=True))
    assert alone.disposition is Disposition.CARE_TEAM
    assert alone.causes[0] is Cause.WITHDRAWAL
    with_sign = triage(["nausea"], PumpFacts.of(refill_overdue=True))
    assert with_sign.disposition is Disposition.EMERGENCY
    assert with_sign.causes[0] is Cause.WITHDRAWAL


def test_seizures_near_a_refill_point_to_overdose_first() -> None:
    # Seeds 003/004: overdose typically happens close to a refill or programming change.
    seizures = triage(["seizures"])
    assert seizures.causes[0] is Cause.WITHDRAWAL  # tie broken towards withdrawal
    after_refill = triage(["seizures"], PumpFacts.of(days_since_refill=1))
    assert after_refill.causes[0] is Cause.OVERDOSE
    after_change = triage(["seizures"], PumpFacts.of(hours_since_program_change=6))
    assert after_change.causes[0] is Cause.OVERDOSE


def test_sleepiness_near_a_refill_calls_the_care_team_but_not_weeks_later() -> None:
    near = triage(["sleepiness"], PumpFacts.of(days_since_refill="0.5"))
    assert near.disposition is Disposition.CARE_TEAM
    assert near.causes[0] is Cause.OVERDOSE
    later = triage(["sleepiness"], PumpFacts.of(days_since_refill=30))
    assert later.disposition is Disposition.ROUTINE


def test_headache_during_recovery_may_be_a_spinal_fluid_leak() -> None:
    # Seeds 003/004: recovery 6-8 weeks; seed 001: spinal fluid leak and headache.
    assert triage(["headache"], PumpFacts.of(days_since_implant=10)).disposition \
        is Disposition.CARE_TEAM
    assert triage(["headache"], PumpFacts.of(days_since_implant=200)).disposition \
        is Disposition.ROUTINE


def test_swelling_soon_after_implant_ranks_the_surgical_site() -> None:
    result = triage(["swelling-over-pump"], PumpFacts.of(days_since_implant=7))
    assert result.disposition is Disposition.CARE_TEAM
    assert set(result.causes[:2]) == {Cause.INFECTION, Cause.SURGICAL_SITE}


def test_nothing_reported_is_routine() -> None:
    result = triage([])
    assert result.disposition is Disposition.ROUTINE
    assert result.causes == ()


def test_unknown_symptom_is_refused_with_the_known_names() -> None:
    with pytest.raises(InvalidInput) as error:
        triage(["itchy"])
    assert error.value.field == "symptom"
    assert "itchy-skin" in str(error.value) and "seizures" in str(error.value)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"days_since_refill": -1}, "days_since_refill"),
    ({"hours_since_program_change": "soon"}, "hours_since_program_change"),
    ({"alarm_tone": "beep"}, "alarm_tone"),
    ({"days_since_implant": 1.5}, "days_since_implant"),
])
def test_bad_pump_facts_are_refused(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        PumpFacts.of(**kwargs)
    assert error.value.field == field


def test_emergency_tells_the_team_about_the_pump_and_the_danger() -> None:
    result = triage(["itchy-skin", "sweating"], PumpFacts.of(alarm_heard=True,
                                                             days_since_refill=40))
    text = " ".join(result.tell_the_team)
    assert "intrathecal baclofen pump" in text
    assert "itchy skin" in text and "alarm" in text and "40 days" in text
    assert "life-threatening" in text
    assert set(result.as_json()) >= {"disposition", "causes", "reason", "tell_the_team"}
    assert result.as_json()["disposition"] == "emergency"


def test_every_symptom_the_patient_model_reports_is_in_the_vocabulary() -> None:
    reported = {n for stage in withdrawal.SYMPTOMS_BY_STAGE for n in stage}
    reported |= {n for stage in overdose.SYMPTOMS_BY_STAGE for n in stage}
    reported |= set(overdose.SIDE_EFFECT_SYMPTOMS)
    assert reported <= set(SYMPTOM_NAMES)


def test_patient_reported_withdrawal_and_overdose_signs_triage_as_emergencies() -> None:
    for stage in withdrawal.SYMPTOMS_BY_STAGE[1:]:
        assert triage(stage).disposition is Disposition.EMERGENCY
        assert Cause.WITHDRAWAL in triage(stage).causes[:1]
    for stage in overdose.SYMPTOMS_BY_STAGE[1:]:
        assert triage(stage).disposition is Disposition.EMERGENCY
        assert triage(stage).causes[0] is Cause.OVERDOSE


def test_every_symptom_cites_a_source() -> None:
    for entry in BY_NAME.values():
        assert entry.listings
        assert all(("seed" in li.source) or ("labeling" in li.source) for li in entry.listings)


names = st.lists(st.sampled_from(SYMPTOM_NAMES), max_size=5, unique=True)


@settings(max_examples=150, deadline=None)
@given(names, st.sampled_from(SYMPTOM_NAMES))
def test_adding_a_symptom_never_lowers_the_disposition(base: list[str], extra: str) -> None:
    assert triage([*base, extra]).disposition >= triage(base).disposition


@settings(max_examples=100, deadline=None)
@given(names, st.booleans(), st.booleans(), st.sampled_from([None, 1, 200]))
def test_adding_pump_facts_never_lowers_the_disposition(base: list[str], alarm: bool,
                                                        overdue: bool, days: int | None) -> None:
    facts = PumpFacts.of(alarm_heard=alarm, refill_overdue=overdue, days_since_refill=days)
    assert triage(base, facts).disposition >= triage(base).disposition


def test_seed_003_only_signs_ask_for_the_care_team_now_infection_signs_today() -> None:
    # Seed 003: "Contact your doctor immediately"; seed 004 infection: "Contact your
    # healthcare provider".
    assert triage(["nausea"]).reason.startswith("Call the care team now")
    assert triage(["swelling-in-back"]).reason.startswith("Call the care team today")
    # Fever: infection (seed 004) and withdrawal (seed 003, immediately): urgent.
    assert triage(["fever"]).reason.startswith("Call the care team now")


# --- issue 9.15 and 16.9-12 ---------------------------------------------------------------

def test_symptom_names_are_case_insensitive() -> None:
    result = triage(["Itchy-Skin", " SWEATING "])
    assert result.disposition is Disposition.EMERGENCY
    assert result.symptoms == ("itchy-skin", "sweating")
    assert triage(["itchy-skin", "ITCHY-SKIN"]).symptoms == ("itchy-skin",)


@pytest.mark.parametrize("second", ["headache", "neck-stiffness"])
@pytest.mark.parametrize("fever", ["fever", "high-fever", "low-grade-fever"])
def test_fever_with_headache_or_neck_stiffness_is_meningitis_an_emergency(fever: str,
                                                                          second: str) -> None:
    result = triage([fever, second])
    assert result.disposition is Disposition.EMERGENCY
    assert result.causes[0] is Cause.MENINGITIS
    assert "meningitis" in result.reason
    # Neither alone is an emergency.
    assert triage([second]).disposition < Disposition.EMERGENCY
    assert triage(["fever"]).disposition < Disposition.EMERGENCY


@pytest.mark.parametrize("sign", ["swelling-over-pump", "severe-pain-at-pump-site",
                                  "fluid-at-pump-site"])
def test_swelling_pain_or_fluid_at_the_pump_hours_after_a_refill_is_a_pocket_fill(
        sign: str) -> None:
    result = triage([sign], PumpFacts.of(days_since_refill="0.2"))
    assert result.disposition is Disposition.EMERGENCY
    assert result.causes[0] is Cause.OVERDOSE
    assert "pocket fill" in result.reason
    # Weeks later the same sign is not a pocket fill.
    later = triage([sign], PumpFacts.of(days_since_refill=20))
    assert later.disposition is Disposition.CARE_TEAM
    assert Cause.OVERDOSE not in later.causes


def test_confusion_after_a_refill_carries_overdose_first_and_withdrawal() -> None:
    result = triage(["confusion"], PumpFacts.of(days_since_refill="0.5"))
    assert result.causes[:2] == (Cause.OVERDOSE, Cause.WITHDRAWAL)
    assert "overdose" in result.tell_the_team[-2] or any(
        "overdose" in line and "withdrawal" in line for line in result.tell_the_team)
    # With an overdue refill, withdrawal comes first and overdose stays listed.
    overdue = triage(["confusion"], PumpFacts.of(refill_overdue=True))
    assert overdue.causes[:2] == (Cause.WITHDRAWAL, Cause.OVERDOSE)


def test_low_blood_pressure_is_also_an_early_withdrawal_sign() -> None:
    assert set(triage(["low-blood-pressure"]).causes) >= {Cause.OVERDOSE, Cause.WITHDRAWAL}
    alarm = triage(["low-blood-pressure"], PumpFacts.of(alarm_tone="two-tone"))
    assert alarm.causes[0] in (Cause.WITHDRAWAL, Cause.PUMP_OR_CATHETER)
    assert Cause.WITHDRAWAL in alarm.causes[:2]


def test_vomiting_and_nausea_are_triaged_alike_on_the_day_of_a_refill() -> None:
    facts = PumpFacts.of(days_since_refill=0)
    assert triage(["vomiting"], facts).disposition == triage(["nausea"], facts).disposition
    assert triage(["vomiting"]).disposition >= triage(["nausea"]).disposition
    assert Cause.OVERDOSE in triage(["vomiting"], facts).causes


@pytest.mark.parametrize(("name", "disposition", "cause"), [
    ("autonomic-dysreflexia", Disposition.EMERGENCY, Cause.WITHDRAWAL),
    ("hallucinations", Disposition.EMERGENCY, Cause.WITHDRAWAL),
    ("fast-heart-rate", Disposition.CARE_TEAM, Cause.WITHDRAWAL),
    ("postural-headache", Disposition.CARE_TEAM, Cause.SURGICAL_SITE),
    ("gradual-loss-of-effect", Disposition.CARE_TEAM, Cause.PUMP_OR_CATHETER),
])
def test_added_signs(name: str, disposition: Disposition, cause: Cause) -> None:
    result = triage([name])
    assert result.disposition is disposition
    assert cause in result.causes


def test_gradual_loss_of_effect_asks_for_a_catheter_check() -> None:
    result = triage(["gradual-loss-of-effect"])
    assert any("catheter" in line for line in result.tell_the_team)


def test_fast_heart_rate_with_an_alarm_is_an_emergency() -> None:
    facts = PumpFacts.of(alarm_tone="single-tone")
    assert triage(["fast-heart-rate"], facts).disposition is Disposition.EMERGENCY
