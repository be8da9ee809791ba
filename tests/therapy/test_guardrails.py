"""The two-tier guardrails (issue 14): every limit at both tier edges, the one rule (a block
only for a change that moves the value further beyond; a decrease is never blocked), and the
property that the check never changes a value."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy import guardrails
from itb.therapy.catalogue import MAINTENANCE, AgeGroup, Origin
from itb.therapy.dosing import assess_titration
from itb.therapy.errors import GuardrailBlocked
from itb.therapy.guardrails import GUARDRAILS, Limit, Tier

SPINAL = MAINTENANCE[(Origin.SPINAL, AgeGroup.ADULT)]  # usual 300-800, reported 12-2003


def tier(found: tuple[guardrails.Finding, ...]) -> Tier | None:
    assert len(found) <= 1
    return found[0].tier if found else None


def spinal_change(current: int, proposed: str, hours: int | None = None
                  ) -> tuple[guardrails.Finding, ...]:
    # Spinal origin, titration: the labeled step is +10-30% (middle 20%).
    return guardrails.check_dose_change(
        current_mcg_per_day=F(current), proposed_mcg_per_day=F(proposed),
        step_low_percent=F(10), step_high_percent=F(30), hours_since_last_change=hours)


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("proposed", "expected"), [
    ("359", None), ("360", None), ("361", Tier.WARNING),  # warning edge: +20%
    ("389", Tier.WARNING), ("390", Tier.WARNING), ("391", Tier.BLOCK),  # block edge: +30%
])
def test_dose_increase_per_step_tiers(proposed: str, expected: Tier | None) -> None:
    found = spinal_change(300, proposed)
    assert tier(found) is expected
    if found:
        assert found[0].limit is Limit.DOSE_INCREASE and found[0].value == (F(proposed) - 300) / 3


@pytest.mark.req("REQ-THER-GUARDRAILS")
def test_the_increase_block_is_the_titration_rules_largest_step() -> None:
    # One rule: the guardrail's block edge is exactly where the titration rule needs a reason.
    for proposed in (F(390), F(391)):
        decision = assess_titration(current_mcg_per_day=300, proposed_mcg_per_day=proposed,
                                    origin="spinal", age_group="adult")
        blocked = tier(spinal_change(300, str(proposed))) is Tier.BLOCK
        assert blocked == bool(decision.violations)


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("hours", "expected"), [(23, Tier.BLOCK), (24, None), (25, None)])
def test_an_increase_within_24_hours_is_blocked(hours: int, expected: Tier | None) -> None:
    found = spinal_change(300, "310", hours)
    assert tier(found) is expected  # +3.3%: no step finding, only the interval


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("proposed", "expected"), [
    ("241", None), ("240", None), ("239", Tier.WARNING), ("0", Tier.WARNING)])
def test_a_decrease_warns_beyond_20_percent_and_is_never_blocked(proposed: str,
                                                                  expected: Tier | None) -> None:
    found = spinal_change(300, proposed, hours=1)  # 1 h after a change: a decrease is allowed
    assert tier(found) is expected
    if found:
        assert found[0].limit is Limit.DOSE_DECREASE and found[0].explicit


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("total", "current", "expected"), [
    ("799", 700, None), ("800", 700, None), ("801", 700, Tier.BLOCK),  # raised above: block
    ("801", None, Tier.BLOCK),  # a new program above the usual range
    ("900", 1000, Tier.WARNING),  # a decrease still above it: a warning, never a block
    ("1000", 1000, Tier.WARNING),  # kept (a redistribution)
])
def test_daily_total_tiers(total: str, current: int | None, expected: Tier | None) -> None:
    found = guardrails.check_daily_total(F(total), SPINAL,
                                         current_mcg_per_day=None if current is None
                                         else F(current))
    assert tier(found) is expected


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("rate", "expected"), [
    ("800", None), ("801", Tier.WARNING), ("2003", Tier.WARNING), ("2004", Tier.BLOCK)])
def test_flex_step_rate_tiers(rate: str, expected: Tier | None) -> None:
    found = guardrails.check_flex_steps([("step 07:00", F(rate)), ("step 22:00", F(100))],
                                        SPINAL, current_highest_mcg_per_day=F(500))
    assert tier(found) is expected
    if found:
        assert found[0].subject == "step 07:00" and "step 07:00" in found[0].sentence


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("dose", "expected"), [
    ("49", None), ("50", None), ("51", Tier.WARNING),
    ("99", Tier.WARNING), ("100", Tier.WARNING), ("101", Tier.BLOCK)])
def test_bolus_size_tiers(dose: str, expected: Tier | None) -> None:
    assert tier(guardrails.check_bolus(F(dose))) is expected


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("new", "expected"), [
    ("500", None), ("499", Tier.WARNING), ("501", Tier.WARNING),
    ("1000", Tier.WARNING), ("1001", Tier.BLOCK), ("2000", Tier.BLOCK)])
def test_strength_tiers_from_500(new: str, expected: Tier | None) -> None:
    assert tier(guardrails.check_strength(F(new), F(500))) is expected


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize(("new", "expected"), [
    ("2.1", None), ("2", None), ("1.9", Tier.WARNING),
    ("1.1", Tier.WARNING), ("1", Tier.WARNING), ("0.9", Tier.BLOCK)])
def test_alarm_volume_tiers(new: str, expected: Tier | None) -> None:
    assert tier(guardrails.check_alarm_volume(F(new), F(2))) is expected


@pytest.mark.req("REQ-THER-GUARDRAILS")
def test_raising_a_low_alarm_volume_is_a_warning_not_a_block() -> None:
    found = guardrails.check_alarm_volume(F("0.8"), F("0.5"))
    assert tier(found) is Tier.WARNING and "not blocked" in found[0].sentence


@pytest.mark.req("REQ-THER-GUARDRAILS")
def test_a_block_needs_a_reason_and_the_record_keeps_tier_value_threshold_and_reason() -> None:
    found = guardrails.check_bolus(F(150))
    with pytest.raises(GuardrailBlocked) as refused:
        guardrails.blocked(found, None)
    with pytest.raises(GuardrailBlocked):
        guardrails.blocked(found, "   ")
    assert refused.value.field == "bolus size" and "at most 100 mcg" in refused.value.allowed
    guardrails.blocked(found, "intrathecal bolus for withdrawal, per the physician")
    guardrails.blocked(guardrails.check_bolus(F(60)), None)  # a warning is no block
    record = guardrails.record(found, " per the physician ")
    assert record["guardrail_override_reason"] == "per the physician"
    entry = record["guardrails"][0]
    assert (entry["tier"], entry["value"], entry["threshold"], entry["unit"]) == (
        "block", "150", "100", "mcg")
    assert entry["source"]


def test_every_row_has_a_source_and_every_limit_a_warning_tier() -> None:
    assert all(row.source for row in GUARDRAILS)
    for limit in Limit:
        tiers = {row.tier for row in guardrails.rows(limit)}
        assert tiers, limit
        # Only the 24-hour rule is a block alone; only a decrease has no block tier.
        if limit is not Limit.INCREASE_INTERVAL:
            assert Tier.WARNING in tiers
        if limit is not Limit.DOSE_DECREASE:
            assert Tier.BLOCK in tiers


exact_values = st.fractions(min_value=0, max_value=10_000, max_denominator=1000)


@pytest.mark.req("REQ-THER-GUARDRAILS")
@given(value=exact_values, current=st.none() | exact_values.filter(bool))
def test_a_value_is_never_changed_by_the_guardrail_check(value: F, current: F | None) -> None:
    before = (value, current)
    found = (guardrails.check_bolus(value) + guardrails.check_alarm_volume(value, current)
             + guardrails.check_daily_total(value, SPINAL, current_mcg_per_day=current)
             + guardrails.check_flex_steps([("step 00:00", value)], SPINAL,
                                           current_highest_mcg_per_day=current))
    if current:
        found += guardrails.check_strength(value, current) + guardrails.check_dose_change(
            current_mcg_per_day=current, proposed_mcg_per_day=value,
            step_low_percent=F(10), step_high_percent=F(30))
    assert (value, current) == before
    for finding in found:
        # The finding reports the value as given (never clipped to the threshold).
        assert finding.value in (value, (value - current) * 100 / current if current else None,
                                 (current - value) * 100 / current if current else None)
        assert finding.value != finding.threshold


@pytest.mark.req("REQ-THER-GUARDRAILS")
@pytest.mark.parametrize("reason", ["", " ", "\t\n"])
def test_a_blank_override_reason_is_refused_naming_the_field(reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        guardrails.check_override_reason(reason)
    assert str(refused.value) == (f"override_reason = {reason!r} is not allowed: allowed is a "
                                  "non-empty reason")


@pytest.mark.parametrize("reason", [None, "ordered by the physician"])
def test_no_reason_or_a_real_reason_passes_the_override_check(reason: str | None) -> None:
    assert guardrails.check_override_reason(reason) is None
