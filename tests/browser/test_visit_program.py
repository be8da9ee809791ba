"""A clinician's program change in the browser: the titration review, the pump's own dry run,
the override reason; the same refusal sentence as the CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select
from tests.browser.conftest import check_axe, screenshot
from tests.browser.visit_world import World, clinic_world

from itb.clinic.models import ProgramChange

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from clinic_world(tmp_path_factory.mktemp("visit-program"))



@pytest.mark.req("REQ-PRG-REVIEW")
def test_an_over_limit_titration_is_refused_as_the_cli_says_and_sent_with_a_reason(
        world: World, browser: Browser) -> None:
    page = world.page_of(browser, "clinician1")
    page.goto(world.visit_url())
    page.click("#connect")
    page.goto(world.visit_url("program"))
    page.fill("#daily_dose", "450")
    page.click("#review")
    shown = page.inner_text("#said-text") + "\n" + page.inner_text("#said-next")
    assert "Titration check" in page.inner_text("#preview")
    screenshot(page, "visit-program-refused")
    check_axe(page)
    cli = world.pump.run("program", "--daily-dose", "450", "--origin", "spinal",
                         "--age-years", "45", "--yes")
    assert cli.returncode == 2
    assert shown.strip() == cli.stderr.strip()  # the same two sentences as the CLI
    assert shown.startswith("Error: Dose change refused:")
    assert not page.is_visible("#send-yes")

    page.fill("#daily_dose", "450")
    page.fill("#override_reason", "spasms uncontrolled, team decision")
    page.click("#review")
    assert page.inner_text("#said-text").startswith("The program passed")
    page.click("#send-yes")
    assert page.inner_text("#said-text").startswith("Program sent and verified")
    assert world.pump.interrogate()["daily_dose_mcg"] == "450"
    with world.db.session() as session:
        changes = session.scalars(select(ProgramChange).order_by(ProgramChange.id)).all()
        assert [c.outcome for c in changes] == ["refused", "done"]
        assert changes[-1].details["outcome_words"] == "overridden"
        assert changes[-1].override_reason == "spasms uncontrolled, team decision"


def test_a_nurse_may_not_change_the_program(world: World, browser: Browser) -> None:
    page = world.page_of(browser, "nurse1")
    reply = page.goto(world.visit_url("program"))
    assert reply is not None and reply.status == 403
    assert "may not program pump" in page.inner_text("main")
