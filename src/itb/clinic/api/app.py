"""The FastAPI application: routers, and the clinic's errors as status codes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from itb.clinic.db import ClinicDB
from itb.clinic.errors import ClinicError, InvalidRecord


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(db: ClinicDB, clock: Callable[[], datetime] = _utc_now) -> FastAPI:
    app = FastAPI(title="itb clinic", version="1",
                  description="The clinic's records for simulated ITB pumps (not a medical "
                              "device).")
    app.state.db = db
    app.state.clock = clock

    @app.exception_handler(ClinicError)
    async def clinic_error(_request: Request, error: ClinicError) -> JSONResponse:
        body: dict[str, object] = {"error": str(error), "next": error.next_step}
        if isinstance(error, InvalidRecord):
            body["field"] = error.field
        return JSONResponse(body, status_code=error.status)

    from itb.clinic.api import routes_patients

    app.include_router(routes_patients.router)
    from itb.clinic.web.visit_routes import router as visit_router  # the visit's pages

    app.include_router(visit_router)
    return app
