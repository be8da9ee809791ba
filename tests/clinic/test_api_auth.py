"""Logging in: tokens that expire and can be revoked, failed logins rate-limited per
username and per client address (429 while locked, audited), the web session hook."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.clinic.apikit import PASSWORD, new_patient
from tests.clinic.conftest import NOW

from itb.clinic import users
from itb.clinic.access import Actor
from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB
from itb.clinic.logins import LoginPolicy
from itb.clinic.models import AuditEntry


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def _app(db: ClinicDB, clock: Clock, *usernames: str) -> TestClient:
    with db.session() as s:
        for name in usernames:
            users.add_user(s, name, "nurse", PASSWORD, now=NOW)
    return TestClient(create_app(db, clock=clock))


def _login(web: TestClient, username: str, password: str = PASSWORD) -> int:
    return web.post("/api/login", json={"username": username, "password": password}).status_code


@pytest.mark.req("REQ-CLINIC-LOGIN")
def test_a_login_token_works_until_it_expires_and_logout_revokes_it(clinic_db: ClinicDB) -> None:
    clock = Clock()
    web = _app(clinic_db, clock, "nina")
    answer = web.post("/api/login", json={"username": "nina", "password": PASSWORD})
    assert answer.status_code == 200 and answer.json()["role"] == "nurse"
    header = {"Authorization": f"Bearer {answer.json()['token']}"}
    assert web.get("/api/patients", headers=header).status_code == 200
    clock.now = NOW + LoginPolicy().token_life
    expired = web.get("/api/patients", headers=header)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]
    clock.now = NOW
    second = web.post("/api/login", json={"username": "nina", "password": PASSWORD}).json()
    header = {"Authorization": f"Bearer {second['token']}"}
    assert web.post("/api/logout", headers=header).status_code == 204
    assert web.get("/api/patients", headers=header).status_code == 401


@pytest.mark.req("REQ-CLINIC-LOGIN")
def test_five_failures_lock_the_username_even_for_the_right_password(
        clinic_db: ClinicDB) -> None:
    clock = Clock()
    web = _app(clinic_db, clock, "nina", "omar")
    web.app.state.login_throttle.policy = LoginPolicy(max_failures=10**6)  # address aside
    assert [_login(web, "nina", "wrong password") for _ in range(5)] == [401] * 5
    locked = web.post("/api/login", json={"username": "nina", "password": PASSWORD})
    assert locked.status_code == 429 and "Too many failed logins" in locked.json()["error"]
    assert locked.headers["Retry-After"]
    assert _login(web, "omar") == 200  # another user is not locked out
    clock.now = NOW + timedelta(minutes=15)
    assert _login(web, "nina") == 200
    with clinic_db.session() as s:
        actions = [(e.action, e.detail.split(" (")[0].split(";")[0]) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.username == "nina",
                                     AuditEntry.entity == "users"))]
    assert actions.count(("login", "login failed")) == 5
    assert any(a == "denied" and "locked" in d for a, d in actions)
    assert actions[-1] == ("login", "login ok")


@pytest.mark.req("REQ-CLINIC-LOGIN")
def test_five_failures_from_one_address_lock_it_whatever_the_usernames(
        clinic_db: ClinicDB) -> None:
    clock = Clock()
    web = _app(clinic_db, clock, "nina")
    tried = [_login(web, f"guess{n}", "wrong password") for n in range(5)]
    assert tried == [401] * 5
    assert _login(web, "nina") == 429  # the right password, from the locked address
    clock.now = NOW + timedelta(minutes=15, seconds=1)
    assert _login(web, "nina") == 200


def test_a_wrong_username_and_a_wrong_password_get_the_same_answer(
        clinic_db: ClinicDB) -> None:
    web = _app(clinic_db, Clock(), "nina")
    nobody = web.post("/api/login", json={"username": "nobody", "password": "x" * 9})
    wrong = web.post("/api/login", json={"username": "nina", "password": "x" * 9})
    assert nobody.status_code == wrong.status_code == 401
    assert nobody.json() == wrong.json()


def test_a_bad_login_body_is_422_naming_the_field(clinic_db: ClinicDB) -> None:
    web = _app(clinic_db, Clock())
    answer = web.post("/api/login", json={"username": "", "password": "x"})
    assert answer.status_code == 422 and answer.json()["field"] == "username"
    extra = web.post("/api/login", json={"username": "a", "password": "b", "role": "admin"})
    assert extra.status_code == 422 and extra.json()["field"] == "role"


def test_a_revoked_api_token_is_refused(clinic_db: ClinicDB) -> None:
    with clinic_db.session() as s:
        users.add_user(s, "prog", "nurse", PASSWORD, now=NOW)
        token = users.create_token(s, "prog", now=NOW, name="programmer")
    web = TestClient(create_app(clinic_db, clock=lambda: NOW))
    header = {"Authorization": f"Bearer {token}"}
    assert web.get("/api/patients", headers=header).status_code == 200
    with clinic_db.session() as s:
        assert users.revoke_tokens(s, "prog", now=NOW) == 1
    assert web.get("/api/patients", headers=header).status_code == 401


def test_the_web_apps_login_session_is_an_actor_without_a_token(clinic_db: ClinicDB) -> None:
    pid = new_patient(clinic_db, "WEB-1")
    app = create_app(clinic_db, clock=lambda: NOW)

    @app.middleware("http")
    async def web_session(request: Request, call_next):  # type: ignore[no-untyped-def]
        request.state.actor = Actor(user_id=None, username="web-viewer", role="viewer")
        return await call_next(request)

    web = TestClient(app)
    assert web.get(f"/api/patients/{pid}").status_code == 200
    assert web.delete(f"/api/patients/{pid}?version=1").status_code == 403
