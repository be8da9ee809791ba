"""The care team's pages: the patient list with search (and, in `dashboard`, the worklists;
in `record`, a patient's page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from itb.clinic import patients
from itb.clinic.api.deps import NowDep, SessionDep
from itb.clinic.web.pages import PageActor, render

router = APIRouter(include_in_schema=False)


@router.get("/patients")
def patient_list(request: Request, session: SessionDep, actor: PageActor, now: NowDep,
                 q: Annotated[str, Query(max_length=64)] = "") -> Response:
    found = patients.search_patients(session, actor, q, now=now, limit=100)
    template = "patient_rows.html" if request.headers.get("hx-request") else "patients.html"
    return render(request, template, {"q": q, "patients": found}, actor=actor)
