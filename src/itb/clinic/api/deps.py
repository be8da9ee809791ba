"""What every route needs: the database session, the clock and the acting user."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from itb.clinic.access import Actor
from itb.clinic.errors import NotAuthenticated
from itb.clinic.users import actor_of, user_for_token
from itb.clinic.web.session import web_actor


def db_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, else rolled back.

    Used with scope "function" (`SessionDep`): the commit happens before the answer is
    sent, so a 201 means committed, and a commit that fails is the answer (FastAPI's default
    would commit after the answer was sent: a client could be told "saved" for a lost
    write, and read its own write before it was committed)."""
    with request.app.state.db.session() as session:
        yield session


def now(request: Request) -> datetime:
    clock = request.app.state.clock
    return clock()


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


SessionDep = Annotated[Session, Depends(db_session, scope="function")]


def current_actor(request: Request, session: SessionDep) -> Actor:
    """The acting user: the web app's login session, if its middleware set
    `request.state.actor` (an `Actor`), else the user of `Authorization: Bearer TOKEN`
    (an API token or a login's token, neither revoked nor expired), else of the browser's
    login cookie (itb.clinic.web.session)."""
    from_web = getattr(request.state, "actor", None)
    if isinstance(from_web, Actor):
        return from_web
    token = bearer_token(request)
    if token is None:
        if (browser := web_actor(request, session)) is not None:
            return browser  # the browser's login cookie (writes need X-CSRF-Token)
        raise NotAuthenticated("No API token: send 'Authorization: Bearer TOKEN'.")
    return actor_of(user_for_token(session, token, now=now(request)))


NowDep = Annotated[datetime, Depends(now)]
ActorDep = Annotated[Actor, Depends(current_actor)]
