"""The care team and the patient in a real browser (chromium via Playwright) against a
served clinic: login/logout, dashboard row to patient, search, the audit for admins only,
the patient's own pump and the refusal of another's page, forms without their token,
idle timeout; a screenshot and an axe-core check of each main page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.browser.conftest import Clinic, check_axe, log_in, screenshot, serve, stop


def test_a_nurse_logs_in_and_out(page: Any, clinic: Clinic) -> None:
    page.goto(clinic.url + "/dashboard")
    assert "/login" in page.url
    check_axe(page)
    screenshot(page, "login")
    log_in(page, clinic, "nurse")
    assert page.url.endswith("/dashboard")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(clinic.url + "/dashboard")
    assert "/login" in page.url


def test_a_dashboard_row_leads_to_the_patient_page(page: Any, clinic: Clinic) -> None:
    log_in(page, clinic, "nurse")
    check_axe(page)
    screenshot(page, "dashboard")
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile(
        "^Refills due")))
    section.get_by_role("link", name="Dana Due").click()
    page.wait_for_url(re.compile(rf".*/patients/{clinic.ids['due']}$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Dana Due")
    assert page.locator("img.plot").evaluate("img => img.complete && img.naturalWidth > 0")
    check_axe(page)
    screenshot(page, "patient")


def test_the_search_finds_a_patient_by_record_number(page: Any, clinic: Clinic) -> None:
    log_in(page, clinic, "clinician")
    page.get_by_role("navigation").get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Name or record number").fill("2002")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r".*q=2002"))
    rows = page.locator("#patient-rows tbody tr")
    assert rows.count() == 1 and "Omar Other" in rows.inner_text()
    check_axe(page)
    screenshot(page, "patients")


@pytest.mark.parametrize("role", ["admin", "nurse"])
def test_the_admin_sees_the_records_audit_and_a_nurse_does_not(page: Any, clinic: Clinic,
                                                                role: str) -> None:
    log_in(page, clinic, role)
    page.goto(f"{clinic.url}/patients/{clinic.ids['other']}")
    heading = page.get_by_role("heading", name="Audit of this record")
    assert heading.count() == (1 if role == "admin" else 0)
    if role == "admin":
        check_axe(page)
        screenshot(page, "patient-admin")


def test_a_patient_sees_their_pump_and_is_refused_another_patients_page(
        page: Any, clinic: Clinic) -> None:
    log_in(page, clinic, "pat")
    assert page.url.endswith("/me")
    assert "SN-MRN-1001" in page.content()
    check_axe(page)
    screenshot(page, "portal")
    before = len(clinic.audit("denied", clinic.ids["other"]))
    reply = page.goto(f"{clinic.url}/patients/{clinic.ids['other']}")
    assert reply is not None and reply.status == 403
    assert "Omar Other" not in page.content()
    check_axe(page)
    assert len(clinic.audit("denied", clinic.ids["other"])) == before + 1


def test_a_form_without_its_token_is_refused(page: Any, clinic: Clinic) -> None:
    log_in(page, clinic, "nurse")
    page.locator("form.logout input[name=csrf_token]").evaluate("input => input.remove()")
    with page.expect_response(lambda r: r.url.endswith("/logout")) as answer:
        page.get_by_role("button", name="Log out").click()
    assert answer.value.status == 403
    assert "no valid security token" in page.content()
    page.goto(clinic.url + "/dashboard")
    assert page.url.endswith("/dashboard")  # still logged in: nothing was done
    # a form posted from another site (no cookie, no token) is refused too
    assert httpx.post(clinic.url + "/login", data={"username": "nurse",
                                                   "password": "x"}).status_code == 403


def test_a_login_left_idle_is_ended(page: Any, tmp_path: Path) -> None:
    short = serve(tmp_path / "idle.db", idle_minutes="0.05")  # 3 seconds
    try:
        log_in(page, short, "nurse")
        assert page.url.endswith("/dashboard")
        page.wait_for_timeout(4_000)
        page.goto(short.url + "/patients")
        assert "/login" in page.url
        assert "after a time without activity" in page.content()
    finally:
        stop(short)


def test_a_nurse_takes_a_symptom_call_and_sees_the_seeds_disposition(page: Any,
                                                                     clinic: Clinic) -> None:
    log_in(page, clinic, "nurse")
    page.goto(f"{clinic.url}/patients/{clinic.ids['other']}/symptom-call")
    check_axe(page)
    page.get_by_label("itchy skin without a rash").check()
    page.get_by_label("Alarm heard").select_option("two-tone")
    page.get_by_role("button", name="Triage and record the call").click()
    page.wait_for_load_state()
    assert "Emergency: call 911" in page.locator(".disposition").inner_text()
    check_axe(page)
    screenshot(page, "symptom-call")


def test_a_clinician_opens_the_screening_form(page: Any, clinic: Clinic) -> None:
    log_in(page, clinic, "clinician")
    page.goto(f"{clinic.url}/patients/{clinic.ids['other']}/screening")
    page.get_by_label("Dose (mcg)").first.fill("50")
    page.get_by_label("Given at (UTC)").first.fill("2026-01-10T08:00")
    page.get_by_label("Hour 4").first.select_option("1+")
    page.get_by_label("Decision").select_option("implant")
    page.get_by_role("button", name="Record the screening trial").click()
    page.wait_for_load_state()
    assert "Screening trial recorded: 1 bolus(es), decision implant" in page.content()
    check_axe(page)
    screenshot(page, "screening")


def test_the_patient_reads_the_alarm_tones_and_checks_a_symptom(page: Any,
                                                                clinic: Clinic) -> None:
    log_in(page, clinic, "pat")
    page.get_by_role("navigation").get_by_role("link", name="Alarm tones").click()
    page.wait_for_url(re.compile(r".*/me/alarms$"))
    check_axe(page)
    screenshot(page, "portal-alarms")
    page.get_by_role("navigation").get_by_role("link", name="Symptom checker").click()
    page.get_by_label("swelling over the pump").check()
    page.get_by_role("button", name="Check").click()
    page.wait_for_load_state()
    assert "Call the care team" in page.locator(".disposition").inner_text()
    check_axe(page)
    screenshot(page, "portal-symptoms")
