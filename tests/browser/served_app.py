"""The clinic app a browser test serves with uvicorn (`--factory`): the database from
ITB_CLINIC_DB, the web settings from the environment (ITB_CLINIC_IDLE_MINUTES, ...).
`itb clinic serve` does the same for a user; the tests serve this module so they depend
only on `create_app`."""

from __future__ import annotations

import os

from fastapi import FastAPI

from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB


def make() -> FastAPI:
    return create_app(ClinicDB(os.environ["ITB_CLINIC_DB"]))
