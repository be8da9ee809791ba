"""A whole worklist in a real browser: the page passes the accessibility check, and a nurse
reaches a patient from it with the keyboard alone (Tab to the row's link, Enter)."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import Clinic, check_axe, log_in, screenshot


def test_a_whole_list_is_accessible_and_usable_with_the_keyboard(page: Any,
                                                                  clinic: Clinic) -> None:
    log_in(page, clinic, "nurse")
    page.goto(clinic.url + "/worklists/refill_due")
    assert page.get_by_role("heading", level=1).inner_text() == "Refills due (1)"
    check_axe(page)
    screenshot(page, "worklist-refill-due")
    for _ in range(40):  # Tab through the page until the row's link has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Dana Due":
            break
    else:
        raise AssertionError("the row's link was never reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/patients/{clinic.ids['due']}$"))
