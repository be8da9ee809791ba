"""`itb fleet report DIR`: report.html from a finished run (Jinja2, the template shipped in
`itb/fleet/templates/`). The pictures are the run's own PNG files, linked by name."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from itb.fleet.errors import OutputError


def write_report(folder: Path) -> Path:
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise OutputError(f"{folder} holds no summary.json (not a finished fleet run)")
    try:
        summary = json.loads(summary_path.read_text())
    except (OSError, ValueError) as error:
        raise OutputError(f"cannot read {summary_path} ({error})") from None
    env = Environment(loader=PackageLoader("itb.fleet", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    pictures = [name for name in ("survival.png", "incidence.png", "detection.png")
                if (folder / name).is_file()]
    html = env.get_template("report.html.j2").render(summary=summary, pictures=pictures)
    out = folder / "report.html"
    out.write_text(html)
    return out
