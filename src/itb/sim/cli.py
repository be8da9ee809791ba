"""`itb sim ...`: run and check scenario files.

The shell reads the file, calls the pure core (`parse_scenario`, `run_scenario`,
`build_timeline`, `summarize`, `render_png`) and only then writes the outputs and prints,
so a refused scenario leaves no partial output. The progress bar goes to stderr, so
`--json` output on stdout stays one clean JSON object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from itb.cli_errors import refuse
from itb.errors import ItbError
from itb.sim.parser import parse_scenario
from itb.sim.plots import render_png
from itb.sim.runner import run_scenario
from itb.sim.scenario import Scenario, ScenarioError
from itb.sim.summary import summarize
from itb.sim.timeline import build_timeline
from itb.textfiles import read_small_text

app = typer.Typer(name="sim", help="Scenario simulation: a patient with an implanted pump.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

# The library's scenarios are under 5 kB; 1 MiB leaves room for long timelines while a
# multi-megabyte file (thousands of events) cannot tie up validation for seconds.
MAX_SCENARIO_BYTES = 1024 * 1024
DEFAULT_OUT = Path("out") / "sim"  # out/ is where itb writes its runs (git-ignored)


def _fail(message: str) -> typer.Exit:
    return refuse(message, "Correct the scenario file or the option and run the command "
                           "again (docs/sim.md describes every scenario field).")


def read_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file (the only file reading in itb.sim)."""
    if path.exists() and not path.is_file():
        # Opening a FIFO blocks until something writes to it: refuse anything that is not a
        # regular file before opening it, so validation never hangs.
        raise ScenarioError(str(path), [(None, "", "cannot read the scenario file (it is not "
                                                   "a regular file)")])
    # A scenario is a few kB; a huge file is a mistake, refused without loading all of it.
    text = read_small_text(path, MAX_SCENARIO_BYTES, "scenario", ScenarioError)
    return parse_scenario(text, str(path))


def _events_csv(result: Any) -> str:
    import csv
    import io
    from datetime import UTC, datetime

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time", "source", "kind", "detail"])
    for e in result.events:
        writer.writerow([datetime.fromtimestamp(e.time_s, tz=UTC).isoformat(), e.source, e.kind,
                         e.detail])
    return buffer.getvalue()


def _timeline_csv(frame: Any) -> str:
    """The timeline as CSV: ISO-8601 UTC times, floats to 6 significant digits."""
    import numpy as np

    out = frame.copy()
    stamps = np.datetime_as_string(frame["time"].to_numpy(dtype="datetime64[s]"), unit="s")
    out["time"] = np.char.add(stamps.astype(str), "Z")
    return str(out.to_csv(index=False, float_format="%.6g"))


def _render_summary(summary: dict[str, Any], out_dir: Path, console: Console) -> None:
    table = Table(title=summary["scenario"]["name"], show_header=False)
    table.add_column("what")
    table.add_column("value")
    if "screening" in summary:
        s = summary["screening"]
        table.add_row("Screening trial", f"{s['decision']}: {s['reason']}")
    first_alarm = summary["first_alarm"]
    table.add_row("First alarm", "none" if first_alarm is None else
                  f"{first_alarm['kind']} at {first_alarm['raised']} "
                  f"({first_alarm['hours_after_start']} h after the start)")
    first = summary["first_symptom"]
    if first is None:
        table.add_row("First symptom", "none")
    else:
        table.add_row("First symptom", f"{', '.join(first['symptoms'])} at {first['time']} "
                      f"({first['hours_after_start']} h after the start)")
        table.add_row("Triage then", f"{first['triage']['disposition']}: "
                      f"{first['triage']['reason']}")
    worst = summary["worst"]
    table.add_row("Worst withdrawal", f"stage {worst['withdrawal']['stage']} "
                  f"({worst['withdrawal']['name']})")
    table.add_row("Worst overdose", f"stage {worst['overdose']['stage']} "
                  f"({worst['overdose']['name']})")
    table.add_row("Side effects felt", ", ".join(
        f"{s['symptom']} from {s['first']} ({s['hours']} h)" for s in worst["side_effects"])
        or "none")
    if summary.get("beyond_model"):
        table.add_row("BEYOND THE MODEL", summary["beyond_model"])
    for fault in summary["faults"]:
        detection = "not detected by an alarm or a refill check" \
            if fault["detected_by"] is None else \
            f"detected by {fault['detected_by']} after {fault['hours_to_detection']} h"
        table.add_row(f"Fault {fault['time']}", f"{fault['detail']}: {detection}")
    table.add_row("Drug into the CSF (true)", f"{summary['delivery']['csf_mcg']} mcg")
    for refused in summary["refused"]:
        table.add_row(f"Refused {refused['time']}", refused["detail"])
    console.print(table)
    console.print(f"Outputs in {out_dir}: timeline.csv (5-minute rows), events.csv, "
                  "summary.json, timeline.png. A simulation, not medical advice.")


@app.command()
def run(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see docs/sim.md)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default: "
                                    "out/sim/<scenario file name>)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
) -> None:
    """Run a scenario through the pump, therapy rules and patient; write its outputs."""
    try:
        validated = read_scenario(scenario)
    except ItbError as error:
        raise _fail(str(error)) from None
    out_dir = out if out is not None else DEFAULT_OUT / scenario.stem
    if out_dir.exists() and not out_dir.is_dir():
        raise _fail(f"--out = {out_dir} is not allowed: allowed is a folder (it is a file)")
    err = Console(stderr=True)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as progress:
            task = progress.add_task(f"simulating {validated.name}", total=1.0)

            def report(done: float, label: str) -> None:
                progress.update(task, completed=done, description=f"simulating: {label}")

            result = run_scenario(validated, report)
            report(0.8, "timeline")
            frame = build_timeline(result)
            summary = summarize(result, frame)
            report(0.9, "plots")
            png = render_png(result, frame)
            csv_text = _timeline_csv(frame)
            events_text = _events_csv(result)
            report(1.0, "done")
    except ItbError as error:
        raise _fail(str(error)) from None
    # Everything is computed: now write, then print.
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "timeline.csv").write_text(csv_text, encoding="utf-8")
        (out_dir / "events.csv").write_text(events_text, encoding="utf-8")
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n",
                                              encoding="utf-8")
        (out_dir / "timeline.png").write_bytes(png)
    except OSError as error:
        raise _fail(f"--out = {out_dir}: cannot write the outputs ({error})") from None
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _render_summary(summary, out_dir, Console())


@app.command()
def validate(
    scenarios: list[Path] = typer.Argument(..., help="Scenario TOML files to check."),
) -> None:
    """Check scenario files without running them; every problem is listed with its line."""
    problems = []
    for path in scenarios:
        try:
            read_scenario(path)
        except ItbError as error:
            problems.append(str(error))
    if problems:
        raise _fail("\n".join(problems))
    for path in scenarios:
        typer.echo(f"{path}: ok")
