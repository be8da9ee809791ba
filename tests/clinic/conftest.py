"""Clinic test fixtures: a fresh database per test, and actors of each role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
from itb.clinic.models import Base

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def clinic_db(tmp_path: Path) -> Iterator[ClinicDB]:
    db = ClinicDB(f"sqlite:///{tmp_path / 'clinic.db'}")
    Base.metadata.create_all(db.engine)
    yield db
    db.dispose()


def actor(role: str, patient_id: int | None = None) -> Actor:
    return Actor(user_id=None, username=f"test-{role}", role=role, patient_id=patient_id)
