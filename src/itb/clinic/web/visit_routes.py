"""The visit's pages: /patients/{id}/visit and its acts (a thin shell over `visit_acts`).

Every act is a POST of one step's answers with the login's CSRF token; it checks the role
(`records.guard`, so a refusal is audited), reads the patient's record (audited), runs the
act under the visit's lock and redirects to the page that shows its result (post, redirect,
get: a reload never repeats an act). The clinic's transaction of the role check is closed
before the pump is reached, and the act's recordings run in transactions of their own.

Roles (itb.clinic.access): reading the pump and acknowledging alarms need `record_session`
(clinician, nurse), a refill `refill_pump` (clinician, nurse), a program change, a bolus, a
stop and a resume `program_pump` (clinician).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from itb.clinic import patients, records
from itb.clinic.access import Actor
from itb.clinic.errors import RecordNotFound
from itb.clinic.models import Implant
from itb.clinic.web import visit_acts as acts
from itb.clinic.web.pages import PageActor
from itb.clinic.web.visit_acts import Said
from itb.clinic.web.visit_deps import WebLogin, login_of, page, visit_store
from itb.clinic.web.visit_recording import ClinicRecorder
from itb.clinic.web.visit_state import Refill, WebVisit, open_visit_for
from itb.errors import InvalidInput, ItbError
from itb.programmer import render
from itb.programmer.refill import KNOWN_BRANDS
from itb.programmer.wand import tcp_factory
from itb.programmer.workflows.refill_wizard import DrugAnswers

router = APIRouter(prefix="/patients/{patient_id}/visit", tags=["visit"],
                   include_in_schema=False)

STEP_TITLES = {1: "confirm the patient and the pump", 2: "withdraw the residual and compare",
               3: "the drug put in", 4: "concentration change", 5: "update the pump",
               7: "new alarm and refill dates, and the refill record"}


@dataclass(frozen=True)
class PatientFacts:
    """What the visit's pages need from the patient's record, read (and audited) once."""

    id: int
    mrn: str
    name: str
    origin: str
    date_of_birth: date
    implant: dict[str, Any] | None
    today: date


@dataclass(frozen=True)
class Act:
    permission: str
    page: str  # the page that shows the act's result
    run: Callable[[WebVisit, dict[str, str], PatientFacts], Said]


def _yes(form: dict[str, str]) -> bool:
    return form.get("answer") == "yes"


def _in_refill(step: int, act: Callable[[Refill, WebVisit, dict[str, str]], Said]
               ) -> Callable[[WebVisit, dict[str, str], PatientFacts], Said]:
    """A refill step's act, taken only on the step the wizard waits on (a page left open in
    another tab, or sent twice, does nothing)."""
    def run(web: WebVisit, form: dict[str, str], _p: PatientFacts) -> Said:
        refill = web.refill
        if refill is None or refill.step != step:
            at = "no refill is open" if refill is None else (
                f"the refill is at step {refill.step}" if refill.step else "the refill is over")
            return Said(False, f"Nothing was done: {at}, not at step {step}.",
                        "Continue from the refill page as it is now.")
        return act(refill, web, form)
    return run


def _drug(refill: Refill, web: WebVisit, form: dict[str, str]) -> Said:
    answers = DrugAnswers(
        form.get("drug", ""), form.get("concentration", "").strip(),
        form.get("prescribed_concentration", "").strip(), form.get("added_ml", "").strip(),
        *(acts.blank(form.get(name)) for name in (
            "diluted_from", "diluent", "lot", "expiry", "second_check_by", "wasted_ml",
            "pocket_skin_check", "override_reason")))
    return acts.refill_drug(refill, web, answers)


def _program_review(web: WebVisit, form: dict[str, str], p: PatientFacts) -> Said:
    said, web.preview = acts.program_review(web, form, p.origin, p.date_of_birth, p.today)
    return said


ACTS: dict[str, Act] = {
    "interrogate": Act("record_session", "", lambda w, f, p: acts.interrogate(w)),
    "alarms/ack": Act("record_session", "",
                      lambda w, f, p: acts.acknowledge(w, f.get("kind", "").strip())),
    "refill/start": Act("refill_pump", "refill", lambda w, f, p: acts.refill_start(w)),
    "refill/confirm": Act("refill_pump", "refill", _in_refill(
        1, lambda r, w, f: acts.refill_confirm(r, w, _yes(f)))),
    "refill/residual": Act("refill_pump", "refill", _in_refill(
        2, lambda r, w, f: acts.refill_residual(r, w, f.get("withdrawn_ml", "")))),
    "refill/drug": Act("refill_pump", "refill", _in_refill(3, _drug)),
    "refill/bridge": Act("refill_pump", "refill", _in_refill(
        4, lambda r, w, f: acts.refill_bridge(r, w, f.get("catheter_ml"),
                                              f.get("catheter_length_cm")))),
    "refill/update": Act("refill_pump", "refill", _in_refill(
        5, lambda r, w, f: acts.refill_update(r, w, _yes(f)))),
    "program/review": Act("program_pump", "program", _program_review),
    "program/send": Act("program_pump", "program", lambda w, f, p: acts.program_send(
        w, _yes(f), f.get("large_decrease") == "yes")),
    "bolus/review": Act("program_pump", "bolus", lambda w, f, p: acts.bolus_review(
        w, f.get("dose", ""), f.get("duration_min", ""), f.get("override_reason"))),
    "bolus/give": Act("program_pump", "bolus", lambda w, f, p: acts.bolus_give(w, _yes(f))),
    "stop/review": Act("program_pump", "infusion",
                       lambda w, f, p: acts.infusion_review(w, "stop")),
    "stop/send": Act("program_pump", "infusion",
                     lambda w, f, p: acts.infusion_change(w, "stop", _yes(f))),
    "resume/review": Act("program_pump", "infusion",
                         lambda w, f, p: acts.infusion_review(w, "resume")),
    "resume/send": Act("program_pump", "infusion",
                       lambda w, f, p: acts.infusion_change(w, "resume", _yes(f))),
}
PAGES = ("", "refill", "program", "bolus", "infusion")


def _implant_facts(implant: Implant | None) -> dict[str, Any] | None:
    if implant is None:
        return None
    return {"id": implant.id, "serial": implant.pump_serial, "model": implant.pump_model,
            "host": implant.pump_host, "port": implant.pump_port, "key_file": implant.key_file,
            "catheter_volume_ml": implant.catheter_volume_ml,
            "catheter_length_cm": implant.catheter_length_cm}


def _patient(request: Request, login: WebLogin, patient_id: int, permission: str
             ) -> PatientFacts:
    """The role check (audited when refused) and the patient's record (the read audited),
    in a transaction closed before the pump is reached."""
    now: datetime = request.app.state.clock()
    with request.app.state.db.session() as session:
        records.guard(session, login.actor, permission, patient_id, now=now, entity="visits",
                      entity_id=patient_id)
        patient = patients.read_patient(session, login.actor, patient_id, now=now)
        return PatientFacts(patient.id, patient.mrn, patient.name, patient.origin,
                            patient.date_of_birth,
                            _implant_facts(patients.current_implant(patient)), now.date())


def _connect(request: Request, login: WebLogin, facts: PatientFacts) -> Said:
    """A new visit to the patient's pump (replacing any open one), and its interrogation."""
    implant = facts.implant
    store = visit_store(request)
    key = (login.key, facts.id)
    store.end(key)
    try:
        if implant is None:
            raise InvalidInput("implant", "none", "a current implant with its pump")
        options = acts.connection(implant["host"], implant["port"], implant["key_file"],
                                  implant["serial"])
        app = request.app.state
        recorder = ClinicRecorder(app.db, login.actor, facts.id, app.clock)
        factory = getattr(app, "wand_factory", None) or tcp_factory
        visit = open_visit_for(options, store.journal_path(facts.id, app.clock()), recorder,
                               app.clock, factory)
    except (ItbError, OSError) as exc:
        return acts.refused(exc, None)
    assert implant is not None
    web = WebVisit(facts.id, implant["id"], implant["serial"], options, visit)
    store.put(key, web)
    with web.lock:
        web.said = acts.interrogate(web)
    return web.said


def _do(request: Request, actor: Actor, patient_id: int, name: str, form: dict[str, str]
        ) -> Response:
    login = login_of(request, actor)
    base = f"/patients/{patient_id}/visit"
    if name == "end":
        visit_store(request).end((login.key, patient_id))
        return RedirectResponse(f"/patients/{patient_id}", status_code=303)
    act = ACTS.get(name) if name != "connect" else Act("record_session", "", _never)
    if act is None:
        raise RecordNotFound(f"No visit act {name!r}.")
    facts = _patient(request, login, patient_id, act.permission)
    if name == "connect":
        said = _connect(request, login, facts)
        if said.ok or visit_store(request).get((login.key, patient_id)) is not None:
            return RedirectResponse(base, status_code=303)
        return page(request, "visit/page.html.j2", _context(request, login, facts, None, said),
                    actor, status=422)
    web = visit_store(request).get((login.key, patient_id))
    if web is None:
        return RedirectResponse(base, status_code=303)
    with web.lock:
        web.said, web.said_on = act.run(web, form, facts), act.page
    return RedirectResponse(f"{base}/{act.page}" if act.page else base, status_code=303)


def _never(_w: WebVisit, _f: dict[str, str], _p: PatientFacts) -> Said:
    raise AssertionError("connect is handled before the acts table")


def _context(request: Request, login: WebLogin, facts: PatientFacts, web: WebVisit | None,
             said: Said | None = None, section: str = "") -> dict[str, Any]:
    shown = said if said is not None else (
        web.said if web is not None and web.said_on == section else None)
    refill = web.refill if web is not None else None
    return {**(acts.refill_preview(refill) if refill is not None else {}),
            **(acts.confirm_question(web) if web is not None else {}),
            "patient": facts, "login": login, "web": web, "said": shown, "section": section,
            "base": f"/patients/{facts.id}/visit",
            "view_text": None if web is None or web.view is None
            else acts.as_text(render.interrogation(web.view)),
            "view": acts.details_of(web) if web is not None else {},
            "brands": KNOWN_BRANDS, "step_titles": STEP_TITLES,
            "bridge_line": acts.bridge_line(refill.wizard) if refill is not None else ""}


def _show(request: Request, actor: Actor, patient_id: int, section: str) -> Response:
    login = login_of(request, actor)
    permission = {"refill": "refill_pump", "program": "program_pump", "bolus": "program_pump",
                  "infusion": "program_pump"}.get(section, "record_session")
    facts = _patient(request, login, patient_id, permission)
    web = visit_store(request).get((login.key, patient_id))
    if web is None and section:
        return RedirectResponse(f"/patients/{patient_id}/visit", status_code=303)
    if web is None:
        return page(request, "visit/page.html.j2", _context(request, login, facts, None), actor)
    with web.lock:
        context = _context(request, login, facts, web, section=section)
        return page(request, f"visit/{section or 'page'}.html.j2", context, actor)


def _report(request: Request, actor: Actor, patient_id: int) -> Response:
    login = login_of(request, actor)
    facts = _patient(request, login, patient_id, "record_session")
    web = visit_store(request).get((login.key, patient_id))
    if web is None:
        return RedirectResponse(f"/patients/{patient_id}/visit", status_code=303)
    with web.lock:
        html, said = acts.report_html(web)
        if html is None:
            web.said, web.said_on = said, ""
            return RedirectResponse(f"/patients/{patient_id}/visit", status_code=303)
    return HTMLResponse(with_print_style(html, facts))


PRINT_STYLE = """<style media="print">
@page { size: A4; margin: 14mm; }
body { font-size: 10pt; color: #000; background: #fff; }
img { max-width: 100%; page-break-inside: avoid; }
table, pre, section { page-break-inside: avoid; }
a[href]::after { content: ""; }
</style>"""


def with_print_style(html: str, facts: PatientFacts) -> str:
    """The programmer's report with a print stylesheet and the patient's name in its title."""
    title = f"<title>Visit report: {_escape(facts.name)} ({_escape(facts.mrn)})</title>"
    head_end = html.find("</head>")
    if head_end < 0:
        return PRINT_STYLE + html
    return html[:head_end] + PRINT_STYLE + (title if "<title>" not in html else "") \
        + html[head_end:]


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()  # read (and its token checked) by PageActor already
    return {k: v for k, v in data.items() if isinstance(v, str)}


@router.post("/{name:path}")
async def visit_act(request: Request, actor: PageActor, patient_id: int, name: str
                    ) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_do, request, actor, patient_id, name, form)


@router.get("/report")
async def visit_report(request: Request, actor: PageActor, patient_id: int) -> Response:
    return await run_in_threadpool(_report, request, actor, patient_id)


@router.get("")
@router.get("/{section}")
async def visit_page(request: Request, actor: PageActor, patient_id: int,
                     section: str = "") -> Response:
    if section not in PAGES:
        raise RecordNotFound(f"No visit page {section!r}.")
    return await run_in_threadpool(_show, request, actor, patient_id, section)
