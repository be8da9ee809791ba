"""The clinic's errors, under `ItbError`; the API maps each to a status code (api.errors)
and the CLI to `Error:` / `Next:` sentences (itb.cli_errors).

    ClinicError
    ├── RecordNotFound     404: no such record (or soft-deleted), or not this user's
    ├── StaleRecord        409: the record changed since the version the editor read
    ├── DuplicateRecord    409: a unique field (record number, username, serial) is taken
    ├── NotPermitted       403: the role may not do this (audited as a denied attempt)
    ├── NotAuthenticated   401: no valid login or token
    └── InvalidRecord      422: a field's value is outside what is allowed (also InvalidInput)
"""

from __future__ import annotations

from typing import Any

from itb.errors import InvalidInput, ItbError


class ClinicError(ItbError):
    """Root of the clinic's refusals. `next_step` says what to do instead."""

    status = 400
    next_step = "Check the request and try again."

    def __init__(self, message: str, next_step: str | None = None) -> None:
        super().__init__(message)
        if next_step is not None:
            self.next_step = next_step


class RecordNotFound(ClinicError):
    status = 404
    next_step = "Check the record number or id; deleted records are not shown."


class StaleRecord(ClinicError):
    status = 409
    next_step = "Reload the record, check the other change, and apply yours again."


class DuplicateRecord(ClinicError):
    status = 409
    next_step = "Use another value, or open the existing record."


class NotPermitted(ClinicError):
    status = 403
    next_step = "Ask a user with the right role (an admin can change roles)."


class NotAuthenticated(ClinicError):
    status = 401
    next_step = "Log in again, or send a valid token as 'Authorization: Bearer TOKEN'."


class InvalidRecord(ClinicError, InvalidInput):
    """A field outside what is allowed: 422, naming the field, the value and the range."""

    status = 422

    def __init__(self, field: str, value: Any, allowed: str, reason: str | None = None) -> None:
        InvalidInput.__init__(self, field, value, allowed, reason)
        self.next_step = f"Give {field} as {allowed}."
