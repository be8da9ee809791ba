"""The implanted pump: firmware (belief) driving a physical pump (truth), event by event.

`Pump` is the one aggregate and a thin facade over its parts:
- `state.FirmwareState`: the firmware's modes and alarms, as tables (what it may know);
- `engine.TimeEngine`: time, moving only through `advance(to)`, one segment arithmetic;
- `limits.DoseLimits`: the 24 h maximum-daily-dose check;
- `acts.ClinicalActs`: every clinical act, a method named for it (`program`, `refill`,
  `give_bolus`, ...), which validates everything first and changes nothing if it refuses;
- `physical.PhysicalPump`: the truth, which the firmware never reads;
- `faults.Faults` (`pump.faults`): failures injected into the physical layer;
- `persistence`: the whole state as exact JSON-able data.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import datetime
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.pump.acts import ClinicalActs
from itb.pump.catalogue import PumpModel, get_model
from itb.pump.eventlog import IMPLANTED, EventLog, LogEntry
from itb.pump.faults import Faults
from itb.pump.memory import NonVolatileMemory
from itb.pump.persistence import check_format, load_state, pump_to_state
from itb.pump.physical import PhysicalPump, PocketDeposit, mcg_in
from itb.pump.programs import Program, RateSchedule, validate_program
from itb.pump.records import (
    COMMAND_LOG_KIND,
    DAY_S,
    DEFAULT_CATHETER_VOLUME_NL,
    MAX_BOLUS_DURATION_S,
    MAX_CATHETER_VOLUME_NL,
    AdvanceReport,
    CommandedSegment,
    DeliverySegment,
    PatientBolusOutcome,
    PumpStatus,
    RefillReport,
    positive_concentration,
    to_datetime,
    to_seconds,
    whole_nl,
)
from itb.pump.state import FirmwareState


class _OnState:
    """A `Pump` attribute that lives on its `FirmwareState` (for readers outside the pump)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, pump: Pump | None, owner: type | None = None) -> Any:
        return self if pump is None else getattr(pump.state, self.name)

    def __set__(self, pump: Pump, value: Any) -> None:
        setattr(pump.state, self.name, value)


class Pump(ClinicalActs):
    """One implanted pump: firmware state plus its physical pump. Build it with `implant`."""

    # The firmware's flags, kept on `self.state` (FirmwareState), readable here as before.
    stopped = _OnState()
    stalled = _OnState()
    stall_cause = _OnState()
    end_of_service = _OnState()
    elective_replacement = _OnState()
    safe_state = _OnState()
    needs_priming = _OnState()
    overlay = _OnState()
    alarms = _OnState()

    def __init__(self, model: PumpModel, serial: str, implant_s: int,
                 physical: PhysicalPump) -> None:
        self.model = model
        self.serial = serial
        self.implant_s = implant_s
        self.now_s = implant_s
        self.clock_error_s = 0
        self.physical = physical
        self.state = FirmwareState()
        self.ideal_units = 0
        self.strokes = 0
        # [[concentration the dose is counted at, strokes], ...], last entry = current run.
        self.strokes_by_dose_concentration: list[list[Any]] = []
        self.estimate_offset_nl = 0  # reservoir estimate = offset − strokes × nominal stroke
        self.fw_filled_nl = 0
        self.fw_withdrawn_nl = 0
        self.concentration_mcg_per_ml = Fraction(0)
        self.active_program: Program | None = None  # `program(...)` is the act that sets it
        self.schedule: RateSchedule | None = None
        self.low_reservoir_alarm_nl = model.low_reservoir_alarm_default_nl
        self.catheter_volume_nl = DEFAULT_CATHETER_VOLUME_NL
        self.log = EventLog()
        self.nvm = NonVolatileMemory()
        self.history: deque[CommandedSegment] = deque()
        self.patient_boluses: deque[tuple[int, int]] = deque()
        self.last_patient_bolus_s: int | None = None
        self.pending_deposits: list[PocketDeposit] = []
        self._cache_valid = False
        self._stroke_event_at = 0
        self._fixed_event_s = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def implant(cls, model: str | PumpModel, *, serial: str, at: datetime, fill_nl: int,
                concentration_mcg_per_ml: Fraction, program: Program, seed: int = 0,
                catheter_volume_nl: int = DEFAULT_CATHETER_VOLUME_NL,
                low_reservoir_alarm_nl: int | None = None) -> Pump:
        """A freshly implanted pump, filled, programmed, with saline in tubing and catheter.

        Give the priming bolus (`prime`) next so that drug reaches the catheter tip.
        `seed` draws this pump's stroke calibration and drift (reproducible).
        """
        pump_model = model if isinstance(model, PumpModel) else get_model(model)
        if not isinstance(serial, str) or not serial.strip() or len(serial) > 64:
            raise InvalidInput("serial", serial, "1 to 64 characters")
        at_s = to_seconds("at", at)
        whole_nl("fill_nl", fill_nl, 0, pump_model.reservoir_capacity_nl)
        conc = positive_concentration("concentration_mcg_per_ml", concentration_mcg_per_ml)
        whole_nl("catheter_volume_nl", catheter_volume_nl, 0, MAX_CATHETER_VOLUME_NL)
        alarm_nl = pump_model.low_reservoir_alarm_default_nl if low_reservoir_alarm_nl is None \
            else low_reservoir_alarm_nl
        whole_nl("low_reservoir_alarm_nl", alarm_nl, pump_model.low_reservoir_alarm_min_nl,
                  pump_model.low_reservoir_alarm_max_nl)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidInput("seed", seed, "a whole number")
        schedule = validate_program(program, pump_model, conc)
        rng = random.Random(seed)
        spread = pump_model.calibration_spread_ppm
        drift = pump_model.max_drift_ppm_per_year
        physical = PhysicalPump(
            model=pump_model, implant_s=at_s,
            calibration_ppm=rng.randint(-spread, spread),
            drift_ppm_per_year=rng.randint(-drift, drift),
            reservoir_nl=fill_nl, reservoir_mcg_per_ml=conc, next_drift_s=at_s,
            battery_nc=pump_model.battery_usable_nc,
            filled_nl=fill_nl, filled_mcg=mcg_in(fill_nl, conc),
        )
        physical.update_drift(at_s)
        # At implant the tubing and catheter hold saline (no drug), which priming pushes out.
        physical.fifo.append([pump_model.tubing_volume_nl + catheter_volume_nl, Fraction(0)])
        pump = cls(pump_model, serial.strip(), at_s, physical)
        pump.catheter_volume_nl = catheter_volume_nl
        pump.low_reservoir_alarm_nl = alarm_nl
        pump.concentration_mcg_per_ml = conc
        pump.estimate_offset_nl = fill_nl
        pump.fw_filled_nl = fill_nl
        pump.active_program = program
        pump.schedule = schedule
        pump.nvm.write(pump._settings_payload(program, conc, alarm_nl))
        pump._log(IMPLANTED, model=pump_model.name, serial=pump.serial,
                  fill_nl=fill_nl, concentration_mcg_per_ml=conc)
        pump._log_program(program)
        pump._evaluate_conditions()
        return pump

    @property
    def faults(self) -> Faults:
        """Failures to inject into the physical pump (`occlude_catheter`, ...)."""
        return Faults(self)

    @property
    def mode(self) -> str:
        return self.state.mode

    @property
    def commanded_nl(self) -> int:
        return self.strokes * self.model.nominal_stroke_nl

    @property
    def commanded_mcg(self) -> Fraction:
        """The firmware's count of drug delivered (strokes × nominal stroke × concentration)."""
        return sum((mcg_in(n * self.model.nominal_stroke_nl, c)
                    for c, n in self.strokes_by_dose_concentration), Fraction(0))

    @property
    def ideal_nl(self) -> Fraction:
        return Fraction(self.ideal_units, DAY_S)

    # ------------------------------------------------------------------ interrogation
    def status(self) -> PumpStatus:
        if self.state.end_of_service:
            battery = "end_of_service"
        elif self.state.elective_replacement:
            battery = "elective_replacement"
        else:
            battery = "ok"
        left = Fraction(max(0, self.physical.battery_nc), self.model.battery_usable_nc)
        return PumpStatus(
            serial=self.serial, model=self.model.name, implant_date=to_datetime(self.implant_s),
            clock=to_datetime(self.firmware_clock_s), battery_state=battery,
            battery_remaining_fraction=left, reservoir_estimate_nl=self.reservoir_estimate_nl,
            concentration_mcg_per_ml=self.concentration_mcg_per_ml, program=self.active_program,
            mode=self.mode,
            alarms=tuple((a.kind.value, a.kind.critical, a.sounding_from_s is not None)
                         for a in self.state.alarms.values()),
            log_length=len(self.log), log_next_index=self.log.next_index,
            log_overflowed=self.log.overflowed)

    def log_since(self, index: int, limit: int = 100) -> list[LogEntry]:
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidInput("index", index, "a whole number ≥ 0")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 4096:
            raise InvalidInput("limit", limit, "1 to 4096")
        return self.log.since(index, limit)

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> dict[str, Any]:
        """Everything, JSON-able and exact (Fractions as text, volumes and times as ints)."""
        return pump_to_state(self)

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Pump:
        check_format(data)
        model = get_model(data["model"])
        pump = cls(model, str(data["serial"]), int(data["implant_s"]),
                   PhysicalPump.from_state(model, data["physical"]))
        load_state(pump, data)
        return pump


__all__ = [
    "COMMAND_LOG_KIND",
    "DEFAULT_CATHETER_VOLUME_NL",
    "MAX_BOLUS_DURATION_S",
    "MAX_CATHETER_VOLUME_NL",
    "AdvanceReport",
    "CommandedSegment",
    "DeliverySegment",
    "PatientBolusOutcome",
    "Pump",
    "PumpStatus",
    "RefillReport",
    "to_datetime",
    "to_seconds",
]
