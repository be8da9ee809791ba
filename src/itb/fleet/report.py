"""`itb fleet report DIR`: report.html from a finished run (Jinja2, the template shipped in
`itb/fleet/templates/`). The pictures are the run's own PNG files, linked by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from itb.fleet.errors import OutputError


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise OutputError(f"cannot read {path} ({error})") from None


def write_report(folder: Path) -> Path:
    """report.html of a run, or of a study with arms (the arms side by side, each linked to
    its own folder's report)."""
    env = Environment(loader=PackageLoader("itb.fleet", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    summary_path = folder / "summary.json"
    if (folder / "arms.json").is_file() and not summary_path.is_file():
        from itb.fleet.arms import RATES

        result = _load(folder / "arms.json")
        for arm in result["arms"]:
            write_report(folder / arm)
        out = folder / "report.html"
        out.write_text(env.get_template("arms.html.j2").render(result=result, rates=RATES))
        return out
    if not summary_path.is_file():
        raise OutputError(f"{folder} holds no summary.json (not a finished fleet run)")
    summary = _load(summary_path)
    pictures = [name for name in ("survival.png", "incidence.png", "detection.png")
                if (folder / name).is_file()]
    html = env.get_template("report.html.j2").render(summary=summary, pictures=pictures)
    out = folder / "report.html"
    out.write_text(html)
    return out
