"""What the routers share: bounded field types, the error body and the error responses
every route documents (so the OpenAPI schema says what a client can get back)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, create_model

from itb.clinic import checks

MAX_ID = 2**31 - 1
# one line of text: no control characters (the services refuse them too)
_LINE = r"^[^\x00-\x1f\x7f]*$"
# notes: newlines and tabs allowed
_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class ErrorOut(BaseModel):
    """A refusal: what is wrong, what to do next, and the field when one is at fault."""

    error: str
    next: str
    field: str | None = None


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    words = {400: "Bad request", 401: "Not logged in, or the token is not valid",
             403: "The role may not do this (audited)", 404: "No such record (or deleted)",
             409: "Stale version or duplicate", 422: "A field's value is not allowed",
             429: "Too many failed logins"}
    return {code: {"model": ErrorOut, "description": words[code]} for code in codes}


# Every authenticated route may answer these.
ERRORS = _errors(401, 403, 404, 409, 422)
LOGIN_ERRORS = _errors(401, 422, 429)


def _no_surrogates(value: str) -> str:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ValueError("text with a lone surrogate character")
    return value


def Line(most: int, least: int = 0) -> Any:
    """A one-line text field of `least` to `most` characters."""
    return Annotated[str, Field(min_length=least, max_length=most, pattern=_LINE),
                     AfterValidator(_no_surrogates)]


def Lines(most: int) -> Any:
    return Annotated[str, Field(max_length=most, pattern=_LINES),
                     AfterValidator(_no_surrogates)]


def Dec(low: int, high: int, *, low_open: bool = True) -> Any:
    """An exact decimal in (low, high] (or [low, high]) with at most 6 places."""
    bound = {"gt": low} if low_open else {"ge": low}
    return Annotated[Decimal, Field(le=high, max_digits=12, decimal_places=checks.PLACES,
                                    allow_inf_nan=False, **bound)]


def _in_clinic_dates(value: date) -> date:
    if not checks.EARLIEST <= value <= checks.LATEST:
        raise ValueError(f"a date from {checks.EARLIEST} to {checks.LATEST}")
    return value


def _utc_in_clinic_dates(value: datetime) -> datetime:
    return checks.moment("time", value)


Day = Annotated[date, AfterValidator(_in_clinic_dates)]
Moment = Annotated[AwareDatetime, AfterValidator(_utc_in_clinic_dates)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
VersionQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="The version you read.")]
Version = Annotated[int, Field(ge=1, le=MAX_ID, description="The version you read.")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
Grade = Literal["0", "1", "1+", "2", "3", "4"]  # Modified Ashworth (itb.therapy.screening)


class Strict(BaseModel):
    """An input body: unknown fields are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid")


def change_model(created: type[BaseModel], name: str, *,
                 fixed: tuple[str, ...] = ()) -> type[Strict]:
    """The PATCH body of a kind: the version read, and every field of its POST body
    `created` but the `fixed` ones, each optional (absent: unchanged; null clears an
    optional one), with the same bounds."""
    optional: dict[str, Any] = {
        key: (info.rebuild_annotation() | None, None)
        for key, info in created.model_fields.items() if key not in fixed}
    return create_model(name, __base__=Strict, version=(Version, ...), **optional)


def changes(body: BaseModel) -> dict[str, Any]:
    """The fields a PATCH body set (null clears an optional one), without its version."""
    return body.model_dump(exclude_unset=True, exclude={"version"})
