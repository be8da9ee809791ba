"""A link lost in the middle of a bolus, in the browser: the page says what the pump's log
shows (not carried out), or that it is unknown when the pump cannot be reached again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from tests.browser.conftest import check_axe, screenshot
from tests.browser.visit_world import World, clinic_world

pytestmark = pytest.mark.e2e
BOLUS_CHUNK = 5  # the give session's 5th programmer chunk is the bolus (as the CLI e2e test)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from clinic_world(tmp_path_factory.mktemp("visit-link"))



def _bolus_reviewed(world: World, page: Page) -> None:
    page.goto(world.visit_url("bolus"))
    page.fill("#dose", "10")
    page.fill("#duration_min", "5")
    page.click("#bolus-review")
    assert page.inner_text("#said-text").startswith("Bolus 10 mcg")


@pytest.mark.req("REQ-PRG-UNCERTAIN")
def test_a_bolus_cut_on_its_way_is_shown_not_carried_out_then_unknown_when_unreachable(
        world: World, browser: Browser) -> None:
    page = world.page_of(browser, "clinician1")
    page.goto(world.visit_url())
    page.click("#connect")

    _bolus_reviewed(world, page)
    world.proxy.cut_next(BOLUS_CHUNK)
    page.click("#give-yes")
    assert page.text_content("#delivery") == "Delivery: not carried out"
    assert "shows it not carried out" in page.inner_text("#said-text")
    assert world.pump.interrogate()["bolus_until"] is None  # the pump gave no bolus
    assert not page.is_visible("#give-yes")  # the reviewed bolus is never offered again

    _bolus_reviewed(world, page)
    world.proxy.cut_next(BOLUS_CHUNK, then_unreachable=True)
    page.click("#give-yes")
    assert page.text_content("#delivery") == "Delivery: unknown"
    text = page.inner_text("#said-text")
    assert text.startswith("Error: unknown: interrogate before acting.")
    assert page.inner_text("#said-next").startswith("Next: Interrogate the pump before acting")
    screenshot(page, "visit-link-unknown")
    check_axe(page)
    assert world.proxy.cuts == 2
    world.proxy.heal()
    page.goto(world.visit_url())
    page.click("#interrogate")
    assert page.inner_text("#said-text").startswith("Pump ")
