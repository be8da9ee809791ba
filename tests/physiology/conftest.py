from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from itb.physiology.population import PatientParameters, typical_patient

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


@pytest.fixture
def typical() -> PatientParameters:
    return typical_patient()
