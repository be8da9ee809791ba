"""Battery planning: ERI date from the reported charge, the flow and the model's parameters."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from itb.errors import InvalidInput
from itb.therapy.battery import forecast_battery

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# A model calibrated like itb's reference pump: 8 uA idle, 43.2 uC per 0.25 uL stroke.
MODEL = {"idle_current_na": 8000, "stroke_charge_nc": 43200, "stroke_volume_nl": 250}


@pytest.mark.req("REQ-THER-BATTERY")
def test_eri_is_90_days_before_eos_at_present_drain() -> None:
    # Idle 8000 nA + 0.6 mL/day x 4 strokes/uL x 43200 nC / 86400 s = 8000 + 1200 nA.
    forecast = forecast_battery(remaining_charge_nc=9200 * 86400 * 1000, flow_ml_per_day="0.6",
                                now=NOW, **MODEL)
    assert forecast.drain_nc_per_s == 9200
    assert forecast.seconds_to_eos == 1000 * 86400
    assert forecast.eri_at == NOW + timedelta(days=910)
    assert forecast.days_to_eri == 910


def test_higher_flow_brings_eri_earlier() -> None:
    low = forecast_battery(remaining_charge_nc=10**12, flow_ml_per_day="0.3", now=NOW, **MODEL)
    high = forecast_battery(remaining_charge_nc=10**12, flow_ml_per_day=2, now=NOW, **MODEL)
    assert high.eri_at < low.eri_at


@pytest.mark.req("REQ-THER-BATTERY")
def test_automatic_shutoff_caps_end_of_service() -> None:
    implanted = NOW - timedelta(days=2000)
    forecast = forecast_battery(remaining_charge_nc=10**14, flow_ml_per_day="0.1", now=NOW,
                                implanted_at=implanted, automatic_shutoff_s=2557 * 86400, **MODEL)
    assert forecast.limited_by_shutoff
    assert forecast.eos_at == implanted + timedelta(days=2557)
    assert forecast.eri_at == implanted + timedelta(days=2557 - 90)


@pytest.mark.req("REQ-THER-BATTERY")
def test_low_charge_reports_eri_already_due() -> None:
    forecast = forecast_battery(remaining_charge_nc=9200 * 86400, flow_ml_per_day="0.6", now=NOW,
                                **MODEL)
    assert forecast.eri_already_due and forecast.seconds_to_eri == 0
    assert forecast.seconds_to_eos == Fraction(86400)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"remaining_charge_nc": "-1"}, "remaining_charge_nc"),
    ({"flow_ml_per_day": "-0.1"}, "flow_ml_per_day"),
    ({"stroke_volume_nl": 0}, "stroke_volume_nl"),
    ({"idle_current_na": 0, "flow_ml_per_day": 0}, "idle_current_na + stroke drain"),
    ({"now": datetime(2026, 1, 1)}, "now"),
    ({"implanted_at": NOW}, "implanted_at / automatic_shutoff_s"),
    ({"implanted_at": NOW + timedelta(days=1), "automatic_shutoff_s": 10}, "implanted_at"),
    ({"eri_warning_s": "-1"}, "eri_warning_s"),
])
def test_battery_refuses_invalid_input(kwargs: dict, field: str) -> None:
    args = {"remaining_charge_nc": 10**12, "flow_ml_per_day": "0.6", "now": NOW} | MODEL | kwargs
    with pytest.raises(InvalidInput) as err:
        forecast_battery(**args)
    assert err.value.field == field


def test_a_charge_lasting_past_year_9999_is_refused_naming_the_charge() -> None:
    with pytest.raises(InvalidInput) as refused:
        forecast_battery(remaining_charge_nc="1e99", flow_ml_per_day="0.6", now=NOW, **MODEL)
    assert refused.value.field == "remaining_charge_nc"
    assert "9200 nA" in refused.value.allowed
