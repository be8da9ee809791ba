"""Fixtures for the pump tests (builders live in helpers.py)."""

from __future__ import annotations

import pytest

from itb.pump import Pump

from .helpers import implant


@pytest.fixture
def pump() -> Pump:
    return implant()
