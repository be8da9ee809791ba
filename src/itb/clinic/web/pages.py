"""Rendering a page, reading a form, and the clinic's refusals as pages.

Every page is a Jinja2 template under `templates/` (autoescaped), given the request, the
user and the session's form token. A POST's form is read through `checked_form`, which
refuses (403, with a sentence) a form without the session's token. A refusal on a page is
shown as a page with its sentence and next step; not being logged in sends the browser to
the login form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from itb.clinic.access import Actor
from itb.clinic.api.deps import SessionDep
from itb.clinic.api.errors import validation_body
from itb.clinic.errors import ClinicError, InvalidRecord, NotAuthenticated
from itb.clinic.web.session import (
    SAFE_METHODS,
    csrf_matches,
    csrf_token,
    data_of,
    web_actor,
)
from itb.errors import InvalidInput

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
API_PREFIXES = ("/api/", "/openapi.json", "/docs", "/redoc")


class CsrfRefused(ClinicError):
    """403: a form without this session's token (another site, or an old page)."""

    status = 403
    next_step = ("Reload the page and send the form again (a form is no longer valid after "
                 "you log out or stay idle).")


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status: int = 200, actor: Actor | None = None) -> Response:
    values = {"request": request, "csrf_token": csrf_token(request), "actor": actor,
              **(context or {})}
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # a record must not stay in a cache
    return response


async def checked_form(request: Request) -> FormData:
    """The POSTed form, if it carries this session's token; 403 otherwise (nothing done)."""
    form = await request.form()
    if not csrf_matches(request, form.get("csrf_token")):
        raise CsrfRefused("The form was refused: it has no valid security token "
                          "(csrf_token).")
    return form


async def page_actor(request: Request, session: SessionDep) -> Actor:
    """The logged-in user of a page; not logged in sends the browser to the login form.
    A POST's form is checked for the session's token here, before the route runs, so no
    page that changes something can forget it."""
    if request.method not in SAFE_METHODS:
        await checked_form(request)
    actor = web_actor(request, session, form_checked=True)
    if actor is None:
        raise NotAuthenticated("Please log in.")
    request.state.actor = actor
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _sentence(error: Exception) -> tuple[str, str, str | None, int]:
    """(error, next step, field, status) of a refusal, as the API words it."""
    if isinstance(error, ClinicError):
        field = error.field if isinstance(error, InvalidRecord) else None
        return str(error), error.next_step, field, error.status
    if isinstance(error, InvalidInput):
        return str(error), f"Give {error.field} as {error.allowed}.", error.field, 422
    if isinstance(error, RequestValidationError):
        said = validation_body(error)
        return said["error"], "Correct the form and send it again.", said.get("field"), 422
    status = getattr(error, "status_code", 400)
    if status == 404:
        return "There is no such page.", "Use the menu to find the page.", None, 404
    return str(getattr(error, "detail", error)), "Check the address.", None, status


def refusal_pages(original: Callable[[Request, Any], Awaitable[Response]]
                  ) -> Callable[[Request, Any], Awaitable[Response]]:
    """One of the app's JSON error handlers, but a page for the web app's paths."""
    async def handle(request: Request, error: Exception) -> Response:
        if request.url.path.startswith(API_PREFIXES):
            return await original(request, error)
        if isinstance(error, NotAuthenticated) and request.method in ("GET", "HEAD"):
            return _login_redirect(request)
        message, next_step, field, status = _sentence(error)
        actor = getattr(request.state, "actor", None)
        if "uid" not in data_of(request):
            actor = None
        return render(request, "refused.html", {"error": message, "next": next_step,
                                                "field": field, "status": status},
                      status=status, actor=actor)
    return handle


def install_refusal_pages(app: FastAPI) -> None:
    """Wrap each JSON error handler the API installed (api/errors.py) for the pages."""
    for kind in (ClinicError, InvalidInput, RequestValidationError, StarletteHTTPException):
        if kind in app.exception_handlers:
            app.exception_handlers[kind] = refusal_pages(app.exception_handlers[kind])
