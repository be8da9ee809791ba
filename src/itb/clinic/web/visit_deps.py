"""What the visit's pages take from the web app: the logged-in user, the CSRF check, the
page layout, and where visits keep their journals.

These are the only points where the visit touches the web package's login and layout
(`itb.clinic.web`, built by the webcore slice); each is one small function here.
"""

from __future__ import annotations

import hmac
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from itb.clinic.access import Actor
from itb.clinic.errors import NotAuthenticated, NotPermitted
from itb.clinic.models import User
from itb.clinic.users import actor_of
from itb.clinic.web.visit_state import VisitStore

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
CSRF_FIELD = "csrf_token"
VISIT_DIR_ENV = "ITB_CLINIC_VISIT_DIR"
_STORE_LOCK = threading.Lock()


@dataclass(frozen=True)
class WebLogin:
    key: str  # the login session's own key: a visit is held per login and patient
    actor: Actor
    csrf: str


LOGIN_KEY = "itb.web"  # where the web app's login cookies put the session (webcore)


def login_of(request: Request) -> WebLogin:
    """The user logged in on this browser session (401 without one)."""
    session: dict[str, Any] = request.scope.get(LOGIN_KEY) or {}
    user_id, key, csrf = session.get("uid"), session.get("login"), session.get("csrf")
    if not (isinstance(user_id, int) and isinstance(key, str) and isinstance(csrf, str)):
        raise NotAuthenticated("No login: log in to open a visit.", "Log in and try again.")
    with request.app.state.db.session() as db:
        user = db.get(User, user_id)
        if user is None or not user.active:
            raise NotAuthenticated("The login is no longer valid.", "Log in again.")
        return WebLogin(key, actor_of(user), csrf)


def require_csrf(login: WebLogin, form: dict[str, str]) -> None:
    """Every form posts the login's CSRF token; one without it changes nothing (403)."""
    given = form.get(CSRF_FIELD, "")
    if not hmac.compare_digest(given.encode(), login.csrf.encode()):
        raise NotPermitted("The form has no valid CSRF token, so nothing was done.",
                           "Reload the page and submit the form again.")


def visit_store(request: Request) -> VisitStore:
    """The open visits of this server. Each visit's journal (the report is made from it) is
    kept in `app.state.visit_dir`, else $ITB_CLINIC_VISIT_DIR, else a new temporary folder
    (the clinic's record holds every entry in any case)."""
    state = request.app.state
    with _STORE_LOCK:
        store = getattr(state, "visit_store", None)
        if store is None:
            folder = getattr(state, "visit_dir", None) or os.environ.get(VISIT_DIR_ENV)
            journal_dir = Path(folder) if folder else Path(
                tempfile.mkdtemp(prefix="itb-visits-"))
            store = state.visit_store = VisitStore(journal_dir)
        return store


def page(request: Request, name: str, context: dict[str, Any], status: int = 200
         ) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status)
