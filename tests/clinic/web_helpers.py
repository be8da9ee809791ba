"""Helpers for the web app's tests: an app on the test database with a settable clock,
users of each role, and a logged-in browser-like client (cookies kept, forms with token)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient
from tests.clinic.conftest import NOW

from itb.clinic import users
from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB
from itb.clinic.models import Patient
from itb.clinic.web.settings import WebSettings

PASSWORD = "correct horse"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Web:
    db: ClinicDB
    clock: Clock = field(default_factory=Clock)
    idle: timedelta = timedelta(minutes=15)
    app: FastAPI | None = None

    def client(self) -> TestClient:
        """A new browser (its own cookies) on the one app, as on one server."""
        if self.app is None:
            self.app = create_app(self.db, clock=self.clock)
            self.app.state.web_settings = WebSettings(secret="test-secret", idle=self.idle)
        return TestClient(self.app, follow_redirects=False)

    def user(self, role: str, patient_mrn: str | None = None, name: str | None = None) -> str:
        username = name or f"web-{role}"
        with self.db.session() as s:
            users.add_user(s, username, role, PASSWORD, now=NOW, patient_mrn=patient_mrn)
        return username

    def patient(self, mrn: str, name: str) -> int:
        with self.db.session() as s:
            p = Patient(mrn=mrn, name=name, date_of_birth=date(1970, 1, 2),
                        weight_kg=Decimal("70.0"), origin="spinal", created_at=NOW)
            s.add(p)
            s.flush()
            return p.id

    def logged_in(self, username: str) -> TestClient:
        client = self.client()
        log_in(client, username)
        return client


def token_of(client: TestClient, path: str = "/login") -> str:
    found = TOKEN.search(client.get(path).text)
    assert found is not None, f"no form token on {path}"
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    reply = client.post("/login", data={"username": username, "password": password,
                                        "csrf_token": token_of(client)})
    assert reply.status_code == 303, reply.text
