"""Bridge bolus for a concentration change."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy.bridge import BridgeBolus, catheter_volume_ml, plan_bridge_bolus


@pytest.mark.req("REQ-THER-BRIDGE")
def test_catheter_volume_prometra_figure() -> None:
    # Prometra II manual: implanted length x 0.0026 mL/cm; 110 cm - 20 cm trimmed = 90 cm.
    assert catheter_volume_ml(90) == Fraction("0.234")


@pytest.mark.req("REQ-THER-BRIDGE")
def test_bridge_500_to_2000_keeps_old_dose_then_new_rate() -> None:
    bridge = plan_bridge_bolus(old_concentration_mcg_per_ml=500,
                               new_concentration_mcg_per_ml=2000, old_daily_dose_mcg=300,
                               pump_tubing_ml="0.2", catheter_ml="0.1")
    assert bridge.dead_volume_ml == Fraction("0.3")
    assert bridge.bridge_rate_ml_per_day == Fraction("0.6")
    assert bridge.bridge_duration_s == 12 * 3600  # 0.3 mL at 0.6 mL/day
    assert bridge.bridge_dose_mcg == 150
    assert bridge.new_rate_ml_per_day == Fraction("0.15")
    assert bridge.new_daily_dose_mcg == 300


def drug_reached_mcg(bridge: BridgeBolus, t_days: Fraction) -> Fraction:
    """Drug that reached the patient by `t_days` after the change, by following the fluid.

    Independent of the plan's own dose fields: the pump pushes at the bridge rate, then at
    the new rate; what leaves the catheter tip is first the dead volume of old drug, then
    new drug (first in, first out).
    """
    bridge_days = bridge.bridge_duration_s / 86400
    pushed_ml = (bridge.bridge_rate_ml_per_day * t_days if t_days <= bridge_days else
                 bridge.bridge_rate_ml_per_day * bridge_days
                 + bridge.new_rate_ml_per_day * (t_days - bridge_days))
    old_ml = min(pushed_ml, bridge.dead_volume_ml)
    return old_ml * bridge.old_concentration_mcg_per_ml \
        + (pushed_ml - old_ml) * bridge.new_concentration_mcg_per_ml


@pytest.mark.req("REQ-THER-BRIDGE")
@settings(max_examples=80, deadline=None)
@given(concentrations=st.lists(st.integers(min_value=1, max_value=4000), min_size=2,
                               max_size=2, unique=True),
       old_dose=st.integers(min_value=12, max_value=2000),
       new_dose=st.one_of(st.none(), st.integers(min_value=12, max_value=2000)),
       tubing_ul=st.integers(min_value=0, max_value=500),
       catheter_ul=st.integers(min_value=1, max_value=500),
       window_start=st.fractions(min_value=0, max_value=3, max_denominator=1000))
def test_bridge_bolus_always_returns_to_the_new_program_with_the_same_daily_dose(
        concentrations: list[int], old_dose: int, new_dose: int | None, tubing_ul: int,
        catheter_ul: int, window_start: Fraction) -> None:
    old_conc, new_conc = concentrations
    bridge = plan_bridge_bolus(old_concentration_mcg_per_ml=old_conc,
                               new_concentration_mcg_per_ml=new_conc,
                               old_daily_dose_mcg=old_dose, new_daily_dose_mcg=new_dose,
                               pump_tubing_ml=Fraction(tubing_ul, 1000),
                               catheter_ml=Fraction(catheter_ul, 1000))
    expected_new = old_dose if new_dose is None else new_dose
    bridge_days = bridge.bridge_duration_s / 86400
    # Any one-day window (starting within the first days, so some straddle the switch)
    # gets the old daily dose for its part in the bridge and the new one after: the old
    # drug is never pushed at the new rate, nor the new drug at the bridge rate.
    start, end = window_start * bridge_days, window_start * bridge_days + 1
    in_bridge = max(Fraction(0), min(end, bridge_days) - start)
    assert drug_reached_mcg(bridge, end) - drug_reached_mcg(bridge, start) \
        == old_dose * in_bridge + expected_new * (1 - in_bridge)
    # The old drug is exactly used up when the new program takes over.
    assert drug_reached_mcg(bridge, bridge_days) == bridge.dead_volume_ml * old_conc
    assert bridge.bridge_dose_mcg == bridge.dead_volume_ml * old_conc


@pytest.mark.req("REQ-THER-BRIDGE")
@pytest.mark.parametrize(("kwargs", "field"), [
    ({"old_concentration_mcg_per_ml": 0}, "old_concentration_mcg_per_ml"),
    ({"new_concentration_mcg_per_ml": 500}, "new_concentration_mcg_per_ml"),
    ({"new_concentration_mcg_per_ml": "-2"}, "new_concentration_mcg_per_ml"),
    ({"old_daily_dose_mcg": 0}, "old_daily_dose_mcg"),
    ({"new_daily_dose_mcg": "-5"}, "new_daily_dose_mcg"),
    ({"pump_tubing_ml": "-0.1"}, "pump_tubing_ml"),
    ({"catheter_ml": 9}, "catheter_ml"),
    ({"pump_tubing_ml": 0, "catheter_ml": 0}, "dead volume (pump_tubing_ml + catheter_ml)"),
])
def test_bridge_refuses_invalid_input(kwargs: dict, field: str) -> None:
    args = {"old_concentration_mcg_per_ml": 500, "new_concentration_mcg_per_ml": 2000,
            "old_daily_dose_mcg": 300, "pump_tubing_ml": "0.2", "catheter_ml": "0.1"} | kwargs
    with pytest.raises(InvalidInput) as err:
        plan_bridge_bolus(**args)
    assert err.value.field == field


@pytest.mark.parametrize(("length", "per_cm", "field"), [
    (0, "0.0026", "catheter_length_cm"), (500, "0.0026", "catheter_length_cm"),
    (90, 0, "catheter_volume_ml_per_cm"), (90, "x", "catheter_volume_ml_per_cm"),
])
def test_catheter_volume_refuses_invalid_input(length: object, per_cm: object, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        catheter_volume_ml(length, per_cm)  # type: ignore[arg-type]
    assert err.value.field == field
