"""The dashboard shows each list's most urgent rows with its size and a link to the whole
list; the whole list is paged, most urgent first, and refuses an unknown kind."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.clinic.conftest import NOW
from tests.clinic.web_helpers import Web
from tests.clinic.work_records import add_patient, interrogate

from itb.clinic.db import ClinicDB
from itb.clinic.web import dashboard


def _overdue_patients(db: ClinicDB, count: int) -> list[str]:
    """`count` patients with refills overdue by 1, 2, ... days (the first most urgent is the
    last one added)."""
    with db.session() as s:
        for number in range(count):
            patient, implant = add_patient(s, f"OVER-{number:03d}")
            interrogate(s, patient, implant, NOW - timedelta(days=30),
                        refill_by=NOW - timedelta(days=number + 1))
    return [f"OVER-{number:03d}" for number in reversed(range(count))]


def _mrns(html: str) -> list[str]:
    return re.findall(r"<td>(OVER-\d+)</td>", html)


def test_the_dashboard_shows_the_most_urgent_rows_and_links_to_the_whole_list(
        clinic_db: ClinicDB) -> None:
    urgent_first = _overdue_patients(clinic_db, dashboard.SHOWN + 3)
    nurse = Web(clinic_db)
    client = nurse.logged_in(nurse.user("nurse"))
    board = client.get("/dashboard").text
    assert f"Refills overdue ({dashboard.SHOWN + 3})" in board
    assert _mrns(board) == urgent_first[:dashboard.SHOWN]
    link = f'<a href="/worklists/refill_overdue?horizon=14">All\n  {dashboard.SHOWN + 3} ' \
           'refills overdue</a>'
    assert link in board
    whole = client.get("/worklists/refill_overdue", params={"horizon": 14})
    assert whole.status_code == 200 and _mrns(whole.text) == urgent_first
    assert "page 1 of 1" in whole.text and "Next page" not in whole.text


def test_the_whole_list_is_paged_with_previous_and_next_links(clinic_db: ClinicDB) -> None:
    urgent_first = _overdue_patients(clinic_db, dashboard.PAGE_ROWS + 2)
    web = Web(clinic_db)
    client = web.logged_in(web.user("nurse"))
    first = client.get("/worklists/refill_overdue").text
    assert _mrns(first) == urgent_first[:dashboard.PAGE_ROWS]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/worklists/refill_overdue", params={"page": 2}).text
    assert _mrns(second) == urgent_first[dashboard.PAGE_ROWS:]
    assert f"Rows {dashboard.PAGE_ROWS + 1} to {dashboard.PAGE_ROWS + 2} of" in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_an_unknown_list_is_refused_with_a_sentence_naming_the_kind(clinic_db: ClinicDB
                                                                    ) -> None:
    web = Web(clinic_db)
    client = web.logged_in(web.user("nurse"))
    reply = client.get("/worklists/coffee")
    assert reply.status_code == 422
    assert "kind" in reply.text and "coffee" in reply.text and "refill_overdue" in reply.text
    assert client.get("/worklists/refill_due", params={"page": 0}).status_code == 422
