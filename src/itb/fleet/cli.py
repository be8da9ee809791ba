"""`itb fleet ...`: run fleet studies on Dask, compare two, render a report.

The shell reads the study file, validates all of it before anything runs, opens the Dask
client (an embedded local cluster, or `--scheduler ADDRESS`), shows a progress bar on
stderr and writes the outputs (docs/fleet.md). It holds no clinical logic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from itb.cli_errors import refuse
from itb.errors import ItbError
from itb.fleet.errors import FleetError, StudyError
from itb.textfiles import read_small_text

app = typer.Typer(name="fleet", help="Fleet studies: many patients with pumps, on Dask.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

DEFAULT_OUT = Path("out") / "fleet"
MAX_STUDY_BYTES = 256 * 1024
_NEXT = "Correct the study file or the option and run the command again (docs/fleet.md " \
        "describes every study key)."


def read_study(path: Path) -> Any:
    from itb.fleet.study import parse_study

    if not path.is_file():
        raise StudyError(str(path), [(None, "", "cannot read the study file (no such regular "
                                                "file)")])
    text = read_small_text(path, MAX_STUDY_BYTES, "study", StudyError)
    return parse_study(text, str(path))


def _client(workers: int | None, scheduler: str | None) -> tuple[Any, Any]:
    from itb.fleet.engine import local_client, remote_client

    if scheduler is not None:
        try:
            return remote_client(scheduler), None
        except (OSError, TimeoutError, ValueError) as error:
            raise FleetError(f"cannot reach the Dask scheduler at {scheduler} ({error})"
                             ) from None
    return local_client(workers or 2)


def execute(study: Any, out: Path, workers: int | None, scheduler: str | None,
            partition_size: int, quiet: bool = False) -> dict[str, Any]:
    """Run (or resume) a study into `out` and write its summary and pictures; a study with
    arms runs each into `out/<arm>/` and writes `out/arms.json`."""
    from itb.fleet.arms import arms_summary

    client, cluster = _client(workers, scheduler)
    try:
        if not study.spec.arms:
            return _run_one(study, out, client, partition_size, quiet)
        summaries = {arm: _run_one(study.with_arm(arm), out / arm, client, partition_size,
                                   quiet) for arm in study.spec.arms}
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    result = arms_summary(study, summaries)
    (out / "arms.json").write_text(json.dumps(result, sort_keys=True, indent=1) + "\n")
    (out / "study.toml").write_text(study.text)
    return result


def _run_one(study: Any, out: Path, client: Any, partition_size: int,
             quiet: bool) -> dict[str, Any]:
    from itb.fleet.engine import run_study
    from itb.fleet.outputs import write_outputs

    years = float(study.spec.study.years)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("patients · {task.fields[rate]} patient-years/s"),
                        TimeElapsedColumn(), console=Console(stderr=True), disable=quiet)
    with progress:
        task = progress.add_task(study.spec.study.name[:40], total=study.patients, rate="-")
        start: list[float] = []

        def tick(done: int, _years: float) -> None:
            elapsed = progress.tasks[task].elapsed or 0.0
            if not start:
                start.append(done * years)
            rate = (done * years - start[0]) / elapsed if elapsed > 0 else 0.0
            progress.update(task, completed=done, rate=f"{rate:,.0f}")

        figures = run_study(study, out, client, partition_size=partition_size, progress=tick)
    summary = write_outputs(study, out)
    summary_run = {"partitions": figures.partitions, "resumed": figures.partitions_resumed,
                   "wall_s": round(figures.wall_s, 3),
                   "worker_cpu_s": round(figures.worker_cpu_s, 3)}
    (out / "run.json").write_text(json.dumps(summary_run, sort_keys=True) + "\n")
    return summary


@app.command("run")
def run_command(
    study_file: Path = typer.Argument(..., help="The study TOML file (docs/fleet.md)."),
    out: Path | None = typer.Option(None, "--out", help="Output folder (default "
                                    "out/fleet/<study file name>); a run there resumes."),
    workers: int | None = typer.Option(None, "--workers", min=1, max=64,
                                       help="Local worker processes (default 2)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Address of a running "
                                         "Dask scheduler, e.g. tcp://127.0.0.1:8786."),
    partition_size: int = typer.Option(50, "--partition-size", min=1, max=100_000,
                                       help="Patients per partition."),
    patients: int | None = typer.Option(None, "--patients", min=1, max=1_000_000,
                                        help="Run the first N patients instead of the "
                                        "cohort's size (patient i is the same either way)."),
    as_json: bool = typer.Option(False, "--json", help="Print summary.json on stdout."),
) -> None:
    """Run a fleet study: patients.parquet, events.parquet, summary.json and plots (a study
    with arms: a folder per arm and arms.json)."""
    if workers is not None and scheduler is not None:
        raise refuse("--workers and --scheduler cannot be given together",
                     "Give --workers N for a local cluster or --scheduler ADDRESS for an "
                     "existing one.")
    try:
        study = read_study(study_file)
        if patients is not None:
            study = study.with_patients(patients)
        target = out or DEFAULT_OUT / study_file.stem
        summary = execute(study, target, workers, scheduler, partition_size)
    except StudyError as error:
        raise refuse(str(error), _NEXT) from None
    except ItbError as error:
        raise refuse(str(error), "Choose another --out folder, or check the scheduler "
                                 "address, and run the command again.") from None
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True, indent=2))
    elif "arms" in summary:
        from itb.fleet.arms import render_text

        typer.echo(render_text(summary))
        typer.echo(f"Wrote {target}/arms.json and a run folder per arm ({target}/<arm>/).")
    else:
        _print_summary(summary, target)


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    table = Table(title=f"{summary['study']['name']}: {summary['patient_years']:g} "
                        "patient-years")
    table.add_column("per 1,000 patient-years")
    table.add_column("count", justify="right")
    table.add_column("rate (95% CI)", justify="right")
    for name, value in summary["incidence"].items():
        if value["count"] or not name.startswith(("fault_", "detected_")):
            low, high = value["ci95"]
            table.add_row(name.replace("_", " "), str(value["count"]),
                          f"{value['per_1000_patient_years']:.3g} ({low:.3g}-{high:.3g})")
    Console().print(table)
    typer.echo(f"Wrote {out}/patients.parquet, events.parquet, summary.json and plots.")


@app.command("compare")
def compare_command(
    first: Path = typer.Argument(..., help="Study A: a study file (run) or an output folder."),
    second: Path = typer.Argument(..., help="Study B: a study file (run) or an output folder."),
    workers: int | None = typer.Option(None, "--workers", min=1, max=64),
    scheduler: str | None = typer.Option(None, "--scheduler"),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Compare two studies: rate differences and rate ratios (B vs A) with 95 % CIs."""
    from itb.fleet.compare import compare, render_text

    try:
        summaries = [_summary_of(path, workers, scheduler) for path in (first, second)]
    except StudyError as error:
        raise refuse(str(error), _NEXT) from None
    except ItbError as error:
        raise refuse(str(error), "Give a study file or a folder written by `itb fleet run`, "
                                 "and run the command again.") from None
    result = compare(*summaries)
    typer.echo(json.dumps(result, sort_keys=True, indent=2) if as_json else render_text(result))


def _summary_of(path: Path, workers: int | None, scheduler: str | None) -> dict[str, Any]:
    if path.is_dir():
        summary_path = path / "summary.json"
        if not summary_path.is_file():
            raise FleetError(f"{path} holds no summary.json (not a finished fleet run)")
        loaded: dict[str, Any] = json.loads(summary_path.read_text())
        return loaded
    study = read_study(path)
    if study.spec.arms:
        raise FleetError(f"{path} has arms ({', '.join(study.spec.arms)}): run it, then "
                         "compare two of its arm folders (out/fleet/<study>/<arm>)")
    return execute(study, DEFAULT_OUT / path.stem, workers, scheduler, 50, quiet=False)


@app.command("report")
def report_command(
    folder: Path = typer.Argument(..., help="A folder written by `itb fleet run`."),
) -> None:
    """Render report.html in a run's folder (summary, tables and plots)."""
    from itb.fleet.report import write_report

    try:
        path = write_report(folder)
    except ItbError as error:
        raise refuse(str(error), "Give a folder written by `itb fleet run` and run the "
                                 "command again.") from None
    typer.echo(f"Wrote {path}")
