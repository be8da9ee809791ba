"""Poor response to rising doses, seen from the programmer (issue 16.15). Pure.

The dose history is what the pump itself logged (each `program_changed` entry holds the
program), so it is what a real programmer could read; the response is the clinician's
judgement (`--response`), which no pump can know. With a poor response an increase is
refused until the catheter and the pump have been checked (`--catheter-checked` names the
check and its result, e.g. "CAP aspiration and dye study normal"), or an override reason
is given; a decrease or an unchanged dose is never held up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from itb.errors import InvalidInput
from itb.programmer.errors import CatheterCheckNeeded
from itb.programmer.view import PumpView
from itb.pump.eventlog import PROGRAM_CHANGED
from itb.therapy.response import ClinicalResponse, DoseRise, dose_rise, poor_response

SECONDS_PER_DAY = 86_400


def _daily_dose(program_json: str) -> Fraction | None:
    """The daily dose of a logged program (continuous, or daily/weekly flex steps)."""
    try:
        therapy = json.loads(program_json)["therapy"]
        if therapy["type"] == "continuous":
            return Fraction(therapy["daily_dose_mcg"])
        days = 7 if therapy.get("period") == "weekly" else 1
        total = sum(Fraction(rate) * duration for _start, duration, rate in therapy["steps"])
        # A periodic bolus runs every day (it replaces the step rate while it runs; that
        # small overlap is ignored for a trend).
        total += sum(Fraction(dose) for _start, dose, _d in therapy["periodic_boluses"]) \
            * SECONDS_PER_DAY * days
        return total / (SECONDS_PER_DAY * days)
    except (ValueError, KeyError, TypeError, ZeroDivisionError):
        return None  # an entry this programmer cannot read does not count


def dose_history(view: PumpView) -> list[tuple[datetime, Fraction]]:
    """(time, new daily dose) of every program change in the pump's log, oldest first."""
    history = []
    for entry in sorted(view.log, key=lambda e: e.index):
        if entry.kind != PROGRAM_CHANGED:
            continue
        details = {d.key: d.value for d in entry.details}
        dose = _daily_dose(details.get("program", ""))
        if dose is not None:
            history.append((entry.time, dose))
    return history


@dataclass(frozen=True)
class ResponseReview:
    rise: DoseRise | None
    poor: bool
    note: str | None


def review_response(view: PumpView, proposed_mcg_per_day: Fraction, response: str | None,
                    catheter_checked: str | None, override_reason: str | None
                    ) -> ResponseReview:
    """Refuse an increase after a poor response unless the system was checked (or overridden)."""
    judged = None
    if response is not None:
        try:
            judged = ClinicalResponse(response)
        except ValueError:
            raise InvalidInput("--response", response, "one of: "
                               + ", ".join(r.value for r in ClinicalResponse)) from None
    if catheter_checked is not None and not catheter_checked.strip():
        raise InvalidInput("--catheter-checked", repr(catheter_checked),
                           "the check done and its result")
    history = dose_history(view)
    increase = view.daily_dose_mcg is not None and proposed_mcg_per_day > view.daily_dose_mcg
    if judged is None:
        rise = dose_rise(history, view.now)
        note = None
        if increase and rise is not None and rise.steep:
            note = (f"{rise.sentence()}: if the response is poor, check the catheter and the "
                    "pump before this increase (give --response to record it)")
        return ResponseReview(rise, False, note)
    rise = poor_response(history, view.now, judged)
    if rise is None:
        return ResponseReview(dose_rise(history, view.now), False, None)
    sentence = f"poor response: spasticity {judged.value} although {rise.sentence()}"
    if increase and catheter_checked is None and override_reason is None:
        raise CatheterCheckNeeded(
            f"Increase held: {sentence}. A steep rise without effect can mean a catheter or "
            "pump problem (kink, dislodgement, disconnection, under-delivery).",
            "Check the catheter and the pump first (interrogate, catheter access port "
            "aspiration, imaging or a dye study), then give --catheter-checked with the "
            "result; or give --override-reason. Nothing was sent to the pump.")
    checked = f"; catheter and pump checked: {catheter_checked.strip()}" if catheter_checked \
        else ""
    return ResponseReview(rise, True, sentence + checked)
