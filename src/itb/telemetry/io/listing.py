"""What `itb pump list` shows: each pump of a state folder as its firmware last saved it.

Only the firmware's belief is listed (the reservoir *estimate* from counted strokes, the
alarms it raised), never the simulator's physical truth kept in the same file. The
times are the pump clock at the last save: pump clocks stand still while no server
runs. A folder or a damaged file is listed as skipped with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput, ItbError
from itb.pump import Pump
from itb.telemetry.io.store import StateStore, StateUnreadable
from itb.therapy.units import NL_PER_ML, display


@dataclass(frozen=True)
class ListedPump:
    serial: str
    model: str
    pump_time: str
    concentration_mcg_per_ml: Fraction
    reservoir_estimate_nl: int
    mode: str
    alarms: tuple[tuple[str, bool, bool], ...]  # (kind, critical, sounding)

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "model": self.model, "pump_time": self.pump_time,
                "drug": "baclofen",
                "concentration_mcg_per_ml": str(self.concentration_mcg_per_ml),
                "reservoir_estimate_ml": str(Fraction(self.reservoir_estimate_nl, NL_PER_ML)),
                "mode": self.mode,
                "alarms": [{"kind": k, "critical": c, "sounding": s} for k, c, s in self.alarms]}

    def line(self) -> str:
        estimate_ml = display(Fraction(self.reservoir_estimate_nl, NL_PER_ML))
        alarms = ", ".join(f"{kind} ({'critical' if critical else 'noncritical'}"
                           f"{', sounding' if sounding else ''})"
                           for kind, critical, sounding in self.alarms) or "none"
        return (f"{self.serial}  {self.model}  baclofen {display(self.concentration_mcg_per_ml)}"
                f" mcg/mL  reservoir estimate {estimate_ml} mL  {self.mode}  alarms: {alarms}"
                f"  (pump time {self.pump_time})")


def list_pumps(store: StateStore) -> tuple[list[ListedPump], dict[str, str]]:
    """(the readable pumps, {serial: why skipped}) in serial order."""
    listed: list[ListedPump] = []
    skipped: dict[str, str] = {}
    for serial in store.serials():
        try:
            pump = Pump.from_state(store.load(serial)["pump"])
        except StateUnreadable as exc:
            skipped[serial] = exc.reason
            continue
        except (ItbError, InvalidInput, KeyError, TypeError, ValueError, AttributeError) as exc:
            skipped[serial] = f"the document does not fit this itb version ({type(exc).__name__})"
            continue
        status = pump.status()
        listed.append(ListedPump(status.serial, status.model, status.clock.isoformat(),
                                 status.concentration_mcg_per_ml, status.reservoir_estimate_nl,
                                 status.mode, status.alarms))
    return listed, skipped
