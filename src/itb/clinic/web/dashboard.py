"""The care team's dashboard: the worklists (itb.clinic.worklist), each row linking to the
patient. The service decides what is due and why; this page only groups and shows it."""

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
SHOWN = 200  # rows per list on the page; the rest are counted (the API gives them all)


@router.get("/dashboard")
def dashboard(request: Request, session: SessionDep, actor: PageActor, now: NowDep,
              horizon: Annotated[int, Query(ge=work.HORIZON_DAYS[0],
                                            le=work.HORIZON_DAYS[1])]
              = work.DEFAULT_HORIZON_DAYS) -> Response:
    entries = work.worklist(session, actor, now=now, horizon_days=horizon)
    lists = {kind: [e for e in entries if e.kind == kind] for kind in work.KINDS}
    chased = escalations.open_escalations(session, actor, now=now)  # missed refills, on top
    return render(request, "dashboard.html",
                  {"lists": lists, "headings": HEADINGS, "shown": SHOWN, "escalations": chased,
                   "call_script": escalations.CALL_SCRIPT,
                   "horizon": horizon, "today": now.date()}, actor=actor)
