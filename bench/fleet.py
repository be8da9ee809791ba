"""Benchmark: fleet mode against the full `itb sim` path, and scaling from 1 to 2 workers.

1. Fleet mode: patients of a study with the motor-stall hazard and punctual care, run one
   after another in this process (`itb.fleet.patient_run.run_patient`: the real pump and
   patient model, event to event, no 5-minute timeline). Patient-years per CPU second
   (time.process_time). Target: at least 50.
2. The full `itb sim` path, measured in the same run: bench/patient_year.py's patient-year
   (an established patient on a 24-step flex schedule, planned refills; `run_scenario` +
   `build_timeline` + `summarize`), patient-years per CPU second.
3. Scaling: the same study on an embedded Dask cluster of 1 and then 2 worker processes
   (one thread each); wall time of the run itself (cluster start excluded); efficiency =
   (T1 / T2) / 2. Target: at least 85 %. On a machine shared with other work the wall
   times, and so the efficiency, move with the load: the load average is printed with them.

This is not a test. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from itb.fleet.engine import run_study
from itb.fleet.patient_run import run_patient
from itb.fleet.study import parse_study
from patient_year import itb_patient_year  # bench/ is on the path when run as a script

FLEET_PATIENTS = 40
SCALING_PATIENTS = 480  # large enough that the serial summary at the end is a small share

STUDY = """
[study]
name = "benchmark cohort"
years = {years}
seed = 99

[cohort]
patients = {patients}
origin = {{ spinal = 0.6, cerebral = 0.3, child = 0.1 }}
unapproved_drug_share = 0.5

[hazards.motor_stall]
approved_cumulative = 0.024
unapproved_cumulative = 0.070
at_months = 78
source = "FDA 2013 via shared/docs/devices.md"
"""

def fleet_mode(years: int = 5) -> dict[str, Any]:
    study = parse_study(STUDY.format(years=years, patients=FLEET_PATIENTS), "bench")
    begin = time.process_time()
    for i in range(FLEET_PATIENTS):
        run_patient(study, i)
    cpu = time.process_time() - begin
    patient_years = FLEET_PATIENTS * years
    return {"patient_years": patient_years, "cpu_s": cpu,
            "patient_years_per_cpu_s": patient_years / cpu}


def sim_path(repeats: int = 3) -> dict[str, Any]:
    """bench/patient_year.py's patient-year, summary included: one loop, one scenario."""
    best = itb_patient_year(repeats, summary=True)["cpu_s_best"]
    return {"cpu_s_best": best, "patient_years_per_cpu_s": 1 / best}


def scaling(years: int = 2) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    study = parse_study(STUDY.format(years=years, patients=SCALING_PATIENTS), "bench")
    walls: dict[int, float] = {}
    for workers in (1, 2):
        out = Path(tempfile.mkdtemp(prefix="itb-fleet-bench-"))
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            client.run(lambda: __import__("itb.fleet.patient_run"))  # imports, not timed
            figures = run_study(study, out, client, partition_size=10)
        walls[workers] = figures.wall_s
        shutil.rmtree(out)
    return {"patients": SCALING_PATIENTS, "years": years, "wall_s_1": walls[1],
            "wall_s_2": walls[2], "efficiency": walls[1] / walls[2] / 2}


def main() -> int:
    fleet = fleet_mode()
    print(f"fleet mode: {fleet['patient_years']} patient-years in {fleet['cpu_s']:.2f} CPU s "
          f"= {fleet['patient_years_per_cpu_s']:.1f} patient-years per CPU second "
          f"(target >= 50: {'met' if fleet['patient_years_per_cpu_s'] >= 50 else 'NOT met'})")
    sim = sim_path()
    ratio = fleet["patient_years_per_cpu_s"] / sim["patient_years_per_cpu_s"]
    print(f"itb sim path: one patient-year in {sim['cpu_s_best']:.3f} CPU s = "
          f"{sim['patient_years_per_cpu_s']:.1f} patient-years per CPU second; "
          f"fleet mode is {ratio:.1f}x faster")
    load_before = os.getloadavg()[0]
    scale = scaling()
    load_after = os.getloadavg()[0]
    print(f"scaling ({scale['patients']} patients x {scale['years']} years): 1 worker "
          f"{scale['wall_s_1']:.1f} s, 2 workers {scale['wall_s_2']:.1f} s, efficiency "
          f"{scale['efficiency']:.0%} (target >= 85%: "
          f"{'met' if scale['efficiency'] >= 0.85 else 'NOT met'}); load average "
          f"{load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} CPUs")
    print(json.dumps({
        "fleet_patient_years_per_cpu_s": round(fleet["patient_years_per_cpu_s"], 2),
        "fleet_target_met": fleet["patient_years_per_cpu_s"] >= 50,
        "sim_patient_years_per_cpu_s": round(sim["patient_years_per_cpu_s"], 2),
        "fleet_over_sim": round(ratio, 2),
        "scaling_wall_s_1_worker": round(scale["wall_s_1"], 3),
        "scaling_wall_s_2_workers": round(scale["wall_s_2"], 3),
        "scaling_efficiency": round(scale["efficiency"], 3),
        "scaling_target_met": scale["efficiency"] >= 0.85,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "cpus": os.cpu_count(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
