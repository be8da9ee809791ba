"""Refusals as status codes with sentences: `{"error": ..., "next": ..., "field": ...}`.

- a clinic refusal (itb.clinic.errors): its own status (401 403 404 409 422 429);
- a value refused by a core rule (itb.errors.InvalidInput): 422 naming the field;
- a request FastAPI cannot read (missing field, wrong type, out of bounds, bad JSON): 422
  naming the first field at fault;
- a concurrent writer (the version check in SQL, a unique key taken meanwhile): 409;
- the database unreachable or failing the commit: 503, nothing saved (the commit happens
  before the answer: api.deps.db_session);
- no such route or method: 404 / 405 in the same shape.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException

from itb.clinic.errors import ClinicError, InvalidRecord, StaleRecord
from itb.errors import InvalidInput, shorten

_WHERE = ("body", "query", "path", "header", "cookie")


def body(error: str, next_step: str, field: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"error": error, "next": next_step}
    if field is not None:
        out["field"] = field
    return out


def field_name(location: tuple[Any, ...] | list[Any]) -> str:
    """("body", "steps", 0, "start") -> "steps[0].start"; the body itself -> "body"."""
    parts = list(location)
    if len(parts) > 1 and parts[0] in _WHERE:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        elif not str(part).startswith(("function-after", "constrained-")):
            name += ("." if name else "") + str(part)
    return name or "body"


def validation_body(error: RequestValidationError) -> dict[str, Any]:
    problems = error.errors()
    if not problems:
        return body("The request could not be read.", "Send a JSON body as documented "
                    "at /openapi.json.", "body")
    first = problems[0]
    field = field_name(first.get("loc", ()))
    message = str(first.get("msg", "is not allowed")).removeprefix("Value error, ")
    if first.get("type") == "missing":
        return body(f"{field} is missing.", f"Give {field}: the schema at /openapi.json "
                    "says what it takes.", field)
    if first.get("type") == "extra_forbidden":
        return body(f"{field} is not a field of this request.",
                    f"Leave {field} out: /openapi.json lists the fields.", field)
    if first.get("type") == "json_invalid" or isinstance(first.get("input"), bytes):
        return body("The body is not valid JSON.", "Send a JSON object as documented at "
                    "/openapi.json.", "body")
    given = shorten(first.get("input", ""))
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return body(f"{field} = {given} is not allowed: {message}{more}.",
                f"Give {field} as /openapi.json describes it, then send it again.", field)


def install(app: FastAPI) -> None:
    """The app's exception handlers (none of them turns a fault into a 500 that hides it)."""

    @app.exception_handler(ClinicError)
    async def clinic_error(_request: Request, error: ClinicError) -> JSONResponse:
        field = error.field if isinstance(error, InvalidRecord) else None
        headers = {}
        until = getattr(error, "until", None)
        if until is not None:
            headers["Retry-After"] = "900"
        return JSONResponse(body(str(error), error.next_step, field), status_code=error.status,
                            headers=headers)

    @app.exception_handler(InvalidInput)
    async def invalid_input(_request: Request, error: InvalidInput) -> JSONResponse:
        return JSONResponse(body(str(error), f"Give {error.field} as {error.allowed}.",
                                 error.field), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def unreadable(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(error), status_code=422)

    @app.exception_handler(StaleDataError)
    async def concurrent(_request: Request, _error: StaleDataError) -> JSONResponse:
        return JSONResponse(body("The record was changed by someone else meanwhile.",
                                 StaleRecord.next_step), status_code=409)

    @app.exception_handler(IntegrityError)
    async def taken(_request: Request, _error: IntegrityError) -> JSONResponse:
        return JSONResponse(body("The change conflicts with a record saved meanwhile (a "
                                 "unique value taken, or a linked record gone).",
                                 "Reload, check, and try again."), status_code=409)

    @app.exception_handler(OperationalError)
    async def unavailable(_request: Request, _error: OperationalError) -> JSONResponse:
        return JSONResponse(body("The clinic database could not complete the request; "
                                 "nothing of it was saved.", "Try again in a moment; if it "
                                 "persists, ask the clinic's admin to check the database."),
                            status_code=503)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400:  # FastAPI could not decode the body (not UTF-8 JSON)
            return JSONResponse(body("The body is not valid JSON (UTF-8).", "Send a JSON "
                                     "object as documented at /openapi.json.", "body"),
                                status_code=422)
        words = {404: ("No such address.", "See /openapi.json for the API's routes."),
                 405: ("This method is not allowed here.",
                       "See /openapi.json for the methods of each route.")}
        what, next_step = words.get(error.status_code, (str(error.detail),
                                                        "Check the request."))
        return JSONResponse(body(what, next_step), status_code=error.status_code,
                            headers=getattr(error, "headers", None))
