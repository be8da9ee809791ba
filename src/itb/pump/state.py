"""The firmware's modes and alarm transitions, as data.

What this module may know:
- Only what the firmware believes: the flags it set by its own acts (stopped, a bolus
  running, priming needed) or learnt from its own sensors (the motor's stall detector, the
  memory's CRC, a power-on reset, its own battery gauge) and the alarms it raised.
What it may never know:
- The physical truth: the true reservoir volume and concentration, the true stroke volume,
  the catheter's state, where the drug went. That lives in `physical.PhysicalPump`, which
  the firmware never reads; a fault reaches the firmware only through a sensor
  (`faults.Faults`).
- Time and delivery arithmetic (`engine`), dose limits (`limits`), the acts (`acts`).

The tables below say which mode the flags put the pump in, which acts each mode refuses,
and which alarms each firmware event raises or clears. The code reads them; it holds no
mode ladder of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from itb.pump.alarms import AlarmKind, AlarmState
from itb.pump.records import Overlay

# Mode precedence: the first condition that holds names the mode ({...} from the state).
MODE_TABLE: tuple[tuple[str, str], ...] = (
    ("end_of_service", "end_of_service"),
    ("stalled", "motor_stall"),
    ("overlay", "{overlay.kind}_bolus"),
    ("safe_state", "minimum_rate ({safe_state})"),
    ("stopped", "minimum_rate (stopped)"),
    ("reservoir_empty", "minimum_rate (reservoir empty)"),
)
RUNNING = "running"

# An act that needs the therapy running is refused by the first condition that holds.
RUNNING_REFUSALS: tuple[tuple[str, str], ...] = (
    ("end_of_service", "the pump has reached end of service"),
    ("stalled", "the motor is stalled"),
    ("safe_state", "the pump is in its safe state ({safe_state}); reprogram it"),
    ("stopped", "the pump is stopped; resume it first"),
    ("reservoir_empty", "the reservoir is empty; refill it first"),
    ("overlay", "a {overlay.kind} bolus is in progress"),
)
_END_OF_SERVICE = RUNNING_REFUSALS[0]

# What bars each act, checked in order: (condition, refusal). An act not listed (acknowledge,
# settings, the clock) is allowed in every mode.
ACT_REFUSALS: dict[str, tuple[tuple[str, str], ...]] = {
    "program": (_END_OF_SERVICE,),
    "refill": (_END_OF_SERVICE,),
    "stop": (_END_OF_SERVICE,),
    "resume": (("running_on", "the pump is not stopped"),
               ("safe_state", "the pump is in its safe state ({safe_state})")),
    "give_bolus": RUNNING_REFUSALS,
    "patient bolus": RUNNING_REFUSALS,
    "prime": (("primed", "the catheter is already primed (prime after implant, a catheter "
                         "revision or a refill of an emptied reservoir only)"),
              *RUNNING_REFUSALS),
    # At a refill a low or empty reservoir is being cured and a bolus ends with it.
    "bridge bolus": RUNNING_REFUSALS[1:4],
    # The motor's stall detector (fault injection, `faults.Faults`).
    "start_motor_stall": (("stalled", "the motor is already stalled"),),
    "clear_motor_stall": (("turning", "the motor is not stalled"),),
}

# The conditions under which the pump runs at the model's minimum rate.
MINIMUM_RATE_CONDITIONS = ("stopped", "safe_state", "reservoir_empty")

# Firmware event -> the alarm it raises (if not already raised).
RAISED_BY: dict[str, AlarmKind] = {
    "motor stall": AlarmKind.MOTOR_STALL,
    "memory error": AlarmKind.MEMORY_ERROR,
    "low battery reset": AlarmKind.LOW_BATTERY_RESET,
    "reservoir empty": AlarmKind.RESERVOIR_EMPTY,
    "low reservoir": AlarmKind.LOW_RESERVOIR,
    "elective replacement": AlarmKind.ELECTIVE_REPLACEMENT,
    "end of service": AlarmKind.END_OF_SERVICE,
}

# Firmware event -> the alarms it clears (the event's name is logged as the reason).
CLEARED_BY: dict[str, tuple[AlarmKind, ...]] = {
    "reprogrammed": (AlarmKind.MEMORY_ERROR, AlarmKind.LOW_BATTERY_RESET),
    "motor turning again": (AlarmKind.MOTOR_STALL,),
}


@dataclass
class FirmwareState:
    """The firmware's mode flags and raised alarms (one per pump)."""

    stopped: bool = False
    stalled: bool = False
    stall_cause: str = ""
    end_of_service: bool = False
    elective_replacement: bool = False
    safe_state: str | None = None
    needs_priming: bool = True
    overlay: Overlay | None = None
    alarms: dict[AlarmKind, AlarmState] = field(default_factory=dict)

    @property
    def reservoir_empty(self) -> bool:
        return AlarmKind.RESERVOIR_EMPTY in self.alarms

    def _holds(self, condition: str) -> bool:
        value = getattr(self, condition)
        return value is not None and value is not False

    @property
    def mode(self) -> str:
        for condition, mode in MODE_TABLE:
            if self._holds(condition):
                return mode.format(overlay=self.overlay, safe_state=self.safe_state)
        return RUNNING

    def at_minimum_rate(self) -> bool:
        # MINIMUM_RATE_CONDITIONS, spelt out: the time engine asks this at every segment.
        return (self.stopped or self.safe_state is not None
                or AlarmKind.RESERVOIR_EMPTY in self.alarms)

    @property
    def running_on(self) -> bool:
        return not self.stopped

    @property
    def primed(self) -> bool:
        return not self.needs_priming

    @property
    def turning(self) -> bool:
        return not self.stalled

    def refusal(self, act: str) -> str | None:
        """Why `act` cannot be done now (`ACT_REFUSALS`); None: it can."""
        for condition, reason in ACT_REFUSALS.get(act, ()):
            if self._holds(condition):
                return reason.format(overlay=self.overlay, safe_state=self.safe_state)
        return None


__all__ = [
    "ACT_REFUSALS",
    "CLEARED_BY",
    "MINIMUM_RATE_CONDITIONS",
    "MODE_TABLE",
    "RAISED_BY",
    "RUNNING_REFUSALS",
    "FirmwareState",
]
