"""/api/patients/{id}/refills, /api/refills/{id}, /api/patients/{id}/program-changes and
/api/program-changes/{id}: read only (the programmer's recordings write them)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from itb.clinic import readings
from itb.clinic.api.common import ERRORS
from itb.clinic.api.record_routes import RecordRoutes

router = APIRouter(tags=["refills and program changes"], responses=ERRORS)


class RecordedOut(BaseModel):
    """What every act the programmer recorded has: when, its outcome, its visit."""

    id: int
    version: int
    patient_id: int
    visit_id: int | None
    at: datetime
    outcome: str
    details: dict[str, Any]


class RefillOut(RecordedOut):
    withdrawn_ml: Decimal | None
    expected_ml: Decimal | None
    discrepancy_ml: Decimal | None
    added_ml: Decimal | None
    strength_mcg_per_ml: Decimal | None
    drug: str | None
    lot: str | None
    expiry: date | None
    bridge_bolus_mcg: Decimal | None
    wasted_ml: Decimal | None
    second_checker: str | None
    pocket_check: str | None


class ProgramChangeOut(RecordedOut):
    daily_dose_before_mcg: Decimal | None
    daily_dose_after_mcg: Decimal | None
    before: dict[str, Any]
    after: dict[str, Any]
    override_reason: str | None


refills = RecordRoutes(router, "refill", "/api/refills", "refills", RefillOut)
refills.listing("list_refills", readings.list_refills)
refills.read(readings.read_refill)
program_changes = RecordRoutes(router, "program_change", "/api/program-changes",
                               "program-changes", ProgramChangeOut, short_id="change")
program_changes.listing("list_program_changes", readings.list_program_changes)
program_changes.read(readings.read_program_change)
