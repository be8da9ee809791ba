"""Appointments in a real browser against a served clinic: a nurse books a refill from the
patient page (a refusal first, then with a reason), the reminders appear in the outbox and
are sent once, and a missed refill is escalated at the top of the dashboard until rebooked.
Each page is checked with axe."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.browser.conftest import Clinic, check_axe, log_in, screenshot

from itb.clinic import appointments, reminders
from itb.clinic.demo import DEMO
from itb.clinic.reminders import FileSender


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_a_nurse_books_a_refill_and_its_reminders_are_sent_once(
        page: Any, clinic: Clinic, tmp_path: Path) -> None:
    patient = clinic.ids["due"]
    log_in(page, clinic, "nurse")
    page.goto(f"{clinic.url}/patients/{patient}")
    page.get_by_role("link", name="Book a visit").click()
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=10, minute=0, second=0,
                                                            microsecond=0)
    page.get_by_label("Kind").select_option("refill")
    page.get_by_label(re.compile("^Starts at")).fill(_local(start))
    page.get_by_label("Clinician").select_option("nurse")
    page.get_by_label("Place").fill("Room 7")
    page.get_by_role("button", name="Book").click()
    alert = page.get_by_role("alert")
    assert "override_reason" in alert.inner_text() or "earliest" in alert.inner_text()
    check_axe(page)
    page.get_by_label(re.compile("^Override reason")).fill("dose change due")
    page.get_by_role("button", name="Book").click()
    assert "Booked: Refill" in page.locator("#booked").inner_text()
    screenshot(page, "booking")
    page.get_by_role("navigation").get_by_role("link", name="Outbox").click()
    assert page.locator("tbody tr").count() >= 1 and "pending" in page.inner_text("main")
    check_axe(page)
    sender = FileSender(tmp_path / "sent")
    for _ in range(2):
        reminders.send_due(clinic.db, sender, now=start)
    page.reload()
    # the test patients have no e-mail or phone: one portal reminder (1 day before), sent once
    assert page.locator("tbody tr", has_text="portal").count() == 1
    assert page.locator("tbody tr", has_text=re.compile(r"sent \d{4}-")).count() == 1
    assert not (tmp_path / "sent").exists()
    page.get_by_role("navigation").get_by_role("link", name="Schedule").click()
    page.get_by_label("Day").fill(start.date().isoformat())
    page.get_by_role("button", name="Show").click()
    assert "Room 7" in page.inner_text("main")
    check_axe(page)
    screenshot(page, "schedule")


def test_a_missed_refill_is_escalated_until_rebooked(page: Any, clinic: Clinic) -> None:
    patient = clinic.ids["other"]
    now = datetime.now(UTC)
    start = (now - timedelta(hours=3)).replace(second=0, microsecond=0)
    with clinic.db.session() as s:  # booked yesterday for three hours ago, then missed
        booked = appointments.book(s, DEMO, patient, appointments.Booking(
            "refill", start, "clinician", "Room 2", "early: the only free slot"),
            now=start - timedelta(days=1))
        appointments.set_status(s, DEMO, booked.id, "missed", version=booked.version,
                                now=now)
    log_in(page, clinic, "nurse")
    chase = page.locator("section.escalations")
    assert "Omar Other" in chase.inner_text() and "itchy skin" in chase.inner_text()
    check_axe(page)
    screenshot(page, "dashboard-escalation")
    chase.get_by_role("link", name="Rebook Omar Other").click()
    page.get_by_label(re.compile("^Starts at")).fill(
        _local((now + timedelta(days=1)).replace(hour=11, minute=0)))
    page.get_by_label("Clinician").select_option("clinician")
    page.get_by_label(re.compile("^Override reason")).fill("after a missed refill")
    page.get_by_role("button", name="Book").click()
    assert "Booked: Refill" in page.locator("#booked").inner_text()
    page.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
    assert page.locator("section.escalations").count() == 0
