"""Benchmark: the web app's dashboard and patient page on a 10,000-patient clinic (SQLite).

The app (`create_app`, with the web pages) runs in process behind httpx's ASGITransport,
logged in as a nurse through the real login form; each request is one real ASGI request
(cookie, idle check, CSRF token, actor, one transaction, the audit entries each read
writes, Jinja2 rendering). Server time is the wall time of each request.

- dashboard: GET /dashboard (each worklist's size and its 25 most urgent rows, and the
  missed refills to chase), `DASHBOARDS` times; and a page of a whole list (GET
  /worklists/refill_due, 100 rows);
- patient page: GET /patients/{id} then its plot GET /patients/{id}/timeline.png, for
  `PAGES` random patients; the plot is drawn the first time (reported apart, `plot_draw`)
  and cached per record version, so the page figure is page + cached plot, as a browser
  reloading it sees; the first view of a patient (page + drawing the plot) is reported
  too;
- the reference, in the same run: GET /login before logging in (the floor of any page:
  middleware, session, template).

The process freezes its heap once the app is made, as `itb clinic serve` does
(`freeze_startup_heap`). The first dashboard request (it compiles the templates, once per
server) is reported apart
and left out of the percentiles. The dashboard's CPU time (the process's: client and
server run in it) is reported too: on a machine shared with other work the wall time says
more about the load than about the page.

Targets (issue 12): dashboard p99 < 100 ms, patient page p99 < 150 ms (plot included or
cached). The clinic is `itb clinic demo --records-only`'s (itb.clinic.demo.write_records_only:
bulk inserts of the demo's plans, without running a pump per patient).

Run: `.venv/bin/python bench/web.py [--patients N]`. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from itb.clinic.api.app import create_app
from itb.clinic.commands.serve import freeze_startup_heap
from itb.clinic.db import ClinicDB
from itb.clinic.demo import LOGINS_SHOWN, plan_patients, write_records_only

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
DASHBOARDS = 40
PAGES = 150
TARGETS_MS = {"dashboard_p99": 100.0, "patient_page_p99": 150.0}
SEED = 12
NURSE, PASSWORD = next((name, password) for name, password, role in LOGINS_SHOWN
                       if role == "nurse")


def build(db: ClinicDB, patients: int) -> int:
    """The demo clinic, records only (`itb clinic demo --records-only`'s own writer, with
    its logins: the nurse logs in with the demo's password)."""
    db.migrate()
    counts = write_records_only(db, plan_patients(patients, SEED, NOW), NOW)
    return sum(counts.values())


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
    freeze_startup_heap()  # as `itb clinic serve` does once the app is made
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        floor = [(await _timed(client, "/login"))[0] for _ in range(PAGES)]  # logged out
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          (await client.get("/login")).text)
        assert token is not None
        login = await client.post("/login", data={"username": NURSE,
                                                  "password": PASSWORD,
                                                  "csrf_token": token.group(1)})
        assert login.status_code == 303, login.text
        # the first request compiles the page's templates (once per server): apart
        dashboard_first = (await _timed(client, "/dashboard"))[0]
        dashboard, dashboard_cpu = [], []
        for _ in range(DASHBOARDS):  # and the process's CPU time: the work, whatever the load
            start_cpu = time.process_time()
            dashboard.append((await _timed(client, "/dashboard"))[0])
            dashboard_cpu.append((time.process_time() - start_cpu) * 1000)
        await _timed(client, "/worklists/refill_due")
        whole = [(await _timed(client, "/worklists/refill_due"))[0] for _ in range(DASHBOARDS)]
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
    return {"floor": floor, "dashboard": dashboard, "dashboard_first": dashboard_first,
            "dashboard_cpu": dashboard_cpu,
            "whole_list": whole, "first": first, "draw": draw,
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
        "dashboard_first_request_ms": round(got["dashboard_first"], 2),
        "dashboard_cpu_p50_ms": _p(got["dashboard_cpu"], 0.5),
        "dashboard_cpu_p99_ms": _p(got["dashboard_cpu"], 0.99),
        "worklist_page_p50_ms": _p(got["whole_list"], 0.5),
        "worklist_page_p99_ms": _p(got["whole_list"], 0.99),
        "load_average_1min": round(os.getloadavg()[0], 2),
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
