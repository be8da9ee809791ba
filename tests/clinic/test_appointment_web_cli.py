"""The appointment pages (booking form, day and week views, outbox, the dashboard's missed
refills) through the app, and `itb clinic book` / `reminders send` / `no-shows` as a user
runs them."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

from tests.clinic.appts_records import add_patient, add_staff
from tests.clinic.conftest import NOW
from tests.clinic.web_helpers import Web, token_of

from itb.clinic.db import ClinicDB

ROOT = Path(__file__).resolve().parents[2]
ITB = str(ROOT / ".venv" / "bin" / "itb")
AT = NOW - timedelta(days=1)


def _web(db: ClinicDB) -> tuple[Web, int]:
    with db.session() as s:
        add_staff(s, NOW)
        patient = add_patient(s, NOW, at=AT)
    web = Web(db)
    web.user("nurse")
    return web, patient


def test_a_nurse_books_from_the_patient_page_and_a_refusal_keeps_the_form(
        clinic_db: ClinicDB) -> None:
    web, patient = _web(clinic_db)
    client = web.logged_in("web-nurse")
    assert f"/patients/{patient}/book" in client.get(f"/patients/{patient}").text
    token = token_of(client, f"/patients/{patient}/book")
    form = {"csrf_token": token, "kind": "refill", "clinician": "nurse-cole", "place": "Room 4",
            "override_reason": ""}
    late = client.post(f"/patients/{patient}/book",
                       data={**form, "starts_at": "2026-12-29T09:01"})  # refill-by + 1 min
    assert late.status_code == 422 and "override_reason" in late.text
    assert 'value="2026-12-29T09:01"' in late.text and "Room 4" in late.text
    done = client.post(f"/patients/{patient}/book", data={**form, "starts_at": "2026-12-29T09:00"})
    assert done.status_code == 200 and 'id="booked"' in done.text
    day = client.get("/schedule?day=2026-12-29")
    assert "nurse-cole" in day.text and "Room 4" in day.text
    week = client.get("/schedule?view=week&day=2026-12-30&clinician=nurse-cole")
    assert "week of 2026-12-28" in week.text and "Room 4" in week.text
    outbox = client.get("/outbox")
    assert outbox.status_code == 200 and "pat@example.org" in outbox.text


def test_a_missed_refill_is_on_top_of_the_dashboard_until_rebooked(
        clinic_db: ClinicDB) -> None:
    web, patient = _web(clinic_db)
    client = web.logged_in("web-nurse")
    token = token_of(client, f"/patients/{patient}/book")
    booked = client.post(f"/patients/{patient}/book", data={
        "csrf_token": token, "kind": "refill", "starts_at": "2026-12-26T09:00",
        "clinician": "nurse-cole", "place": "", "override_reason": ""})
    assert booked.status_code == 200, booked.text
    web.clock.now = NOW + timedelta(days=26)
    client = web.logged_in("web-nurse")  # the idle timeout ended the first login
    token = token_of(client, "/schedule")
    day = client.get("/schedule?day=2026-12-26").text
    version = day.split('name="version" value="')[1].split('"')[0]
    appointment = day.split('action="/appointments/')[1].split("/")[0]
    marked = client.post(f"/appointments/{appointment}/status", data={
        "csrf_token": token, "version": version, "status": "missed",
        "back": "/schedule?day=2026-12-26"})
    assert marked.status_code == 303
    board = client.get("/dashboard").text
    assert board.index("Missed refills to chase") < board.index('id="refill_overdue"')
    assert "itchy skin" in board and "low-reservoir alarm in 6 days" in board
    client.post(f"/patients/{patient}/book", data={
        "csrf_token": token, "kind": "refill", "starts_at": "2026-12-27T09:00",
        "clinician": "nurse-cole", "place": "", "override_reason": ""})
    assert "Missed refills to chase" not in client.get("/dashboard").text


def _itb(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ITB, "clinic", *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_cli_books_refuses_and_sends_reminders_once(clinic_db: ClinicDB,
                                                        tmp_path: Path) -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with clinic_db.session() as s:
        add_staff(s, now)
        add_patient(s, now, at=now - timedelta(days=1), zone="Europe/London")
    refill_by = now - timedelta(days=1) + timedelta(days=30)
    db = ["--db", clinic_db.url]
    late = _itb("book", *db, "--patient", "MRN-5001", "--kind", "refill", "--at",
                (refill_by + timedelta(minutes=1)).isoformat(), "--clinician", "nurse-cole")
    assert late.returncode == 2 and "Error:" in late.stderr + late.stdout
    assert "override_reason" in late.stderr + late.stdout and "Traceback" not in late.stderr
    ok = _itb("book", *db, "--patient", "MRN-5001", "--kind", "refill", "--at",
              refill_by.isoformat(), "--clinician", "nurse-cole", "--place", "Room 1")
    assert ok.returncode == 0, ok.stderr
    assert "Booked refill" in ok.stdout and "6 reminder(s) queued" in ok.stdout
    due = (refill_by - timedelta(days=1)).isoformat()
    outbox = tmp_path / "outbox"
    for _ in range(2):  # a second run sends nothing more
        sent = _itb("reminders", "send", *db, "--outbox-dir", str(outbox), "--at", due)
        assert sent.returncode == 0, sent.stderr
    assert len(list(outbox.glob("*.txt"))) == 4  # e-mail and SMS, 7 days and 1 day before
    swept = _itb("no-shows", *db, "--at", (refill_by + timedelta(hours=2)).isoformat())
    assert swept.returncode == 0 and "Marked 1 visit(s) missed" in swept.stdout
    assert "MRN-5001" in swept.stdout
