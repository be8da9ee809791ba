"""Bridge bolus for a concentration change."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy.bridge import catheter_volume_ml, plan_bridge_bolus


def test_catheter_volume_prometra_figure() -> None:
    # Prometra II manual: implanted length x 0.0026 mL/cm; 110 cm - 20 cm trimmed = 90 cm.
    assert catheter_volume_ml(90) == Fraction("0.234")


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


@settings(max_examples=80, deadline=None)
@given(old_conc=st.sampled_from([500, 1000, 2000]), new_conc=st.sampled_from([500, 1000, 2000]),
       old_dose=st.integers(min_value=12, max_value=2000),
       new_dose=st.one_of(st.none(), st.integers(min_value=12, max_value=2000)),
       tubing_ul=st.integers(min_value=0, max_value=500),
       catheter_ul=st.integers(min_value=1, max_value=500))
def test_bridge_bolus_always_returns_to_the_new_program_with_the_same_daily_dose(
        old_conc: int, new_conc: int, old_dose: int, new_dose: int | None, tubing_ul: int,
        catheter_ul: int) -> None:
    if old_conc == new_conc:
        return
    bridge = plan_bridge_bolus(old_concentration_mcg_per_ml=old_conc,
                               new_concentration_mcg_per_ml=new_conc,
                               old_daily_dose_mcg=old_dose, new_daily_dose_mcg=new_dose,
                               pump_tubing_ml=Fraction(tubing_ul, 1000),
                               catheter_ml=Fraction(catheter_ul, 1000))
    # During the bridge the old drug runs at the old daily dose ...
    assert bridge.bridge_rate_ml_per_day * old_conc == old_dose
    assert bridge.bridge_dose_mcg_per_day == old_dose
    # ... it lasts exactly as long as the dead volume takes ...
    assert bridge.bridge_duration_s * bridge.bridge_rate_ml_per_day / 86400 \
        == bridge.dead_volume_ml
    # ... and afterwards the new program gives the prescribed daily dose.
    expected_new = old_dose if new_dose is None else new_dose
    assert bridge.new_rate_ml_per_day * new_conc == expected_new


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
