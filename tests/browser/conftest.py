"""Browser tests: Playwright (sync API) driving Debian's chromium against a real uvicorn
server in a subprocess on a free port, with a clinic database made for the test.

`clinic_server(idle_minutes=...)` starts one; `browser` is one chromium for the session
(no download: the executable is Debian's). Without any chromium the tests are skipped
locally; in CI (env CI set) a missing chromium is a failure, never a skip. Each main page's
screenshot goes to test-artifacts/screenshots/ (git-ignored), and `check_axe` fails on any
axe-core violation.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from itb.clinic import users
from itb.clinic.db import ClinicDB
from itb.clinic.models import (
    AuditEntry,
    Base,
    Implant,
    Interrogation,
    Patient,
    Prescription,
    RefillRecord,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    found = shutil.which("chromium") or ("/usr/bin/chromium"
                                         if Path("/usr/bin/chromium").exists() else None)
    if found is None and os.environ.get("CI"):
        pytest.fail("chromium is not installed (CI installs it: scripts/setup)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Clinic:
    """A served clinic: its URL, its database, and the records the tests use."""

    url: str
    db: ClinicDB
    process: subprocess.Popen[bytes]
    ids: dict[str, int] = field(default_factory=dict)

    def audit(self, action: str, patient_id: int) -> list[AuditEntry]:
        with self.db.session() as s:
            return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action,
                                                           AuditEntry.patient_id == patient_id)))


def _patient(s: object, mrn: str, name: str, *, refill_in_days: int) -> int:
    from sqlalchemy.orm import Session
    assert isinstance(s, Session)
    now = datetime.now(UTC)
    patient = Patient(mrn=mrn, name=name, date_of_birth=date(1968, 3, 4),
                      weight_kg=Decimal("74.0"), origin="spinal", created_at=now)
    s.add(patient)
    s.flush()
    implant = Implant(patient_id=patient.id, pump_serial=f"SN-{mrn}", pump_model="8637-20",
                      implanted_on=date(2023, 5, 1), catheter_length_cm=Decimal("48"),
                      catheter_volume_ml=Decimal("0.12"), created_at=now)
    s.add(implant)
    s.add(Prescription(patient_id=patient.id, drug="baclofen", strength_mcg_per_ml=Decimal(2000),
                       daily_dose_mcg=Decimal(300), program={"mode": "simple"},
                       patient_bolus_mcg=Decimal(25), patient_bolus_lockout_min=120,
                       patient_bolus_max_per_day=3, stability_days=180,
                       started_on=date(2023, 5, 1), created_at=now))
    s.flush()
    for days_ago, reservoir in ((200, "19.1"), (110, "18.6"), (20, "12.4")):
        s.add(Interrogation(
            patient_id=patient.id, implant_id=implant.id, at=now - timedelta(days=days_ago),
            reservoir_ml=Decimal(reservoir), strength_mcg_per_ml=Decimal(2000),
            daily_dose_mcg=Decimal(300), alarms=[], battery="OK",
            refill_by=now + timedelta(days=refill_in_days),
            low_alarm_at=now + timedelta(days=refill_in_days + 5),
            empty_at=now + timedelta(days=refill_in_days + 20),
            end_of_service_at=now + timedelta(days=1500), created_at=now))
        s.add(RefillRecord(patient_id=patient.id, at=now - timedelta(days=days_ago),
                           outcome="done", withdrawn_ml=Decimal("2.1"),
                           expected_ml=Decimal("2.0"), discrepancy_ml=Decimal("0.1"),
                           added_ml=Decimal(18), strength_mcg_per_ml=Decimal(2000),
                           drug="baclofen", created_at=now))
    return patient.id


def make_clinic_db(path: Path) -> tuple[ClinicDB, dict[str, int]]:
    db = ClinicDB(f"sqlite:///{path}")
    Base.metadata.create_all(db.engine)
    now = datetime.now(UTC)
    with db.session() as s:
        ids = {"due": _patient(s, "MRN-1001", "Dana Due", refill_in_days=5),
               "other": _patient(s, "MRN-2002", "Omar Other", refill_in_days=60)}
        for role in ("admin", "clinician", "nurse", "viewer"):
            users.add_user(s, role, role, PASSWORD, now=now)
        users.add_user(s, "pat", "patient", PASSWORD, now=now, patient_mrn="MRN-1001")
    return db, ids


def serve(db_path: Path, *, idle_minutes: str = "15") -> Clinic:
    db, ids = make_clinic_db(db_path)
    port = free_port()
    env = {**os.environ, "ITB_CLINIC_DB": db.url, "ITB_CLINIC_IDLE_MINUTES": idle_minutes,
           "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "tests.browser.served_app:make",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return Clinic(url, db, process, ids)
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the clinic server exited with {process.returncode}")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the clinic server did not answer within 60 s")


def stop(clinic: Clinic) -> None:
    clinic.process.terminate()
    try:
        clinic.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        clinic.process.kill()
        clinic.process.wait()
    clinic.db.dispose()


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    served = serve(tmp_path_factory.mktemp("clinic") / "clinic.db")
    yield served
    stop(served)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        pytest.skip("no chromium on this machine (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1024, "height": 768})  # type: ignore[attr-defined]
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()


def log_in(page: object, clinic: Clinic, username: str) -> None:
    page.goto(clinic.url + "/login")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill(username)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]


def screenshot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def check_axe(page: object) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


