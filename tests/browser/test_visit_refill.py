"""A nurse's refill in the browser against a served pump, recorded to the clinic."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from tests.browser.conftest import check_axe, screenshot
from tests.browser.visit_world import World, clinic_world

from itb.clinic.models import Interrogation, RefillRecord
from itb.clinic.models import Visit as VisitRecord

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # filled with 12 mL at implant: the refill is due within the dashboard's 14 days
    yield from clinic_world(tmp_path_factory.mktemp("visit-refill"), fill_ml="12")


def _connect(world: World, page: Page) -> None:
    page.goto(world.visit_url())
    page.click("#connect" if page.is_visible("#connect") else "#interrogate")
    page.wait_for_selector("#interrogation")


@pytest.mark.req("REQ-PRG-REFILL-DISCREPANCY")
def test_a_discrepancy_stops_the_refill_in_the_browser_with_its_causes(
        world: World, browser: Browser) -> None:
    page = world.page_of(browser, "nurse1")
    _connect(world, page)
    page.goto(world.visit_url("refill"))
    page.click("#refill-start")
    page.click("#confirm-yes")
    page.fill("#withdrawn_ml", "2")
    page.click("#residual-next")
    text = page.inner_text("#said-text")
    assert text.startswith("Error: Refill stopped: ") and "Possible causes:" in text
    assert page.inner_text("#said-next").startswith("Next: No drug was added")
    assert page.is_visible("#refill-stopped")
    with world.db.session() as session:
        [stopped] = session.scalars(select(RefillRecord)).all()
        assert stopped.outcome == "stopped"


def test_a_nurse_refills_in_the_browser_and_sees_the_new_record_and_alarm_date(
        world: World, browser: Browser) -> None:
    page = world.page_of(browser, "nurse1")
    due = page.locator("section", has=page.get_by_role("heading", name=re.compile(
        "^Refills (due|overdue)")))
    due.get_by_role("link", name="Alex Webvisit").click()  # the due refill on the dashboard
    page.wait_for_url(re.compile(rf".*/patients/{world.patient_id}$"))
    page.click("#start-visit")
    page.wait_for_url(re.compile(r".*/visit$"))
    page.click("#connect")
    page.wait_for_selector("#interrogation")
    screenshot(page, "visit-pump")
    check_axe(page)
    page.goto(world.visit_url("refill"))
    page.click("#refill-start")
    assert "Step 1 of 7" in page.inner_text("#step")
    check_axe(page)
    page.click("#confirm-yes")
    page.fill("#withdrawn_ml", world.pump.syringe_ml())
    page.click("#residual-next")
    assert page.inner_text("#said-text").startswith("Withdrawn ")
    check_axe(page)  # step 3: the longest form
    page.fill("#added_ml", "18")
    page.click("#drug-next")
    assert "Step 5 of 7" in page.inner_text("#step")
    assert "If confirmed: Low-reservoir alarm projected" in page.inner_text("main")
    screenshot(page, "visit-refill-step5")
    page.click("#update-yes")
    said = page.inner_text("#said")
    assert "Step 7 of 7: refill record written" in said, said
    assert "Low-reservoir alarm projected" in said and page.is_visible("#refill-done")
    check_axe(page)
    with world.db.session() as session:
        newest = session.scalars(select(Interrogation).order_by(Interrogation.id.desc())).first()
        assert newest is not None and newest.low_alarm_at is not None
        alarm_day = newest.low_alarm_at.date().isoformat()
        assert newest.low_alarm_at.strftime("%Y-%m-%d %H:%M UTC") in said
        assert "refill" in {v.kind for v in session.scalars(select(VisitRecord))}
    # the patient's record: the new refill and the new alarm date
    page.goto(f"{world.url}/patients/{world.patient_id}")
    rows = page.locator("#refills + div table tbody tr").all_inner_texts()
    assert any(re.search(r"\tdone\t.*\t18(\.0*)?\t", row) for row in rows), rows
    last = page.locator("section[aria-labelledby=last] dl").inner_text()
    assert re.search(rf"Low-reservoir alarm\s+{alarm_day}", last), last
    screenshot(page, "visit-patient-after-refill")
    # the audit entry, as an admin reads the record's audit
    admin = world.page_of(browser, "admin1")
    admin.goto(f"{world.url}/patients/{world.patient_id}")
    audit = admin.locator("#audit + div").inner_text()
    assert re.search(r"nurse1\s+create\s+refills", audit), audit
    report = page.context.new_page()
    report.goto(world.visit_url("report"))
    html = report.content()
    assert "Refill record" in html and 'media="print"' in html
    screenshot(report, "visit-report")


def test_a_viewer_cannot_open_a_visit(world: World, browser: Browser, tmp_path: Path) -> None:
    page = world.page_of(browser, "viewer1")
    reply = page.goto(world.visit_url())
    assert reply is not None and reply.status == 403
    assert "may not record session" in page.inner_text("main")
