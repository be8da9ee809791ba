"""Every bound on a number of a scenario file is refused at its key, in one wording
(`itb.sim.schema.values.within`), and a value on either edge is taken."""

from __future__ import annotations

import pytest

from itb.sim import ScenarioError, parse_scenario

SCENARIO = """
[scenario]
name = "bounds"
start = 2026-01-05T08:00:00Z
duration_days = {duration_days}

[patient]
age_years = {age_years}
{established}

[pump]
model = "synchromed-ii-20"

[implant]
date = {implant_date}
concentration_mcg_per_ml = {concentration}
catheter_volume_ml = {catheter}

{screening}

[program]
type = "simple"
daily_dose_mcg = 100

[auto_refill]
safety_margin_days = {margin}

[[timeline]]
day = 1
event = "access_port_bolus"
dose_mcg = {access_dose}
"""
GOOD = {"duration_days": 10, "age_years": 40, "concentration": 500, "catheter": "0.2",
        "margin": 7, "access_dose": 50,
        "established": "", "implant_date": "2026-01-06T08:00:00Z",
        "screening": "[screening]\nstart = 2026-01-05T08:00:00Z\nobserve_h = 8"}


def scenario(key: str, value: object) -> str:
    """The good scenario with one number changed (an established patient has no screening)."""
    if key == "days_on_therapy":
        return SCENARIO.format(**{**GOOD, "established": f"days_on_therapy = {value}",
                                  "implant_date": "2026-01-05T08:00:00Z", "screening": ""})
    if key == "observe_h":
        return SCENARIO.format(**{**GOOD, "screening": "[screening]\nstart = "
                                  f"2026-01-05T08:00:00Z\nobserve_h = {value}"})
    return SCENARIO.format(**{**GOOD, key: value})

REFUSALS = [
    ("duration_days", 0, 5, "scenario.duration_days: must be more than 0 and at most 3653 days"),
    ("duration_days", 3654, 5,
     "scenario.duration_days: must be more than 0 and at most 3653 days"),
    ("days_on_therapy", 36_501, 9, "patient.days_on_therapy: must be 0 to 36500 days"),
    ("age_years", -1, 8, "patient.age_years: must be 0 to 130 years"),
    ("concentration", 0, 16,
     "implant.concentration_mcg_per_ml: must be more than 0 and at most 100000 mcg/mL"),
    ("catheter", 2, 17, "implant.catheter_volume_ml: must be 0 to 1 mL"),
    ("observe_h", 3, 21,
     "screening.observe_h: must be 4 to 24 hours (the label observes 4 to 8 hours)"),
    ("margin", 61, 28, "auto_refill.safety_margin_days: must be 0 to 60 days"),
    ("access_dose", 2001, 33, "timeline[0].dose_mcg: must be more than 0 and at most 2000 mcg"),
]


@pytest.mark.parametrize(("key", "value", "line", "sentence"), REFUSALS)
def test_a_number_out_of_its_bound_is_refused_at_its_line_in_the_bound_wording(
        key: str, value: object, line: int, sentence: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(scenario(key, value), "bounds.toml")
    message = str(caught.value)
    assert f"bounds.toml:{line}:" in message and sentence in message, message


@pytest.mark.parametrize(("key", "edge"), [
    ("duration_days", 3653), ("days_on_therapy", 0), ("days_on_therapy", 36_500),
    ("age_years", 130), ("concentration", 2000), ("catheter", 0), ("catheter", 1),
    ("observe_h", 4), ("observe_h", 24), ("margin", 0), ("margin", 60), ("access_dose", 2000),
])
def test_a_number_on_the_edge_of_its_bound_is_taken(key: str, edge: object) -> None:
    assert parse_scenario(scenario(key, edge), "bounds.toml") is not None
