"""One error hierarchy per layer: every error class in a layer's errors module subclasses
that layer's root, and every root subclasses `ItbError` (docs/architecture.md, "Errors")."""

from __future__ import annotations

import importlib
import inspect

import pytest

import itb.errors
from itb.errors import InvalidInput, ItbError
from itb.programmer.errors import PrescriptionMismatch, ProgrammerError
from itb.telemetry.errors import ChannelExhausted, WireFormatError

# (each layer's errors module, the name of its root)
LAYERS = [("itb.therapy.errors", "TherapyError"), ("itb.pump.errors", "PumpError"),
          ("itb.telemetry.errors", "TelemetryError"),
          ("itb.programmer.errors", "ProgrammerError"), ("itb.sim.errors", "SimError")]


def _classes(module: object) -> list[type]:
    return [c for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, BaseException) and c.__module__ == module.__name__]


@pytest.mark.parametrize(("module_name", "root_name"), LAYERS)
def test_every_error_of_a_layer_is_under_its_root_and_itb_error(module_name: str,
                                                                 root_name: str) -> None:
    module = importlib.import_module(module_name)
    layer_root = getattr(module, root_name)
    assert issubclass(layer_root, ItbError) and layer_root.__bases__ == (ItbError,)
    for cls in _classes(module):
        assert issubclass(cls, layer_root), cls


def test_the_root_module_holds_only_the_root_and_invalid_input() -> None:
    assert set(_classes(itb.errors)) == {ItbError, InvalidInput}


def test_wire_errors_are_itb_errors() -> None:
    assert issubclass(WireFormatError, ItbError) and issubclass(ChannelExhausted, ItbError)


def test_a_value_refusal_keeps_field_value_allowed_under_its_layer_root() -> None:
    error = PrescriptionMismatch("concentration", "500", "2000 mcg/mL")
    assert isinstance(error, ProgrammerError) and isinstance(error, InvalidInput)
    assert (error.field, error.value, error.allowed) == ("concentration", "500", "2000 mcg/mL")
    assert str(error) == "concentration = 500 is not allowed: allowed is 2000 mcg/mL"
