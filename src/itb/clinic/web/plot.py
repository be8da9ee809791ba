"""The timeline plot of a patient's therapy over the years, as a PNG (matplotlib, Agg).

Three panels share the time axis: the daily dose (mcg/day), the drug strength (mcg/mL) and
the reservoir (mL), each as the pump reported them at its interrogations; refills, program
changes, alarms and symptom calls are marked. The figure is drawn with matplotlib's object
API (no pyplot state), and cached per patient and version of the record: `fingerprint`
changes whenever a record the plot shows is added, changed or deleted.

Floats appear only here, for drawing: the records stay exact.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, MonthLocator, YearLocator
from matplotlib.figure import Figure
from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from itb.clinic import audit, records
from itb.clinic.access import Actor
from itb.clinic.models import (
    Interrogation,
    Patient,
    ProgramChange,
    RefillRecord,
    SymptomCall,
)

SHOWN = (Interrogation, RefillRecord, ProgramChange, SymptomCall)
CACHE_SIZE = 256  # plots kept in memory (about 60 kB each)
_cache: OrderedDict[tuple[str, int, str], bytes] = OrderedDict()
_lock = threading.Lock()


def fingerprint(session: Session, patient_id: int) -> str:
    """A short digest of every shown record's (count, newest id, sum of versions)."""
    parts = [select(func.count(m.id), func.max(m.id), func.sum(m.version))
             .where(m.patient_id == patient_id) for m in SHOWN]
    rows = session.execute(union_all(*parts)).all()
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()[:16]


def _series(session: Session, patient_id: int) -> dict[str, list[Any]]:
    def live(model: Any, *columns: Any) -> list[Any]:
        return list(session.execute(select(*columns).where(
            model.patient_id == patient_id, model.deleted_at.is_(None)).order_by(columns[0])))

    return {
        "reads": live(Interrogation, Interrogation.at, Interrogation.daily_dose_mcg,
                      Interrogation.strength_mcg_per_ml, Interrogation.reservoir_ml,
                      Interrogation.alarms),
        "refills": live(RefillRecord, RefillRecord.at, RefillRecord.outcome),
        "changes": live(ProgramChange, ProgramChange.at, ProgramChange.outcome),
        "calls": live(SymptomCall, SymptomCall.at, SymptomCall.disposition),
    }


def _marks(ax: Any, moments: list[datetime], label: str, color: str, style: str) -> None:
    for n, moment in enumerate(moments):
        ax.axvline(moment, color=color, linestyle=style, linewidth=0.9,
                   label=label if n == 0 else None)


def draw(series: dict[str, list[Any]], title: str) -> bytes:
    """The PNG of the series (pure: no database, no clock)."""
    # a fixed layout and year/quarter ticks: constrained layout and AutoDateLocator were most
    # of the drawing time (bench/web.py)
    figure = Figure(figsize=(9, 6.2), dpi=90)
    figure.subplots_adjust(left=0.09, right=0.98, top=0.95, bottom=0.07, hspace=0.12)
    FigureCanvasAgg(figure)
    dose_ax, strength_ax, reservoir_ax = figure.subplots(3, 1, sharex=True)
    reads = series["reads"]
    when = [r[0] for r in reads]
    for ax, index, label, color in ((dose_ax, 1, "daily dose (mcg/day)", "#0b5cad"),
                                    (strength_ax, 2, "strength (mcg/mL)", "#6a3d9a"),
                                    (reservoir_ax, 3, "reservoir (mL)", "#1d6b2a")):
        points = [(t, float(r[index])) for t, r in zip(when, reads, strict=True)
                  if r[index] is not None]
        if points:
            ax.step([p[0] for p in points], [p[1] for p in points], where="post",
                    color=color, marker="." if index == 3 else None)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    _marks(reservoir_ax, [r[0] for r in series["refills"] if r[1] == "done"], "refill",
           "#1d6b2a", ":")
    _marks(dose_ax, [c[0] for c in series["changes"] if c[1] == "done"], "program change",
           "#0b5cad", "--")
    alarms = [t for t, r in zip(when, reads, strict=True) if r[4]]
    if alarms:
        dose_ax.plot(alarms, [dose_ax.get_ylim()[1]] * len(alarms), "v", color="#a30000",
                     label="alarm at interrogation", clip_on=False)
    _marks(strength_ax, [c[0] for c in series["calls"]], "symptom call", "#b35900", "-.")
    for ax in (dose_ax, strength_ax, reservoir_ax):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize="small")
    span = (when[-1] - when[0]).days if len(when) > 1 else 0
    locator = YearLocator() if span > 3 * 365 else MonthLocator(bymonth=(1, 4, 7, 10)) \
        if span > 365 else MonthLocator()
    reservoir_ax.xaxis.set_major_locator(locator)
    reservoir_ax.xaxis.set_major_formatter(DateFormatter("%Y" if span > 3 * 365 else "%Y-%m"))
    dose_ax.set_title(title if reads else title + " (no interrogation recorded)")
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def timeline_png(session: Session, actor: Actor, patient_id: int, *, now: datetime) -> bytes:
    """The plot of this patient's record (a read of the record: guarded and audited)."""
    records.guard(session, actor, "read_record", patient_id, now=now, entity="patients",
                  entity_id=patient_id)
    patient = records.live(session, Patient, patient_id)
    audit.record(session, actor, "read", "patients", now=now, entity_id=patient_id,
                 patient_id=patient_id, detail="timeline plot")
    key = (str(session.get_bind().url), patient_id,
           f"{patient.version}-{fingerprint(session, patient_id)}")
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    png = draw(_series(session, patient_id), f"{patient.name} ({patient.mrn})")
    with _lock:
        _cache[key] = png
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return png
