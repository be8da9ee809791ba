"""Benchmark: one simulated patient-year with itb, against one patient-day of simglucose.

itb: an established patient on a 24-step daily flex schedule, refilled on the planned
dates all year, run through the real pump (event-driven) and the patient model (closed
form per segment), with the PK/PD timeline at 5-minute resolution (`build_timeline`).
Target: one patient-year in under 0.2 CPU seconds.

Reference, measured in the same run: one patient-day of the `simglucose` package
(UVa/Padova type 1 diabetes simulator; adolescent#001, Dexcom CGM, Insulet pump, its
basal-bolus controller, a seeded random meal scenario), which steps its ODE in Python
every sensor sample. simglucose is installed for this benchmark only (not a dependency
of itb): `.venv/bin/pip install simglucose==0.2.11`.

Both are reported as simulated days per CPU second (time.process_time), with their
ratio. This is not a test. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from itb.sim import build_timeline, parse_scenario, run_scenario, summarize

REPEATS = 5

# A 24-step daily flex schedule, a different rate every hour (so 24 real rate changes a
# day): higher at night and in the early morning, lower in the afternoon.
_RATES = [566, 568, 570, 572, 560, 550, 540, 530, 520, 510, 500, 490,
          480, 470, 474, 478, 482, 486, 500, 510, 520, 530, 540, 550]
_STEPS = "\n".join(f'[[program.steps]]\nstart = "{h:02d}:00"\ndose_mcg_per_day = {r}\n'
                   for h, r in enumerate(_RATES))
SCENARIO = f"""
[scenario]
name = "benchmark: one patient-year, 24-step flex, planned refills"
start = 2026-01-05T08:00:00Z
duration_days = 365

[patient]
origin = "spinal"
days_on_therapy = 730

[pump]
model = "synchromed-ii-20"
seed = 1

[implant]
date = 2026-01-05T08:00:00Z
fill_ml = 20
concentration_mcg_per_ml = 2000

[program]
type = "flex"
timezone = "Europe/Paris"
{_STEPS}
[auto_refill]
fill_ml = 20
"""


def itb_patient_year(repeats: int = REPEATS, *, summary: bool = False) -> dict[str, Any]:
    """The best and median CPU time of the patient-year; `summary` also times `summarize`
    (the whole `itb sim` path, as bench/fleet.py compares it with fleet mode)."""
    scenario = parse_scenario(SCENARIO, "bench/patient_year.py")
    times = []
    rows = segments = refills = 0
    for _ in range(repeats):
        start = time.process_time()
        result = run_scenario(scenario)
        frame = build_timeline(result)
        if summary:
            summarize(result, frame)
        times.append(time.process_time() - start)
        rows, segments = len(frame), len(result.history.csf)
        refills = sum(1 for r in result.refills if r.outcome == "refilled")
    best = min(times)
    return {"cpu_s_best": best, "cpu_s_median": statistics.median(times), "rows": rows,
            "delivery_segments": segments, "refills": refills,
            "days_per_cpu_s": 365 / best}


def simglucose_patient_day() -> dict[str, Any]:
    try:
        from simglucose.actuator.pump import InsulinPump
        from simglucose.controller.basal_bolus_ctrller import BBController
        from simglucose.patient.t1dpatient import T1DPatient
        from simglucose.sensor.cgm import CGMSensor
        from simglucose.simulation.env import T1DSimEnv
        from simglucose.simulation.scenario_gen import RandomScenario
        from simglucose.simulation.sim_engine import SimObj
    except Exception as error:  # report exactly why, and still give itb's figures
        return {"error": f"simglucose could not be imported: {type(error).__name__}: {error}"}
    start_time = datetime(2026, 1, 5, 0, 0, 0)
    try:
        env = T1DSimEnv(T1DPatient.withName("adolescent#001"),
                        CGMSensor.withName("Dexcom", seed=1), InsulinPump.withName("Insulet"),
                        RandomScenario(start_time=start_time, seed=1))
        run = SimObj(env, BBController(), timedelta(days=1), animate=False, path=None)
        # simglucose's own `sim()` also writes a CSV; only the simulation itself is timed.
        with contextlib.redirect_stdout(io.StringIO()):
            begin = time.process_time()
            run.simulate()
            cpu = time.process_time() - begin
        samples = len(run.results())
    except Exception as error:
        return {"error": f"simglucose failed to run: {type(error).__name__}: {error}"}
    return {"cpu_s": cpu, "samples": samples, "days_per_cpu_s": 1 / cpu}


def main() -> int:
    itb = itb_patient_year()
    print(f"itb: one patient-year (24-step flex, {itb['refills']} planned refills, "
          f"{itb['delivery_segments']} delivery segments, {itb['rows']} PK/PD rows at 5 min)")
    print(f"  CPU time best {itb['cpu_s_best']:.4f} s, median {itb['cpu_s_median']:.4f} s "
          f"of {REPEATS}; target < 0.2 s: {'met' if itb['cpu_s_best'] < 0.2 else 'NOT met'}")
    print(f"  {itb['days_per_cpu_s']:.0f} simulated days per CPU second")
    reference = simglucose_patient_day()
    figures: dict[str, Any] = {
        "itb_patient_year_cpu_s": round(itb["cpu_s_best"], 6),
        "itb_patient_year_cpu_s_median": round(itb["cpu_s_median"], 6),
        "itb_days_per_cpu_s": round(itb["days_per_cpu_s"], 1),
        "itb_target_met": itb["cpu_s_best"] < 0.2,
        "itb_timeline_rows": itb["rows"],
    }
    if "error" in reference:
        print(f"simglucose: NOT MEASURED: {reference['error']}")
        figures["simglucose_error"] = reference["error"]
    else:
        ratio = itb["days_per_cpu_s"] / reference["days_per_cpu_s"]
        print(f"simglucose 0.2.11: one patient-day (basal-bolus controller, "
              f"{reference['samples']} samples) in {reference['cpu_s']:.3f} CPU s = "
              f"{reference['days_per_cpu_s']:.3f} simulated days per CPU second")
        print(f"ratio (itb / simglucose, simulated days per CPU second): {ratio:.0f}x")
        figures.update({
            "simglucose_patient_day_cpu_s": round(reference["cpu_s"], 4),
            "simglucose_days_per_cpu_s": round(reference["days_per_cpu_s"], 4),
            "ratio_itb_to_simglucose": round(ratio, 1),
        })
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
