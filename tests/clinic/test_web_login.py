"""The web app's login: the form, a signed session cookie, logout, CSRF, idle timeout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.clinic.web_helpers import PASSWORD, Web, log_in, token_of

from itb.clinic.db import ClinicDB
from itb.clinic.models import AuditEntry


@pytest.mark.req("REQ-WEB-SESSION")
def test_a_nurse_logs_in_gets_a_safe_cookie_and_logs_out(clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    name = web.user("nurse")
    client = web.client()
    assert client.get("/patients").headers["location"].startswith("/login?next=")
    form = client.get("/login").text
    assert 'name="username"' in form and 'name="password"' in form and 'lang="en"' in form
    reply = client.post("/login", data={"username": name, "password": PASSWORD,
                                        "csrf_token": token_of(client)})
    assert reply.status_code == 303 and reply.headers["location"] == "/dashboard"
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/login").headers["location"] == "/dashboard"  # already in
    stolen = dict(client.cookies)
    out = client.post("/logout", data={"csrf_token": token_of(client, "/patients")})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/patients").status_code == 303
    # the old cookie, replayed after the logout, is refused on the server too
    replay = web.client()
    replay.cookies.update(stolen)
    assert replay.get("/patients").status_code == 303


def test_a_wrong_password_is_refused_without_saying_which_and_audited(
        clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    name = web.user("clinician")
    client = web.client()
    for username in (name, "nobody"):
        reply = client.post("/login", data={"username": username, "password": "wrong one",
                                            "csrf_token": token_of(client)})
        assert reply.status_code == 401
        assert "The username or password is wrong." in reply.text
    with clinic_db.session() as s:
        details = [e.detail for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "login"))]
    assert sum("login failed" in d for d in details) == 2


@pytest.mark.req("REQ-CLINIC-LOGIN")
def test_five_failures_pause_the_username_even_for_the_right_password(
        clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    name = web.user("nurse")
    client = web.client()
    for _ in range(5):
        client.post("/login", data={"username": name, "password": "wrong one",
                                    "csrf_token": token_of(client)})
    reply = client.post("/login", data={"username": name, "password": PASSWORD,
                                        "csrf_token": token_of(client)})
    assert reply.status_code == 429 and "Too many failed logins" in reply.text
    web.clock.advance(timedelta(minutes=16))
    log_in(client, name)


@pytest.mark.req("REQ-WEB-SESSION")
def test_a_form_without_its_token_is_refused_with_403_and_changes_nothing(
        clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    name = web.user("nurse")
    client = web.client()
    refused = client.post("/login", data={"username": name, "password": PASSWORD})
    assert refused.status_code == 403 and "csrf_token" in refused.text
    assert "set-cookie" not in refused.headers or "uid" not in refused.headers["set-cookie"]
    log_in(client, name)
    forged = client.post("/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert client.get("/patients").status_code == 200  # still logged in


@pytest.mark.req("REQ-WEB-SESSION")
def test_a_login_left_idle_ends_and_the_form_says_why(clinic_db: ClinicDB) -> None:
    web = Web(clinic_db, idle=timedelta(minutes=15))
    client = web.logged_in(web.user("nurse"))
    web.clock.advance(timedelta(minutes=14))
    assert client.get("/patients").status_code == 200  # activity restarts the idle time
    web.clock.advance(timedelta(minutes=14))
    assert client.get("/patients").status_code == 200
    web.clock.advance(timedelta(minutes=15, seconds=1))
    assert client.get("/patients").headers["location"].startswith("/login")
    assert "after a time without activity" in client.get("/login").text


def test_the_api_accepts_the_browser_login_for_reading_and_needs_the_token_to_write(
        clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    client = web.logged_in(web.user("nurse"))
    assert client.get("/api/patients").status_code == 200
    body = {"mrn": "W-1", "name": "Web Made", "date_of_birth": "1980-01-01",
            "weight_kg": "70.0", "origin": "spinal"}
    assert client.post("/api/patients", json=body).status_code == 401
    token = token_of(client, "/patients")
    made = client.post("/api/patients", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201, made.text


@pytest.mark.req("REQ-WEB-SESSION")
def test_a_forged_or_edited_cookie_is_not_a_login(clinic_db: ClinicDB) -> None:
    web = Web(clinic_db)
    client = web.logged_in(web.user("admin"))
    value = client.cookies["itb_clinic"]
    other = web.client()
    other.cookies.set("itb_clinic", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert other.get("/patients").status_code == 303


@pytest.mark.req("REQ-WEB-SESSION")
def test_every_form_of_the_web_app_refuses_a_post_without_its_token(clinic_db: ClinicDB
                                                                     ) -> None:
    from fastapi.routing import APIRoute

    from itb.clinic.web.app import ROUTERS

    web = Web(clinic_db)
    pid = web.patient("CSRF-1", "Cee Serf")
    client = web.logged_in(web.user("clinician"))
    posts = [r.path for router in ROUTERS for r in router.routes
             if isinstance(r, APIRoute) and "POST" in r.methods]
    assert "/login" in posts and "/logout" in posts and len(posts) >= 4
    for path in posts:
        target = path.replace("{patient_id}", str(pid))
        for data in ({}, {"csrf_token": "not-the-token"}):
            refused = client.post(target, data=data)
            assert refused.status_code == 403, (target, refused.status_code)
            assert "csrf_token" in refused.text
