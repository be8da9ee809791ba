"""What the visit's pages take from the web app (itb.clinic.web, webcore): the logged-in user
and its login session's key, the page layout, and where visits keep their journals.

The login, the CSRF check of every POST (before the route runs) and the refusal pages are
the web app's (`pages.PageActor`, `pages.refusal_pages`); the visit only adds its state.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from itb.clinic.access import Actor
from itb.clinic.errors import NotAuthenticated
from itb.clinic.web.pages import csrf_token, render
from itb.clinic.web.session import data_of
from itb.clinic.web.visit_state import VisitStore

VISIT_DIR_ENV = "ITB_CLINIC_VISIT_DIR"
_STORE_LOCK = threading.Lock()


@dataclass(frozen=True)
class WebLogin:
    key: str  # the login session's own id: a visit is held per login and patient
    actor: Actor
    csrf: str


def login_of(request: Request, actor: Actor) -> WebLogin:
    """The login of this request (its actor checked by `PageActor`)."""
    key = data_of(request).get("login")
    if not isinstance(key, str) or not key:
        raise NotAuthenticated("Please log in.")
    return WebLogin(key, actor, csrf_token(request))


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


def page(request: Request, name: str, context: dict[str, Any], actor: Actor,
         status: int = 200) -> Response:
    return render(request, name, context, status=status, actor=actor)
