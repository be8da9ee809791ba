"""The world of the visit's browser tests: a real `itb pump serve` subprocess with a pump made
by `itb pump new` (aged a few pump days), reached through a loopback TCP proxy that a test can
cut; a clinic database with a nurse, a clinician, a viewer and a patient whose implant points
at that proxy, and an earlier visit's interrogation recorded; the clinic app served by
uvicorn (tests/browser/served_app.py) on a free port. The browser, the login, the screenshots
and the axe check are tests/browser/conftest.py's.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page
from tests.browser.conftest import PASSWORD, ROOT, free_port, log_in
from tests.e2e.pump_server import SERIAL, ServedPump, serve_pump
from tests.e2e.tcpproxy import LoopbackProxy

from itb.clinic import patients, users
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
from itb.clinic.web.visit_recording import ClinicRecorder
from itb.clinic.web.visit_state import open_visit_for
from itb.programmer.wand import ConnectionOptions, tcp_factory
from itb.programmer.workflows import reading


class WandProxy(LoopbackProxy):
    """A loopback TCP proxy in front of the pump server. `cut_next(chunk)` cuts the next
    connection when the programmer sends its `chunk`-th chunk (that chunk never reaches the
    pump); with `then_unreachable` every later connection is closed at once, so the
    programmer's look-up cannot reach the pump either."""

    def __init__(self, target_port: int) -> None:
        self.armed: int | None = None
        self.then_unreachable = False
        self.unreachable = False
        self.cuts = 0
        super().__init__(target_port)  # accepts from now on

    def cut_next(self, chunk: int, *, then_unreachable: bool = False) -> None:
        self.armed, self.then_unreachable = chunk, then_unreachable

    def heal(self) -> None:
        self.armed, self.unreachable = None, False

    def admits(self) -> bool:
        return not self.unreachable

    def plan(self, number: int) -> int | None:
        cut_at, self.armed = self.armed, None
        return cut_at

    def upward(self, data: bytes, count: int, plan: Any, upstream: socket.socket) -> bool:
        if plan is not None and count == plan:
            self.cuts += 1
            self.unreachable = self.then_unreachable
            return False  # the chunk never reaches the pump; the link dies
        return True


@dataclass
class World:
    pump: ServedPump
    proxy: WandProxy
    db: ClinicDB
    url: str
    patient_id: int
    implant_id: int
    mrn: str

    def page_of(self, browser: Browser, username: str) -> Page:
        """A new browser context, logged in as `username` through the login form."""
        context = browser.new_context(viewport={"width": 1024, "height": 1300})
        context.set_default_timeout(30_000)
        page = context.new_page()
        log_in(page, self, username)  # type: ignore[arg-type]
        return page

    def visit_url(self, section: str = "") -> str:
        tail = f"/{section}" if section else ""
        return f"{self.url}/patients/{self.patient_id}/visit{tail}"


def _clinic(db: ClinicDB, served: ServedPump, proxy: WandProxy, mrn: str) -> tuple[int, int]:
    now = datetime.now(UTC)
    admin = Actor(None, "test-setup", "admin")
    with db.session() as session:
        for role in ("nurse", "clinician", "viewer", "admin"):
            users.add_user(session, f"{role}1", role, PASSWORD, now=now)
        patient = patients.create_patient(session, admin, {
            "mrn": mrn, "name": "Alex Webvisit", "date_of_birth": date(1981, 4, 2),
            "weight_kg": Decimal("72"), "origin": "spinal"}, now=now)
        implant = patients.add_implant(session, admin, patient.id, {
            "pump_serial": SERIAL, "pump_model": "synchromed-ii-20",
            "implanted_on": now.date(), "catheter_volume_ml": Decimal("0.11"),
            "key_file": str(served.key_file), "pump_host": "127.0.0.1",
            "pump_port": proxy.port}, now=now)
        return patient.id, implant.id


def _serve_clinic(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ITB_CLINIC_DB": url, "ITB_CLINIC_VISIT_DIR": str(tmp / "visits"),
           "PYTHONPATH": str(ROOT)}
    with open(tmp / "clinic.log", "wb") as log:  # the child keeps its own copy of the file
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "tests.browser.served_app:make",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/login", timeout=2)
            return process, base
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the clinic server did not start: "
                         + (tmp / "clinic.log").read_text(errors="replace"))


def _last_visit(db: ClinicDB, served: ServedPump, patient_id: int) -> None:
    """An interrogation at an earlier visit, recorded to the clinic the way a web visit records
    it: the dashboard's worklists are computed from it."""
    now = lambda: datetime.now(UTC)  # noqa: E731
    options = ConnectionOptions("127.0.0.1", served.port, served.key_file, SERIAL)
    recorder = ClinicRecorder(db, Actor(None, "earlier-visit", "nurse"), patient_id, now)
    visit = open_visit_for(options, served.state / "earlier-visit.jsonl", recorder, now,
                           tcp_factory)
    reading.interrogate(visit)
    assert visit.recording.error is None, visit.recording.error


def clinic_world(tmp: Path, mrn: str = "WEB-001", days: float = 5,
                 fill_ml: str | None = None) -> Iterator[World]:
    """`days`: how many pump days pass before the visit; `fill_ml`: the implant's fill (a
    small one brings the refill-by date within the dashboard's 14 days)."""
    extra = () if fill_ml is None else ("--fill-ml", fill_ml)
    for served in serve_pump(tmp, days=days, new_args=extra):
        proxy = WandProxy(served.port)
        db = ClinicDB(f"sqlite:///{tmp / 'clinic.db'}")
        db.migrate()
        patient_id, implant_id = _clinic(db, served, proxy, mrn)
        _last_visit(db, served, patient_id)
        process, url = _serve_clinic(db.url, tmp)
        try:
            yield World(served, proxy, db, url, patient_id, implant_id, mrn)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            proxy.close()
            db.dispose()
