"""Writing a finished run's summary and pictures next to its tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from itb.fleet.plots import render_all
from itb.fleet.study import Study
from itb.fleet.summary import dumps, summarize


def write_outputs(study: Study, out: Path) -> dict[str, Any]:
    """summary.json (sorted keys, rounded floats) and the PNG plots, from the tables."""
    patients = pq.read_table(out / "patients.parquet")
    events = pq.read_table(out / "events.parquet")
    summary = summarize(study, patients, events)
    (out / "summary.json").write_text(dumps(summary))
    for name, png in render_all(summary, patients, events).items():
        (out / name).write_bytes(png)
    (out / "study.toml").write_text(study.text)
    return summary
