"""Alarm kinds, their audible patterns, and the silence/re-arm cycle.

Patterns (devices.md, medtronic.com advisories 2011, HSA 2017): non-critical alarms
(low reservoir, ERI) sound a one-second single tone; critical alarms (empty
reservoir, EOS, motor stall, memory error, low battery reset) a three-second
two-tone alarm. While sounding, the tone repeats every `alarm_repeat_s`; an
acknowledged alarm is silent until it re-arms (`*_rearm_s` later) if its cause
persists. Tones are counted in closed form, never stepped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from itb.pump.catalogue import PumpModel


class AlarmKind(StrEnum):
    LOW_RESERVOIR = "low_reservoir"
    ELECTIVE_REPLACEMENT = "elective_replacement"
    RESERVOIR_EMPTY = "reservoir_empty"
    END_OF_SERVICE = "end_of_service"
    MOTOR_STALL = "motor_stall"
    MEMORY_ERROR = "memory_error"
    LOW_BATTERY_RESET = "low_battery_reset"

    @property
    def critical(self) -> bool:
        return self not in (AlarmKind.LOW_RESERVOIR, AlarmKind.ELECTIVE_REPLACEMENT)

    @property
    def pattern(self) -> str:
        return "three-second two-tone" if self.critical else "one-second single tone"


# An alarm's life once raised (it sounds at once): phase -> {event: next phase}. Clearing
# (its cause ended, `state.CLEARED_BY`) removes the alarm in any phase.
SOUNDING = "sounding"
SILENCED = "silenced"
ALARM_TRANSITIONS: dict[str, dict[str, str]] = {
    SOUNDING: {"acknowledge": SILENCED},
    SILENCED: {"rearm": SOUNDING},
}


@dataclass
class AlarmState:
    """An alarm raised and not yet cleared. `sounding_from_s` is None while silenced."""

    kind: AlarmKind
    raised_s: int
    sounding_from_s: int | None
    rearm_at_s: int | None = None
    acknowledged: bool = False

    @property
    def phase(self) -> str:
        return SOUNDING if self.sounding_from_s is not None else SILENCED

    def _move(self, event: str) -> None:
        if event not in ALARM_TRANSITIONS[self.phase]:
            raise ValueError(f"{self.kind.value}: no {event} while {self.phase}")

    def acknowledge(self, now_s: int, model: PumpModel) -> None:
        """Silence it; it sounds again after its re-arm interval if its cause persists."""
        self._move("acknowledge")
        self.sounding_from_s = None
        self.acknowledged = True
        self.rearm_at_s = now_s + self.rearm_interval_s(model)

    def rearm(self, now_s: int) -> None:
        self._move("rearm")
        self.rearm_at_s = None
        self.sounding_from_s = now_s

    def tones_between(self, start_s: int, end_s: int, repeat_s: int) -> int:
        """Tones in [start_s, end_s): one at `sounding_from_s` and every `repeat_s` after."""
        anchor = self.sounding_from_s
        if anchor is None or end_s <= anchor:
            return 0
        lo = max(start_s, anchor)
        return -((anchor - end_s) // repeat_s) - (-((anchor - lo) // repeat_s))

    def tone_charge_nc(self, model: PumpModel) -> int:
        if self.kind.critical:
            return model.critical_tone_charge_nc
        return model.noncritical_tone_charge_nc

    def rearm_interval_s(self, model: PumpModel) -> int:
        return model.critical_rearm_s if self.kind.critical else model.noncritical_rearm_s

    def to_state(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "raised_s": self.raised_s,
                "sounding_from_s": self.sounding_from_s, "rearm_at_s": self.rearm_at_s,
                "acknowledged": self.acknowledged}

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> AlarmState:
        return cls(AlarmKind(data["kind"]), int(data["raised_s"]),
                   None if data["sounding_from_s"] is None else int(data["sounding_from_s"]),
                   None if data["rearm_at_s"] is None else int(data["rearm_at_s"]),
                   bool(data["acknowledged"]))
