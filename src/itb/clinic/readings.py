"""Refills and program changes, read only: the programmer's recordings write them
(itb.clinic.recording); here the care team and the patient read them, audited."""

from __future__ import annotations

from itb.clinic import clinical
from itb.clinic.models import ProgramChange, RefillRecord

_REFILLS = clinical.Kind(RefillRecord, RefillRecord.at)
_CHANGES = clinical.Kind(ProgramChange, ProgramChange.at)
list_refills = _REFILLS.listing
read_refill = _REFILLS.read
list_program_changes = _CHANGES.listing
read_program_change = _CHANGES.read
