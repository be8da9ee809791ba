"""`itb safety trace`: the safety case's matrix, hazard -> requirement -> tests and
scenarios, checked on every CI run (scripts/test).

The shell gathers the inputs (`itb.safety.collect`), the pure core checks them and builds
the matrix (`itb.safety.trace`), and only then does this module print and write. A trace
that fails prints every problem as `Error:` lines and exits 1 (a check that did not
pass, as pytest's failures); input that cannot be read exits 2 (itb's refusal style).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from itb.cli_errors import refuse
from itb.safety.collect import (
    HAZARDS_FILE,
    collect_markers,
    module_exists,
    read_case,
    scenario_hazards,
)
from itb.safety.html import render_html
from itb.safety.model import SafetyError
from itb.safety.trace import Trace, build_trace

EXIT_TRACE_FAILS = 1

app = typer.Typer(name="safety", help="The safety case: hazards traced to requirements, "
                  "tests and scenarios.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def safety() -> None:
    """The safety case: hazards traced to requirements, tests and scenarios (docs/safety.md)."""


def _text(trace: Trace) -> str:
    s = trace.summary
    lines = [f"{h['id']}  {len(h['requirements'])} requirements, "
             f"{sum(len(r['tests']) for r in h['requirements'])} test links, "
             f"{len(h['scenarios'])} scenarios  {h['title']}" for h in trace.hazards]
    m = s["mitigations"]
    lines.append(f"{s['hazards']} hazards, {s['requirements']} requirements, "
                 f"{s['tests_linked']} tests linked ({s['test_links']} links), "
                 f"{s['scenarios_linked']} scenarios linked; mitigations {m['implemented']} "
                 f"implemented, {m['partial']} partial, {m['planned']} planned.")
    return "\n".join(lines)


def _gather(root: Path, hazards: Path | None, tests: Path | None,
            scenarios: Path | None) -> Trace:
    case = read_case(hazards or root / HAZARDS_FILE)
    markers = collect_markers(root, tests or root / "tests")
    declared = scenario_hazards(scenarios or root / "scenarios", root)
    return build_trace(case, markers, declared, module_exists)


def _write_html(trace: Trace, root: Path, page: Path) -> None:
    if page.exists() and not page.is_file():
        raise refuse(f"--html {page} is not a regular file",
                     "Give a file path for the HTML matrix, such as out/safety.html.")
    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(render_html(trace, root, page), encoding="utf-8")
    except OSError as error:
        raise refuse(f"cannot write the HTML matrix to {page} ({error.strerror or error})",
                     "Give a path in a folder you can write to with --html.") from None


@app.command("trace")
def trace_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the matrix as JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the matrix as one "
                                              "HTML page linking every test and scenario.",
                                              metavar="FILE")] = None,
    root: Annotated[Path, typer.Option(help="The project root (holds safety/, tests/ and "
                                       "scenarios/).")] = Path("."),
    hazards: Annotated[Path | None, typer.Option(help="The hazards file (default "
                                                 "safety/hazards.toml under the root).")] = None,
    tests: Annotated[Path | None, typer.Option(help="The tests folder (default tests/).")] = None,
    scenarios: Annotated[Path | None, typer.Option(help="The scenarios folder (default "
                                                   "scenarios/).")] = None,
) -> None:
    """Trace every hazard to its requirements, their tests and the scenarios, and check it.

    Fails when a hazard has no mitigation, a requirement has no test or names a module that
    does not exist, or a marker or scenario names an unknown requirement or hazard.
    """
    if not root.is_dir():
        raise refuse(f"--root {root} is not a folder", "Run from the itb checkout or give "
                     "its folder with --root.")
    try:
        trace = _gather(root, hazards, tests, scenarios)
    except SafetyError as error:
        raise refuse(str(error), "Correct the hazards file, the marker or the scenario and "
                     "run `itb safety trace` again (docs/safety.md).") from None
    if html is not None:
        _write_html(trace, root, html)
    if as_json:
        typer.echo(json.dumps(trace.as_json(), indent=2))
    elif trace.ok:
        typer.echo(_text(trace))
    if not trace.ok:
        problems = "\n".join(f"  {p.message}" for p in trace.problems)
        raise refuse(f"the safety trace fails with {len(trace.problems)} problems:\n{problems}",
                     "Add the missing mitigation, requirement or @pytest.mark.req marker, or "
                     "correct the id (docs/safety.md says how).", code=EXIT_TRACE_FAILS)
