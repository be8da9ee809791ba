"""The FastAPI application: routers, and the clinic's errors as status codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI

from itb.clinic.db import ClinicDB
from itb.clinic.logins import AddressThrottle, LoginPolicy
from itb.clinic.web import app as web


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(db: ClinicDB, clock: Callable[[], datetime] = _utc_now,
               login_policy: LoginPolicy | None = None) -> FastAPI:
    from itb.clinic.api.common import ERRORS

    # every route may answer these (401 403 404 409 422, one body shape), its own or not
    app = FastAPI(title="itb clinic", version="1", responses=ERRORS,
                  description="The clinic's records for simulated ITB pumps (not a medical "
                              "device).")
    app.state.db = db
    app.state.clock = clock
    app.state.login_policy = login_policy or LoginPolicy()
    app.state.login_throttle = AddressThrottle(app.state.login_policy)

    from itb.clinic.api import errors

    errors.install(app)
    web.mount(app)  # the pages (itb.clinic.web); after the error handlers it wraps

    from itb.clinic.api import (
        routes_appointments,
        routes_audit,
        routes_auth,
        routes_fhir,
        routes_implants,
        routes_patients,
        routes_prescriptions,
        routes_readings,
        routes_recordings,
        routes_screening,
        routes_symptom_calls,
        routes_visits,
        routes_worklist,
    )

    for routes in (routes_patients, routes_auth, routes_implants, routes_prescriptions,
                   routes_screening, routes_visits, routes_readings, routes_symptom_calls,
                   routes_audit, routes_worklist, routes_fhir, routes_recordings,
                   routes_appointments):
        app.include_router(routes.router)
    return app
