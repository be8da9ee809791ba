"""itb.sim: scenario simulation of a patient with an implanted pump.

    scenario = parse_scenario(text, "file.toml")   # validated, or ScenarioError
    result = run_scenario(scenario)                # pump + therapy rules + patient
    frame = build_timeline(result)                 # 5-minute table (pandas)
    summary = summarize(result, frame)             # first alarm, first symptom, ...
    png = render_png(result, frame)                # the overview plot

See docs/sim.md for the scenario format and the outputs; `itb sim run` is the CLI.
"""

from itb.sim.parser import parse_scenario
from itb.sim.patients import build_patient
from itb.sim.plots import render_png
from itb.sim.runner import SimulationResult, run_scenario
from itb.sim.scenario import Scenario, ScenarioError
from itb.sim.summary import pump_facts_at, summarize
from itb.sim.timeline import build_timeline

__all__ = [
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "build_patient",
    "build_timeline",
    "parse_scenario",
    "pump_facts_at",
    "render_png",
    "run_scenario",
    "summarize",
]
