"""A program change while a bridge bolus runs (issue 9.4): what the preview says.

A bridge bolus pushes the old-strength drug out of the pump tubing and catheter at the
old daily dose after a change of concentration. It is about the fluid in the catheter,
not the program, so a program change leaves it running to its end; the new program's
flows start then. Only an explicit `--cancel-bridge-reason` ends it early.
"""

from __future__ import annotations

from typing import Any

from itb.errors import InvalidInput
from itb.programmer import render
from itb.programmer.view import PumpView

BRIDGE_STATE = "bridge_bolus"  # the pump's infusion state while its bridge bolus runs


def bridge_running(view: PumpView) -> bool:
    return view.report.infusion.state == BRIDGE_STATE


def bridge_note(view: PumpView, cancel_reason: str | None) -> str | None:
    """The preview's sentence about a running bridge bolus (None: none runs)."""
    if not bridge_running(view):
        if cancel_reason is not None:
            raise InvalidInput("--cancel-bridge-reason", cancel_reason[:60],
                               "only while a bridge bolus runs",
                               "the pump runs no bridge bolus now: leave the option out")
        return None
    until = render.when(view.report.infusion.bolus_until)
    if cancel_reason is None:
        return (f"A bridge bolus runs until {until} (old-strength drug in the catheter, at the "
                "old daily dose): it continues to its end and the new program's flows start "
                "then. To end it now, give --cancel-bridge-reason.")
    if not cancel_reason.strip():
        raise InvalidInput("--cancel-bridge-reason", '""', "a reason in words")
    return (f"The bridge bolus planned until {until} ends now (cancelled: {cancel_reason}); "
            "the old-strength drug left in the catheter is pushed at the new program's flow.")


def bridge_real_end(view: PumpView, refill_pump_time: str | None) -> str:
    """How the bridge bolus of the refill recorded at `refill_pump_time` really ended,
    from the pump's own log (completed, or interrupted and why), or that it still runs."""
    refills = [e for e in view.log if e.kind == "refill"
               and (refill_pump_time is None or e.time.isoformat() <= refill_pump_time)]
    start = refills[-1].index if refills else -1
    for entry in view.log:
        if entry.index <= start:
            continue
        if entry.kind == "bridge_bolus_completed":
            return f"completed {render.when(entry.time)}"
        if entry.kind == "bridge_bolus_interrupted":
            reason = next((d.value for d in entry.details if d.key == "reason"), "")
            return f"ended early {render.when(entry.time)} ({reason})"
    if bridge_running(view):
        until = render.when(view.report.infusion.bolus_until)
        return f"still running at this report, until {until}"
    return "not found in the pump's log"


def with_bridge_ends(view: PumpView, refills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Refill records with the bridge bolus's real end added (the record holds the plan)."""
    out = []
    for record in refills:
        bridge = record.get("bridge_bolus")
        if isinstance(bridge, dict) and record.get("outcome") == "refilled":
            record = {**record, "bridge_bolus": {
                **bridge, "real_end": bridge_real_end(view, record.get("pump_time"))}}
        out.append(record)
    return out
