"""`mount(app)`: the web app's pages, static files and login cookies on the clinic's app.

Called once by `itb.clinic.api.create_app`. The settings are read from the environment
(`settings.WebSettings.from_env`) unless `app.state.web_settings` is set before the first
request (tests do).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from itb.clinic.web import (
    appointment_pages,
    auth,
    care,
    dashboard,
    forms,
    portal,
    record,
    visit_routes,
)
from itb.clinic.web.pages import install_refusal_pages
from itb.clinic.web.session import LoginCookies
from itb.clinic.web.settings import WebSettings

STATIC = Path(__file__).parent / "static"
ROUTERS = (auth.router, care.router, dashboard.router, record.router, forms.router,
           portal.router, visit_routes.router, appointment_pages.router)


def mount(app: FastAPI, settings: WebSettings | None = None) -> None:
    app.state.web_settings = settings or WebSettings.from_env()
    app.state.web_logged_out = {}
    app.add_middleware(LoginCookies)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_refusal_pages(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse("/login", status_code=303)
