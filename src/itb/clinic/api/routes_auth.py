"""/api/login and /api/logout: a username and password for a short-lived token, and its
revocation. Failed logins are rate-limited per username and per client address."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel

from itb.clinic import logins
from itb.clinic.api.common import ERRORS, LOGIN_ERRORS, Line, Strict
from itb.clinic.api.deps import ActorDep, NowDep, SessionDep, bearer_token
from itb.clinic.errors import NotAuthenticated

router = APIRouter(prefix="/api", tags=["auth"])


Username = Line(64, 1)
Password = Line(256, 1)


class LoginIn(Strict):
    username: Username
    password: Password


class LoginOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: datetime
    username: str
    role: str


@router.post("/login", responses=LOGIN_ERRORS)
def login(body: LoginIn, request: Request, session: SessionDep, now: NowDep) -> LoginOut:
    """A token for `Authorization: Bearer TOKEN`, valid for the login's lifetime."""
    address = request.client.host if request.client is not None else "unknown"
    done = logins.log_in(session, body.username, body.password, address=address, now=now,
                         policy=request.app.state.login_policy,
                         throttle=request.app.state.login_throttle)
    return LoginOut(token=done.token, expires_at=done.expires_at,
                    username=done.actor.username, role=done.actor.role)


@router.post("/logout", status_code=204, responses=ERRORS)
def logout(request: Request, session: SessionDep, actor: ActorDep, now: NowDep) -> None:
    """Revoke the token this request came with (a web session logs out in the web app)."""
    token = bearer_token(request)
    if token is None:
        raise NotAuthenticated(f"{actor.username} is logged in without a token here.",
                               "Log out in the web app.")
    logins.log_out(session, token, now=now)
