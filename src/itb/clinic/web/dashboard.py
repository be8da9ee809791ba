"""The care team's dashboard: each worklist (itb.clinic.worklist) with its size and its most
urgent rows, each row linking to the patient, and a link to the whole list, one page at a
time. The service decides what is due and why; these pages only show it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from itb.clinic import escalations
from itb.clinic import worklist as work
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.web.pages import PageActor, render

router = APIRouter(include_in_schema=False)

HEADINGS = {
    "refill_overdue": "Refills overdue",
    "refill_due": "Refills due",
    "replacement_due": "Replacements due",
    "critical_alarm": "Critical alarms",
    "not_seen": "Patients not seen",
}
SHOWN = 25  # the most urgent rows of each list on the dashboard; the rest one link away
PAGE_ROWS = 100  # rows per page of a whole list
Horizon = Annotated[int, Query(ge=work.HORIZON_DAYS[0], le=work.HORIZON_DAYS[1])]


@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, actor: PageActor, now: NowDep,
              horizon: Horizon = work.DEFAULT_HORIZON_DAYS) -> Response:
    lists = work.overview(session, actor, now=now, first=SHOWN, horizon_days=horizon)
    chased = escalations.open_escalations(session, actor, now=now)  # missed refills, on top
    return render(request, "dashboard.html",
                  {"lists": lists, "headings": HEADINGS, "escalations": chased,
                   "call_script": escalations.CALL_SCRIPT,
                   "horizon": horizon, "today": now.date()}, actor=actor)


@router.get("/worklists/{kind}")
def whole_list(request: Request, session: SessionDep, actor: PageActor, now: NowDep,
               kind: str, horizon: Horizon = work.DEFAULT_HORIZON_DAYS,
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    # an unknown kind is refused by the service (a sentence naming the field, 422)
    size, rows = work.page(session, actor, now=now, kind=kind,
                           offset=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS,
                           horizon_days=horizon)
    pages = max(1, -(-size // PAGE_ROWS))
    return render(request, "worklist_page.html",
                  {"kind": kind, "heading": HEADINGS[kind], "size": size, "rows": rows,
                   "page": page, "pages": pages, "first": (page - 1) * PAGE_ROWS + 1,
                   "horizon": horizon, "today": now.date()}, actor=actor)
