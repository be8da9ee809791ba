"""The session report's files (HTML, and PDF), written whole. Imported only by `report`, as it
loads matplotlib and the PDF writer."""

from __future__ import annotations

from pathlib import Path

from itb.programmer.cli import shell
from itb.programmer.report import render_report, write_pdf
from itb.programmer.workflows.reading import ReportData


def write_report(data: ReportData, out_file: Path, pdf_file: Path | None,
                 session_file: str) -> None:
    html = render_report(data.view, data.entries, generated_at=data.generated_at,
                         session_file=session_file)
    shell.write_whole("--out", out_file, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    if pdf_file is not None:
        shell.write_whole("--pdf", pdf_file, lambda tmp: write_pdf(
            data.view, data.entries, tmp, generated_at=data.generated_at,
            session_file=session_file))
