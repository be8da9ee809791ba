"""`itb programmer interrogate | alarms | log | report`: reading the pump."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from itb.errors import InvalidInput
from itb.programmer import render
from itb.programmer.cli import shell
from itb.programmer.journal import require_journal
from itb.programmer.view import view_to_json
from itb.programmer.workflows import reading
from itb.programmer.workflows.reading import LogPage, LogQuery, iso


@shell.pump_command
def interrogate(ctx: typer.Context, as_json: shell.JsonOpt = False,
                link: shell.Link = shell.LINK) -> None:
    """Read the pump: identity, battery and ERI date, reservoir, program, alarms, alarm date."""
    result = reading.interrogate(shell.open_visit(ctx, link))
    if as_json:
        typer.echo(json.dumps(result.data, indent=2))
        return
    shell.console().print(render.interrogation(result.view))


@shell.pump_command
def alarms(
    ctx: typer.Context,
    ack: Annotated[str | None, typer.Option(
        "--ack", help="Acknowledge (silence) one alarm kind, or 'all'.")] = None,
    as_json: shell.JsonOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """List the pump's alarms; --ack KIND silences one kind (--ack all: every sounding one)."""
    result = reading.alarms(shell.open_visit(ctx, link), ack)
    data = view_to_json(result.view)["alarms"]
    if as_json:
        typer.echo(json.dumps({"alarms": data, "silenced": result.silenced}, indent=2))
        return
    out = shell.console()
    if result.silenced is not None:
        out.print(Text(f"{result.silenced} sounding alarm(s) silenced; they sound again later "
                       "if the cause remains."))
    out.print(render.alarms_table(result.view))


def _log_query(kind: list[str] | None, since: str | None, until: str | None, page_text: str,
               page_size_text: str) -> LogQuery:
    page = shell.whole_number("--page", page_text, 1, 10**12, "a page number, 1 or more")
    page_size = shell.whole_number("--page-size", page_size_text, 1, 500, "1 to 500 entries")
    start = None if since is None else shell.parse_instant("--since", since)
    end = None if until is None else shell.parse_instant("--until", until)
    if start is not None and end is not None and end < start:
        raise InvalidInput("--until", until, f"not before --since {since}")
    return LogQuery(tuple(kind or ()), start, end, page, page_size)


@shell.pump_command
def log(
    ctx: typer.Context,
    kind: Annotated[list[str] | None, typer.Option(
        "--kind", help="Only entries of this kind (repeatable).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this time (ISO-8601).")
                     ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this time (ISO-8601).")
                     ] = None,
    page_text: Annotated[str, typer.Option("--page", help="Page, 1 = newest.")] = "1",
    page_size_text: Annotated[str, typer.Option("--page-size", help="Entries per page, 1 to "
                                                "500.")] = "20",
    as_json: shell.JsonOpt = False, link: shell.Link = shell.LINK,
) -> None:
    """The pump's event log as a paged table, newest first, filtered by kind and time."""
    query = _log_query(kind, since, until, page_text, page_size_text)
    page = reading.read_log(shell.open_visit(ctx, link), query)
    if as_json:
        typer.echo(json.dumps({
            "page": query.page, "pages": page.pages, "matching": page.matching,
            "overflowed": page.view.report.log_overflowed,
            "entries": [{"index": e.index, "time": iso(e.time), "kind": e.kind,
                         "details": {d.key: d.value for d in e.details}} for e in page.entries]},
            indent=2))
        return
    _print_log(page)


def _print_log(page: LogPage) -> None:
    view, query = page.view, page.query
    table = Table(title=f"Pump {view.serial} event log, page {query.page} of {page.pages} "
                        f"({page.matching} matching, newest first)", show_edge=False)
    for column in ("#", "pump time", "kind", "details"):
        table.add_column(column, overflow="fold")
    for entry in page.entries:
        details = ", ".join(f"{d.key}={d.value}" for d in entry.details)
        table.add_row(str(entry.index), render.when(entry.time), entry.kind,
                      details if len(details) <= 160 else details[:157] + "...")
    out = shell.console()
    out.print(table)
    if query.kinds and not page.matching:
        present = sorted({e.kind for e in view.log})
        out.print(Text(f"No entries of kind {', '.join(query.kinds)}; kinds in this pump's log: "
                       f"{', '.join(present) or 'none'}.", style="yellow"))
    if view.report.log_overflowed:
        out.print(Text(f"{view.report.log_overflowed} older entries fell off the pump's log "
                       "ring.", style="yellow"))


@shell.pump_command
def report(
    ctx: typer.Context,
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    pdf_file: Annotated[Path | None, typer.Option(
        "--pdf", help="Also write the report as a PDF.")] = None,
    link: shell.Link = shell.LINK,
    all_sessions: Annotated[bool, typer.Option(
        "--all", help="Every session in the journal (default: the latest visit).")] = False,
) -> None:
    """Write the session report (self-contained HTML, and PDF with --pdf) after a final
    interrogation: the latest session (visit) by default, every session with --all."""
    from itb.programmer.cli.report_files import write_report

    shell.require_file_path("--out", out_file)
    if pdf_file is not None:
        shell.require_file_path("--pdf", pdf_file)
    require_journal(link.session_file)
    data = reading.report_data(shell.open_visit(ctx, link), all_sessions)
    write_report(data, out_file, pdf_file, str(link.session_file))
    typer.echo(str(out_file))
    if pdf_file is not None:
        typer.echo(str(pdf_file))
