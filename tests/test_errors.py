"""One error hierarchy per layer: every error class in a layer's errors module subclasses
that layer's root, and every root subclasses `ItbError` (docs/architecture.md, "Errors")."""

from __future__ import annotations

import inspect

import pytest

from itb import errors as root_errors
from itb.errors import InvalidInput, ItbError
from itb.programmer import errors as programmer_errors
from itb.pump import errors as pump_errors
from itb.sim import errors as sim_errors
from itb.telemetry import errors as telemetry_errors
from itb.therapy import errors as therapy_errors

LAYERS = [
    (therapy_errors, therapy_errors.TherapyError),
    (pump_errors, pump_errors.PumpError),
    (telemetry_errors, telemetry_errors.TelemetryError),
    (programmer_errors, programmer_errors.ProgrammerError),
    (sim_errors, sim_errors.SimError),
]


def _classes(module: object) -> list[type]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, BaseException) and c.__module__ == module.__name__]


@pytest.mark.parametrize(("module", "layer_root"), LAYERS, ids=lambda x: getattr(x, "__name__", ""))
def test_every_error_of_a_layer_is_under_its_root_and_itb_error(module: object,
                                                                 layer_root: type) -> None:
    assert issubclass(layer_root, ItbError) and layer_root.__bases__ == (ItbError,)
    for cls in _classes(module):
        assert issubclass(cls, layer_root), cls


def test_the_root_module_holds_only_the_root_and_invalid_input() -> None:
    assert set(_classes(root_errors)) == {ItbError, InvalidInput}


def test_wire_errors_are_itb_errors() -> None:
    assert issubclass(telemetry_errors.WireFormatError, ItbError)
    assert issubclass(telemetry_errors.ChannelExhausted, ItbError)


def test_a_value_refusal_keeps_field_value_allowed_under_its_layer_root() -> None:
    error = programmer_errors.PrescriptionMismatch("concentration", "500", "2000 mcg/mL")
    assert isinstance(error, programmer_errors.ProgrammerError) and isinstance(error,
                                                                               InvalidInput)
    assert (error.field, error.value, error.allowed) == ("concentration", "500", "2000 mcg/mL")
    assert str(error) == "concentration = 500 is not allowed: allowed is 2000 mcg/mL"
