"""The HTML matrix of `itb safety trace --html FILE`: one self-contained page (inline
CSS, no scripts, nothing fetched) that links every test and scenario by a relative path
from the page to its file, so the links work wherever the checkout is."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from itb.safety.trace import Trace


def _link(target: str, root: Path, page_dir: Path) -> str:
    """A relative link from the page's folder to `target` (a path or node id under root)."""
    path = target.split("::", 1)[0]
    return Path(os.path.relpath(root / path, page_dir)).as_posix()


def render_html(trace: Trace, root: Path, page: Path) -> str:
    """The matrix as one HTML page to be written at `page`."""
    env = Environment(loader=PackageLoader("itb.safety", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                      lstrip_blocks=True)
    page_dir = page.resolve().parent
    root = root.resolve()

    def link(target: str) -> str:
        return _link(target, root, page_dir)

    context: dict[str, Any] = {"hazards": trace.hazards, "summary": trace.summary,
                               "problems": trace.problems, "link": link}
    return env.get_template("trace.html.j2").render(**context)
