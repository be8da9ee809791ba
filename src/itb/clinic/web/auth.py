"""Logging in and out of the web app.

A login checks the password (argon2, `users.check_password`); failures count on the user
(`failed_logins`, `locked_until`: the same columns the API's login uses), so after
`MAX_FAILURES` failures in a row the username is paused for `LOCKOUT` and no password is
checked meanwhile. Every attempt is audited. The reply never says whether the username
exists. A good login starts a new session (new ids and form token).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit, users
from itb.clinic.access import Actor
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.models import User
from itb.clinic.web.pages import checked_form, render
from itb.clinic.web.session import data_of, end_login, start_login, web_actor

router = APIRouter(include_in_schema=False)
MAX_FAILURES = 5  # *unconfirmed*: itb's default, as the API's login
LOCKOUT = timedelta(minutes=15)  # *unconfirmed*: itb's default, as the API's login
WRONG = "The username or password is wrong."


def home_of(actor: Actor) -> str:
    return "/me" if actor.role == "patient" else "/dashboard"


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site (never another host: no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return None


def check_login(session: Session, username: str, password: str, *, now: datetime,
                address: str) -> User | str:
    """The user, or the sentence to show. Audited either way."""
    user = session.scalars(select(User).where(User.username == username)).first()
    who = users.actor_of(user) if user is not None else Actor(None, username[:64], "anonymous")
    if user is not None and user.locked_until is not None and user.locked_until > now:
        audit.record(session, who, "denied", "users", now=now, entity_id=user.id,
                     detail=f"web login refused: locked (from {address})")
        return (f"Too many failed logins: try again after {user.locked_until:%H:%M} UTC, or "
                "ask an admin.")
    if user is None or not user.active or not users.check_password(user, password):
        detail = "web login failed"
        if user is not None:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until, user.failed_logins = now + LOCKOUT, 0
                detail += f"; locked until {user.locked_until.isoformat()}"
        audit.record(session, who, "login", "users", now=now,
                     entity_id=None if user is None else user.id,
                     detail=f"{detail} (from {address})")
        return WRONG
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, who, "login", "users", now=now, entity_id=user.id,
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
    address = request.client.host if request.client else "unknown"
    found = check_login(session, username, password, now=now, address=address)
    if isinstance(found, str):
        session.commit()  # the failure counts although the login is refused
        return render(request, "login.html", {"error": found, "next": target or "",
                                              "username": username}, status=401)
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
