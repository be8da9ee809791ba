"""Who may do what: the roles and the permission each act needs, as one table.

A patient (role `patient`) is linked to one record and may read only that record, and
call in symptoms for it; every other attempt is refused (403) and audited as denied.
"""

from __future__ import annotations

from dataclasses import dataclass

from itb.clinic.errors import NotPermitted

# permission -> roles that have it (docs/clinic.md, "Roles")
PERMISSIONS: dict[str, frozenset[str]] = {
    "read_record": frozenset({"admin", "clinician", "nurse", "viewer", "patient"}),
    "write_record": frozenset({"admin", "clinician", "nurse"}),
    "delete_record": frozenset({"admin", "clinician"}),
    "record_session": frozenset({"clinician", "nurse"}),  # the programmer's recordings
    "refill_pump": frozenset({"clinician", "nurse"}),
    "program_pump": frozenset({"clinician"}),  # a dose change is a prescriber's act
    "symptom_call": frozenset({"clinician", "nurse", "patient"}),
    "patient_bolus": frozenset({"patient"}),  # asked of the pump from the portal (its own)
    "read_worklist": frozenset({"admin", "clinician", "nurse", "viewer"}),
    "export": frozenset({"admin", "clinician"}),
    "read_audit": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
}
# what a patient may do is limited to their own record
OWN_RECORD_ONLY = frozenset({"patient"})


@dataclass(frozen=True)
class Actor:
    """The user acting: from a login session or an API token."""

    user_id: int | None
    username: str
    role: str
    patient_id: int | None = None  # role patient: the one record they may see


def allowed(actor: Actor, permission: str, patient_id: int | None = None) -> bool:
    if actor.role not in PERMISSIONS[permission]:
        return False
    if actor.role in OWN_RECORD_ONLY:
        return patient_id is not None and patient_id == actor.patient_id
    return True


def require(actor: Actor, permission: str, patient_id: int | None = None) -> None:
    """Refuse (403) unless `actor` may do `permission` (on `patient_id`'s record)."""
    if not allowed(actor, permission, patient_id):
        what = permission.replace("_", " ")
        raise NotPermitted(f"The role {actor.role} may not {what}"
                           + ("" if patient_id is None else " on this record") + ".")
