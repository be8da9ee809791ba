"""The login session: a signed cookie, its idle timeout, and the `Actor` it stands for.

The cookie holds only ids and times, signed (itsdangerous, HMAC-SHA1 over the JSON, with
the settings' secret) so it cannot be forged or edited: `uid` (the user), `login` (a random
id of this login, so a logout ends it on the server too), `csrf` (the form token), `seen`
(the last request, by the app's clock). It is HttpOnly, SameSite=Lax, Secure when
`https_only`, and lasts at most `MAX_LOGIN`; a request after more than `idle` since `seen`
ends the login. Nothing clinical is ever in it.

`LoginCookies` is a plain ASGI middleware (no per-request task): it reads the cookie before
the app and writes it back only when the session changed. This module imports nothing of
the API, so `api/deps.py` may use `web_actor` (a browser's login on an API GET).
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.requests import Request

from itb.clinic.access import Actor
from itb.clinic.models import User
from itb.clinic.users import actor_of
from itb.clinic.web.settings import MAX_LOGIN, WebSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KEY = "itb.web"  # where the session dict lives in the ASGI scope
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


def settings_of(app: Any) -> WebSettings:
    return app.state.web_settings  # type: ignore[no-any-return]


def _serializer(settings: WebSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret, salt="itb-clinic-login")


def _cookie_value(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
    return None


def _loaded(scope: Scope, settings: WebSettings, now: datetime) -> dict[str, Any]:
    raw = _cookie_value(scope.get("headers", []), settings.cookie)
    data: dict[str, Any] = {}
    if raw:
        try:
            data = dict(_serializer(settings).loads(raw, max_age=int(
                MAX_LOGIN.total_seconds())))
        except (BadSignature, ValueError, TypeError):
            data = {}
    ended = scope["app"].state.web_logged_out
    if "uid" in data and (data.get("login") in ended
                          or now.timestamp() - float(data.get("seen", 0))
                          > settings.idle.total_seconds()):
        data = {"ended": "idle" if data.get("login") not in ended else "logout"}
    return data


def _set_cookie(settings: WebSettings, data: dict[str, Any]) -> bytes:
    parts = [f"{settings.cookie}={_serializer(settings).dumps(data) if data else ''}",
             "Path=/", "HttpOnly", "SameSite=Lax",
             f"Max-Age={int(MAX_LOGIN.total_seconds()) if data else 0}"]
    if settings.https_only:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


class LoginCookies:
    """Load the session before the app runs; write it back if the app changed it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/static/"):
            await self.app(scope, receive, send)
            return
        settings = settings_of(scope["app"])
        now = scope["app"].state.clock()
        data = _loaded(scope, settings, now)
        before = json.dumps(data, sort_keys=True)
        if "uid" in data:
            data["seen"] = int(now.timestamp())  # activity: the idle time starts again
        scope[KEY] = data

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and (
                    json.dumps(data, sort_keys=True) != before):
                headers = list(message.get("headers", []))
                headers.append((b"set-cookie", _set_cookie(settings, data)))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def data_of(request: Request) -> dict[str, Any]:
    """The session of this request (empty when the middleware did not run)."""
    return request.scope.setdefault(KEY, {})  # type: ignore[no-any-return]


def csrf_token(request: Request) -> str:
    """The session's form token, made on first use (a visitor gets one before logging in)."""
    data = data_of(request)
    if "csrf" not in data:
        data["csrf"] = secrets.token_urlsafe(32)
    return str(data["csrf"])


def csrf_matches(request: Request, given: object) -> bool:
    expected = data_of(request).get("csrf")
    return (isinstance(given, str) and isinstance(expected, str) and bool(expected)
            and hmac.compare_digest(given.encode(), expected.encode()))


def start_login(request: Request, user: User, now: datetime) -> None:
    """A new login: new ids and a new form token (nothing of the visitor's session kept)."""
    data = data_of(request)
    data.clear()
    data.update(uid=user.id, login=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(32),
                seen=int(now.timestamp()))


def end_login(request: Request, now: datetime) -> None:
    """Log out: the cookie is cleared and this login id refused from now on."""
    data = data_of(request)
    ended: dict[str, datetime] = request.app.state.web_logged_out
    if "login" in data:
        ended[str(data["login"])] = now
    for login, at in list(ended.items()):  # a login older than MAX_LOGIN is dead anyway
        if now - at > MAX_LOGIN:
            del ended[login]
    data.clear()
    data["ended"] = "logout"


def web_actor(request: Request, session: Session, *, form_checked: bool = False
              ) -> Actor | None:
    """The user logged in by this request's cookie, or None. For a request that changes
    something (not GET/HEAD/OPTIONS) the `X-CSRF-Token` header must carry the form token
    (unless the page already checked the form's), so another site cannot use the cookie
    to post to the API."""
    data = data_of(request)
    uid = data.get("uid")
    if not isinstance(uid, int):
        return None
    if request.method not in SAFE_METHODS and not form_checked and not csrf_matches(
            request, request.headers.get(CSRF_HEADER)):
        return None
    user = session.get(User, uid)
    if user is None or not user.active:
        return None
    return actor_of(user)
