"""The visit's pages over HTTP (FastAPI's TestClient), on an in-process pump behind the real
wand link: the CSRF check, the role checks (audited), the refill wizard's steps as posts
held server-side, a step posted out of order, and the report with its print stylesheet.

The browser itself is driven in tests/browser/test_visit_*.py against `itb pump serve`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.clinic.web_helpers import PASSWORD, Web, token_of
from tests.programmer.conftest import SERIAL, InProcessPump, make_pump

from itb.clinic import patients, users
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
from itb.clinic.models import AuditEntry, RefillRecord
from itb.therapy.units import to_exact_str


@pytest.fixture
def wand() -> InProcessPump:
    return make_pump(days=5)


def _setup(db: ClinicDB) -> int:
    now = datetime.now(UTC)
    with db.session() as session:
        for role in ("nurse", "clinician"):
            users.add_user(session, f"{role}1", role, PASSWORD, now=now)
        admin = Actor(None, "setup", "admin")
        patient = patients.create_patient(session, admin, {
            "mrn": "P-1", "name": "Pat Page", "date_of_birth": date(1981, 4, 2),
            "weight_kg": Decimal("70"), "origin": "spinal"}, now=now)
        patients.add_implant(session, admin, patient.id, {
            "pump_serial": SERIAL, "pump_model": "synchromed-ii-20",
            "implanted_on": date(2026, 1, 5), "pump_host": "127.0.0.1", "pump_port": 7400},
            now=now)
        return patient.id


def _client(db: ClinicDB, wand: InProcessPump, username: str, tmp: Path) -> TestClient:
    """A browser-like client logged in through the web app's login form."""
    client = Web(db).logged_in(username)
    client.app.state.wand_factory = wand.maker  # type: ignore[attr-defined]
    client.app.state.visit_dir = tmp / "visits"  # type: ignore[attr-defined]
    return client


def _token(client: TestClient, pid: int) -> str:
    return token_of(client, f"/patients/{pid}/visit")


@pytest.fixture
def world(clinic_db: ClinicDB, wand: InProcessPump, tmp_path: Path
          ) -> Iterator[tuple[ClinicDB, InProcessPump, int, Path]]:
    yield clinic_db, wand, _setup(clinic_db), tmp_path


def _post(client: TestClient, url: str, **form: str) -> str:
    pid = int(url.split("/")[2])
    reply = client.post(url, data={"csrf_token": _token(client, pid), **form})
    assert reply.status_code == 303, reply.text
    return client.get(reply.headers["location"]).text


def _said(html: str) -> str:
    found = re.search(r'id="said-text">(.*?)</pre>', html, re.S)
    assert found is not None, html
    return found.group(1)


def test_a_form_without_the_csrf_token_does_nothing(world: Any) -> None:
    db, wand, pid, tmp = world
    client = _client(db, wand, "nurse1", tmp)
    reply = client.post(f"/patients/{pid}/visit/connect", data={})
    assert reply.status_code == 403 and "csrf_token" in reply.text
    assert wand.sessions == 0


@pytest.mark.req("REQ-WEB-VISIT-ONCE")
def test_the_refill_wizard_as_posts_with_its_state_held_on_the_server(world: Any) -> None:
    db, wand, pid, tmp = world
    client = _client(db, wand, "nurse1", tmp)
    base = f"/patients/{pid}/visit"
    page = _post(client, f"{base}/connect")
    assert "id=\"interrogation\"" in page and SERIAL in page
    page = _post(client, f"{base}/refill/start")
    assert "Step 1 of 7" in page
    page = _post(client, f"{base}/refill/residual", withdrawn_ml="1")  # not yet at step 2
    assert _said(page).startswith("Error: Nothing was done: the refill is at step 1, not at step 2")
    _post(client, f"{base}/refill/confirm", answer="yes")
    syringe = to_exact_str(Fraction(wand.pump.physical.reservoir_nl, 1_000_000))
    page = _post(client, f"{base}/refill/residual", withdrawn_ml=syringe)
    assert "Step 3 of 7" in page
    page = _post(client, f"{base}/refill/drug", drug="Lioresal Intrathecal",
                 concentration="500", prescribed_concentration="500", added_ml="18")
    assert "Step 5 of 7" in page and "If confirmed: Low-reservoir alarm projected" in page
    page = _post(client, f"{base}/refill/update", answer="yes")
    assert "Step 7 of 7: refill record written" in page
    again = _post(client, f"{base}/refill/update", answer="yes")  # a second post sends nothing
    assert "Nothing was done" in _said(again)
    assert sum(1 for c in wand.sent_changes if type(c).__name__ == "Refill") == 1
    with db.session() as session:
        [refill] = session.scalars(select(RefillRecord)).all()
        assert refill.details["outcome"] == "refilled"
    report = client.get(f"{base}/report")
    assert report.status_code == 200 and "Refill record" in report.text
    assert '<style media="print">' in report.text


def test_a_nurse_may_not_program_and_the_refusal_is_audited(world: Any) -> None:
    db, wand, pid, tmp = world
    client = _client(db, wand, "nurse1", tmp)
    _post(client, f"/patients/{pid}/visit/connect")
    reply = client.post(f"/patients/{pid}/visit/program/review",
                        data={"csrf_token": _token(client, pid), "daily_dose": "330"})
    assert reply.status_code == 403
    assert "The role nurse may not program pump on this record." in reply.text
    with db.session() as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "denied")).all()
        assert [d.username for d in denied] == ["nurse1"]
    assert not wand.sent_changes


def test_a_bad_value_gets_the_cli_sentence_naming_the_field(world: Any) -> None:
    db, wand, pid, tmp = world
    client = _client(db, wand, "clinician1", tmp)
    _post(client, f"/patients/{pid}/visit/connect")
    page = _post(client, f"/patients/{pid}/visit/bolus/review", dose="abc", duration_min="5")
    assert _said(page).startswith("Error: bolus dose = ")
    assert "Next: Correct the value and run the command again." in page


def test_an_unknown_patient_or_page_is_404_and_no_login_goes_to_the_login_form(
        world: Any) -> None:
    db, wand, pid, tmp = world
    client = _client(db, wand, "nurse1", tmp)
    assert client.get(f"/patients/{pid + 99}/visit").status_code == 404
    assert client.get(f"/patients/{pid}/visit/nothing").status_code == 404
    anonymous = Web(db).client()
    reply = anonymous.get(f"/patients/{pid}/visit")
    assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
