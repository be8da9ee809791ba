"""Logging in and out of the web app.

A login is checked by the API's rules (`itb.clinic.logins.check_credentials`: argon2,
failures counted per username in the database and per client address in the process,
a pause after too many, every attempt audited). The reply never says whether the username
exists. A good login starts a new session (new ids and form token).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from itb.clinic import audit, logins, users
from itb.clinic.access import Actor
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.errors import ClinicError, NotAuthenticated
from itb.clinic.models import User
from itb.clinic.web.pages import checked_form, render
from itb.clinic.web.session import data_of, end_login, start_login, web_actor

router = APIRouter(include_in_schema=False)


def home_of(actor: Actor) -> str:
    return "/me" if actor.role == "patient" else "/dashboard"


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (never another host: no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return None


def check_login(request: Request, session: Session, username: str, password: str, *,
                now: datetime) -> User | ClinicError:
    """The user, or the refusal to show (the API's login rules: itb.clinic.logins)."""
    address = request.client.host if request.client else "unknown"
    try:
        user = logins.check_credentials(
            session, username, password, address=address, now=now,
            policy=request.app.state.login_policy, throttle=request.app.state.login_throttle)
    except (logins.LoginThrottled, NotAuthenticated) as refusal:
        return refusal
    audit.record(session, users.actor_of(user), "login", "users", now=now, entity_id=user.id,
                 detail=f"web login ok (from {address})")
    return user


@router.get("/login")
def login_form(request: Request, session: SessionDep, next: str | None = None) -> Response:
    actor = web_actor(request, session)
    if actor is not None:
        return RedirectResponse(_safe_next(next) or home_of(actor), status_code=303)
    ended = data_of(request).pop("ended", None)
    note = {"idle": "You were logged out after a time without activity.",
            "logout": "You are logged out."}.get(str(ended), "")
    return render(request, "login.html", {"next": _safe_next(next) or "", "note": note})


@router.post("/login")
async def login(request: Request, session: SessionDep, now: NowDep) -> Response:
    form = await checked_form(request)
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:1024]
    target = _safe_next(str(form.get("next", "")))
    found = check_login(request, session, username, password, now=now)
    if isinstance(found, ClinicError):
        return render(request, "login.html", {"error": str(found), "next": target or "",
                                              "username": username}, status=found.status)
    start_login(request, found, now)
    return RedirectResponse(target or home_of(users.actor_of(found)), status_code=303)


@router.post("/logout")
async def logout(request: Request, session: SessionDep, now: NowDep) -> Response:
    await checked_form(request)
    actor = web_actor(request, session)
    if actor is not None:
        audit.record(session, actor, "login", "users", now=now, entity_id=actor.user_id,
                     detail="web logout")
    end_login(request, now)
    return RedirectResponse("/login", status_code=303)
