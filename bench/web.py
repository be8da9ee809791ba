"""Benchmark: the web app's dashboard and patient page on a 10,000-patient clinic (SQLite).

The app (`create_app`, with the web pages) runs in process behind httpx's ASGITransport,
logged in as a nurse through the real login form; each request is one real ASGI request
(cookie, idle check, CSRF token, actor, one transaction, the audit entries each read
writes, Jinja2 rendering). Server time is the wall time of each request.

- dashboard: GET /dashboard (every worklist of the whole clinic, grouped), `DASHBOARDS`
  times;
- patient page: GET /patients/{id} then its plot GET /patients/{id}/timeline.png, for
  `PAGES` random patients; the plot is drawn the first time (reported apart, `plot_draw`)
  and cached per record version, so the page figure is page + cached plot, as a browser
  reloading it sees; the first view of a patient (page + drawing the plot) is reported
  too;
- the reference, in the same run: GET /login before logging in (the floor of any page:
  middleware, session, template).

Targets (issue 12): dashboard p99 < 100 ms, patient page p99 < 150 ms (plot included or
cached). The clinic is bulk-inserted here (Core executemany): per patient an implant, a
prescription, an interrogation and a refill every 60-120 days for up to 5 years, a program
change every third visit, a symptom call about once a year (the shape `itb clinic demo
--records-only` makes, without running a pump per patient).

Run: `.venv/bin/python bench/web.py [--patients N]`. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from itb.clinic import users
from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB
from itb.clinic.models import (
    Implant,
    Interrogation,
    Patient,
    Prescription,
    ProgramChange,
    RefillRecord,
    SymptomCall,
)

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DASHBOARDS = 40
PAGES = 150
TARGETS_MS = {"dashboard_p99": 100.0, "patient_page_p99": 150.0}
PASSWORD = "bench password"


def _rows(index: int, rng: random.Random, ids: dict[str, int]) -> dict[Any, list[dict[str, Any]]]:
    """One patient's history, as row dicts per table."""
    out: dict[Any, list[dict[str, Any]]] = {}

    def add(model: Any, row: dict[str, Any]) -> int:
        ids[model.__tablename__] = ids.get(model.__tablename__, 0) + 1
        out.setdefault(model, []).append({"id": ids[model.__tablename__], "version": 1,
                                          "created_at": NOW, **row})
        return ids[model.__tablename__]

    interval = rng.randint(60, 120)
    pid = add(Patient, {"mrn": f"W{index:06d}", "name": f"Web Patient {index}",
                        "date_of_birth": date(1950 + rng.randint(0, 50), 1, 1),
                        "weight_kg": Decimal(70), "origin": "spinal", "time_zone": "UTC",
                        "refill_interval_days": interval, "notes": ""})
    implanted = NOW.date() - timedelta(days=rng.randint(60, 6 * 365))
    implant = add(Implant, {"patient_id": pid, "pump_serial": f"WS{index:06d}",
                            "pump_model": "8637-20", "implanted_on": implanted})
    dose = Decimal(rng.randint(100, 800))
    add(Prescription, {"patient_id": pid, "drug": "baclofen",
                       "strength_mcg_per_ml": Decimal(2000), "daily_dose_mcg": dose,
                       "program": {"mode": "simple"}, "stability_days": 180,
                       "started_on": implanted})
    day = max(implanted, NOW.date() - timedelta(days=5 * 365))
    count = 0
    while day <= NOW.date():
        at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
        refill_by = at + timedelta(days=interval + rng.randint(0, 14))
        add(Interrogation, {"patient_id": pid, "implant_id": implant, "at": at,
                            "reservoir_ml": Decimal(rng.randint(100, 400)) / 100,
                            "strength_mcg_per_ml": Decimal(2000), "daily_dose_mcg": dose,
                            "alarms": [], "battery": "ok", "eri": False,
                            "refill_by": refill_by, "low_alarm_at": refill_by + timedelta(7),
                            "empty_at": refill_by + timedelta(14),
                            "end_of_service_at": at + timedelta(days=2000)})
        add(RefillRecord, {"patient_id": pid, "at": at, "outcome": "done",
                           "added_ml": Decimal(18), "strength_mcg_per_ml": Decimal(2000),
                           "drug": "baclofen", "details": {}})
        if count % 3 == 2:
            after = dose + Decimal(rng.choice((-20, 10, 20, 30)))
            add(ProgramChange, {"patient_id": pid, "at": at, "outcome": "done",
                                "daily_dose_before_mcg": dose, "daily_dose_after_mcg": after,
                                "before": {}, "after": {}, "details": {}})
            dose = after
        if rng.random() < 0.3:
            add(SymptomCall, {"patient_id": pid, "at": at + timedelta(days=20),
                              "symptoms": ["headache"], "disposition": "routine",
                              "causes": [], "advice": ""})
        day += timedelta(days=interval + rng.randint(-7, 7))
        count += 1
    return out


def build(db: ClinicDB, patients: int) -> int:
    db.migrate()
    rng, ids, rows = random.Random(12), {}, 0
    order = (Patient, Implant, Prescription, Interrogation, RefillRecord, ProgramChange,
             SymptomCall)
    for start in range(0, patients, 1000):
        tables: dict[Any, list[dict[str, Any]]] = {}
        for index in range(start, min(patients, start + 1000)):
            for model, batch in _rows(index, rng, ids).items():
                tables.setdefault(model, []).extend(batch)
        with db.session() as session:
            for model in order:
                if tables.get(model):
                    session.execute(insert(model), tables[model])
                    rows += len(tables[model])
    with db.session() as session:
        users.add_user(session, "bench-nurse", "nurse", PASSWORD, now=NOW)
    return rows


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


async def _timed(client: httpx.AsyncClient, path: str) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    reply = await client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert reply.status_code == 200, (path, reply.status_code, reply.text[:300])
    return elapsed, reply


async def measure(db: ClinicDB, patients: int) -> dict[str, Any]:
    app = create_app(db, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        floor = [(await _timed(client, "/login"))[0] for _ in range(PAGES)]  # logged out
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          (await client.get("/login")).text)
        assert token is not None
        login = await client.post("/login", data={"username": "bench-nurse",
                                                  "password": PASSWORD,
                                                  "csrf_token": token.group(1)})
        assert login.status_code == 303, login.text
        dashboard = [(await _timed(client, "/dashboard"))[0] for _ in range(DASHBOARDS)]
        rng = random.Random(5)
        chosen = rng.sample(range(1, patients + 1), PAGES)
        first, draw, page = [], [], []
        for pid in chosen:
            html_ms, _ = await _timed(client, f"/patients/{pid}")
            plot_ms, _ = await _timed(client, f"/patients/{pid}/timeline.png")
            first.append(html_ms + plot_ms)
            draw.append(plot_ms)
        for pid in chosen:
            html_ms, _ = await _timed(client, f"/patients/{pid}")
            plot_ms, _ = await _timed(client, f"/patients/{pid}/timeline.png")
            page.append(html_ms + plot_ms)
        rows = (await client.get("/dashboard")).text.count("<tr>")
    return {"floor": floor, "dashboard": dashboard, "first": first, "draw": draw,
            "page": page, "dashboard_rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = ClinicDB(f"sqlite:///{Path(tmp) / 'web-bench.db'}")
        start = time.perf_counter()
        rows = build(db, args.patients)
        print(f"built {args.patients} patients, {rows} rows in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
        got = asyncio.run(measure(db, args.patients))
        db.dispose()
    result: dict[str, Any] = {
        "benchmark": "web", "patients": args.patients, "rows": rows,
        "login_page_p50_ms": _p(got["floor"], 0.5), "login_page_p99_ms": _p(got["floor"], 0.99),
        "dashboard_p50_ms": _p(got["dashboard"], 0.5),
        "dashboard_p99_ms": _p(got["dashboard"], 0.99),
        "dashboard_table_rows": got["dashboard_rows"],
        "patient_page_p50_ms": _p(got["page"], 0.5),
        "patient_page_p99_ms": _p(got["page"], 0.99),
        "patient_first_view_p50_ms": _p(got["first"], 0.5),
        "patient_first_view_p99_ms": _p(got["first"], 0.99),
        "plot_draw_p50_ms": _p(got["draw"], 0.5),
        "targets_ms": TARGETS_MS,
    }
    result["dashboard_within_target"] = result["dashboard_p99_ms"] < TARGETS_MS["dashboard_p99"]
    result["patient_page_within_target"] = (result["patient_page_p99_ms"]
                                            < TARGETS_MS["patient_page_p99"])
    print(f"login page (floor) p50 {result['login_page_p50_ms']} ms; dashboard p50 "
          f"{result['dashboard_p50_ms']} p99 {result['dashboard_p99_ms']} ms; patient page "
          f"p50 {result['patient_page_p50_ms']} p99 {result['patient_page_p99_ms']} ms "
          f"(first view with drawing p99 {result['patient_first_view_p99_ms']} ms)",
          file=sys.stderr)
    print(json.dumps(result, separators=(",", ":"), sort_keys=True))


if __name__ == "__main__":
    main()
