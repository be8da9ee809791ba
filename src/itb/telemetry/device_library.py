"""The programmer's device library: what a programmer knows about each pump model by name.

A clinician programmer carries a library of the pump models it can talk to: the
reservoir size, the pump's internal tubing volume (for the bridge bolus), the
programmable alarm range and the battery figures it needs to forecast the elective
replacement date from the charge the pump reports. The pump sends only its model
name on the wire; this module looks the figures up in `itb.pump`'s catalogue, so
the programmer never imports `itb.pump` itself (docs/architecture.md). The figures
and their sources (most are *unconfirmed* calibration) are in `itb.pump.catalogue`.
"""

from __future__ import annotations

from dataclasses import dataclass

from itb.pump.catalogue import get_model


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """One pump model's figures, as a programmer's device library holds them."""

    name: str
    description: str
    reservoir_capacity_nl: int
    nominal_stroke_nl: int
    tubing_volume_nl: int
    min_flow_nl_per_day: int
    max_flow_nl_per_day: int
    low_reservoir_alarm_min_nl: int
    low_reservoir_alarm_max_nl: int
    battery_usable_nc: int
    idle_current_na: int
    stroke_charge_nc: int
    eri_warning_s: int
    automatic_shutoff_s: int


def model_facts(name: str) -> ModelFacts:
    """The library entry for the model a pump reports; InvalidInput lists the known models."""
    model = get_model(name)
    return ModelFacts(
        name=model.name, description=model.description,
        reservoir_capacity_nl=model.reservoir_capacity_nl,
        nominal_stroke_nl=model.nominal_stroke_nl, tubing_volume_nl=model.tubing_volume_nl,
        min_flow_nl_per_day=model.min_flow_nl_per_day,
        max_flow_nl_per_day=model.max_flow_nl_per_day,
        low_reservoir_alarm_min_nl=model.low_reservoir_alarm_min_nl,
        low_reservoir_alarm_max_nl=model.low_reservoir_alarm_max_nl,
        battery_usable_nc=model.battery_usable_nc, idle_current_na=model.idle_current_na,
        stroke_charge_nc=model.stroke_charge_nc, eri_warning_s=model.eri_warning_s,
        automatic_shutoff_s=model.automatic_shutoff_s)
