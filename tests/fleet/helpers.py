"""Small study texts for the fleet tests (each patient-year costs ~15 ms: keep them small)."""

from __future__ import annotations

from pathlib import Path

from itb.fleet.study import Study, parse_study

STUDIES = Path(__file__).resolve().parents[2] / "studies"

BASE = """
[study]
name = "{name}"
years = {years}
seed = {seed}
daily = {daily}

[cohort]
patients = {patients}
origin = {{ spinal = 0.6, cerebral = 0.3, child = 0.1 }}
unapproved_drug_share = 0.5

[care]
residual_check = {residual}
late_refill_share = {late}
missed_refill_share = {missed}
"""

STALL = """
[hazards.motor_stall]
approved_cumulative = {approved}
unapproved_cumulative = {unapproved}
at_months = 78
source = "FDA 2013 via devices.md"
"""

OCCLUSION = """
[hazards.catheter_occlusion]
per_patient_year = {rate}
remaining_flow_max = {partial}
source = "unconfirmed (test)"
"""

POCKET = """
[hazards.pocket_fill]
per_refill = {rate}
source = "unconfirmed (test)"
"""


def study_text(*, name: str = "test", years: str = "1", seed: int = 11, patients: int = 4,
               residual: bool = True, late: float = 0.0, missed: float = 0.0,
               stall: tuple[float, float] | None = None,
               occlusion: tuple[float, float] | None = None,
               pocket: float | None = None, daily: bool = False) -> str:
    text = BASE.format(name=name, years=years, seed=seed, patients=patients,
                       daily=str(daily).lower(),
                       residual=str(residual).lower(), late=late, missed=missed)
    if stall is not None:
        text += STALL.format(approved=stall[0], unapproved=stall[1])
    if occlusion is not None:
        text += OCCLUSION.format(rate=occlusion[0], partial=occlusion[1])
    if pocket is not None:
        text += POCKET.format(rate=pocket)
    return text


def study(**kwargs: object) -> Study:
    return parse_study(study_text(**kwargs), "test.toml")  # type: ignore[arg-type]
