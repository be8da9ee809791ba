"""The scenario's patient: typical, a population draw, or typical with explicit overrides."""

from __future__ import annotations

import dataclasses
from typing import Any

from itb.physiology import PatientParameters, Population, typical_patient
from itb.physiology.pk import CsfKinetics
from itb.physiology.response import SpasticityResponse
from itb.sim.schema import KineticsParameters, PatientSection, ResponseParameters


def build_patient(section: PatientSection) -> PatientParameters:
    """The patient's parameters; the patient model refuses values outside its ranges
    (`itb.errors.InvalidInput` naming the parameter)."""
    if section.population_seed is not None:
        population = Population(section.population_seed, section.origin)
        for _ in range(section.draw):
            population.draw()
        return population.draw()
    base = typical_patient(section.origin)
    kinetics = section.kinetics.model_dump(exclude_none=True)
    response = section.response.model_dump(exclude_none=True)
    return PatientParameters(
        origin=section.origin,
        kinetics=CsfKinetics(**{**_fields(base.kinetics, CsfKinetics), **kinetics}),
        response=SpasticityResponse(**{**_fields(base.response, SpasticityResponse),
                                       **response}),
    )


def _fields(instance: Any, cls: type) -> dict[str, Any]:
    return {f.name: getattr(instance, f.name) for f in dataclasses.fields(cls) if f.init}


def parameter_key(field: str) -> tuple[str, ...]:
    """Where a refused patient parameter is written in the scenario file."""
    if field in KineticsParameters.model_fields:
        return ("patient", "kinetics", field)
    if field in ResponseParameters.model_fields:
        return ("patient", "response", field)
    return ("patient",)
