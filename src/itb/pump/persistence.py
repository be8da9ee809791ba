"""A pump's whole state as JSON-able data and back (exact: Fractions as text, ints as ints).

The format is the one `itb pump serve` keeps in its state folder; `format` 1.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.pump.acts import ClinicalActs
from itb.pump.alarms import AlarmState
from itb.pump.eventlog import EventLog
from itb.pump.memory import NonVolatileMemory
from itb.pump.physical import PocketDeposit
from itb.pump.programs import program_from_dict, program_to_dict, validate_program
from itb.pump.records import CommandedSegment, Overlay


def pump_to_state(pump: ClinicalActs) -> dict[str, Any]:
    """Everything, JSON-able and exact (Fractions as text, volumes and times as ints)."""
    st = pump.state
    ov = st.overlay
    return {
        "format": 1, "model": pump.model.name, "serial": pump.serial,
        "implant_s": pump.implant_s, "now_s": pump.now_s, "clock_error_s": pump.clock_error_s,
        "physical": pump.physical.to_state(), "ideal_units": pump.ideal_units,
        "strokes": pump.strokes,
        "strokes_by_dose_concentration": [[str(c), n] for c, n in
                                          pump.strokes_by_dose_concentration],
        "estimate_offset_nl": pump.estimate_offset_nl, "fw_filled_nl": pump.fw_filled_nl,
        "fw_withdrawn_nl": pump.fw_withdrawn_nl,
        "concentration_mcg_per_ml": str(pump.concentration_mcg_per_ml),
        "program": (None if pump.active_program is None
                    else program_to_dict(pump.active_program)),
        "low_reservoir_alarm_nl": pump.low_reservoir_alarm_nl,
        "catheter_volume_nl": pump.catheter_volume_nl, "stopped": st.stopped,
        "stalled": st.stalled, "stall_cause": st.stall_cause,
        "end_of_service": st.end_of_service,
        "elective_replacement": st.elective_replacement, "safe_state": st.safe_state,
        "needs_priming": st.needs_priming,
        "overlay": None if ov is None else {
            "kind": ov.kind, "started_s": ov.started_s, "pieces": [list(p) for p in ov.pieces],
            "volume_nl": ov.volume_nl, "dose_mcg_per_ml": str(ov.dose_mcg_per_ml)},
        "alarms": [a.to_state() for a in st.alarms.values()],
        "log": pump.log.to_state(), "nvm": pump.nvm.to_state(),
        "history": [[s.start_s, s.end_s, s.flow_nl_per_day, str(s.dose_mcg_per_ml),
                     str(s.limit_mcg)] for s in pump.history],
        "patient_boluses": [list(p) for p in pump.patient_boluses],
        "last_patient_bolus_s": pump.last_patient_bolus_s,
        "pending_deposits": [[d.time_s, d.volume_nl, str(d.mcg)]
                             for d in pump.pending_deposits],
    }


def check_format(data: dict[str, Any]) -> None:
    if data.get("format") != 1:
        raise InvalidInput("format", data.get("format"), "1")


def load_state(pump: ClinicalActs, data: dict[str, Any]) -> None:
    """Fill a pump just built from `data`'s model, serial, implant time and physical pump."""
    pump.now_s = int(data["now_s"])
    pump.clock_error_s = int(data["clock_error_s"])
    pump.ideal_units = int(data["ideal_units"])
    pump.strokes = int(data["strokes"])
    pump.strokes_by_dose_concentration = [
        [Fraction(c), int(n)] for c, n in data["strokes_by_dose_concentration"]]
    pump.estimate_offset_nl = int(data["estimate_offset_nl"])
    pump.fw_filled_nl = int(data["fw_filled_nl"])
    pump.fw_withdrawn_nl = int(data["fw_withdrawn_nl"])
    pump.concentration_mcg_per_ml = Fraction(data["concentration_mcg_per_ml"])
    pump.low_reservoir_alarm_nl = int(data["low_reservoir_alarm_nl"])
    if data["program"] is not None:
        pump.active_program = program_from_dict(data["program"])
        pump.schedule = validate_program(pump.active_program, pump.model,
                                         pump.concentration_mcg_per_ml, limits_set_now=False)
    pump.catheter_volume_nl = int(data["catheter_volume_nl"])
    st = pump.state
    for flag in ("stopped", "stalled", "end_of_service", "elective_replacement",
                 "needs_priming"):
        setattr(st, flag, bool(data[flag]))
    st.stall_cause = str(data["stall_cause"])
    st.safe_state = data["safe_state"]
    ov = data["overlay"]
    if ov is not None:
        st.overlay = Overlay(str(ov["kind"]), int(ov["started_s"]),
                             tuple((int(e), int(f)) for e, f in ov["pieces"]),
                             int(ov["volume_nl"]), Fraction(ov["dose_mcg_per_ml"]))
    for a in data["alarms"]:
        alarm = AlarmState.from_state(a)
        st.alarms[alarm.kind] = alarm
    pump.log = EventLog.from_state(data["log"])
    pump.nvm = NonVolatileMemory.from_state(data["nvm"])
    pump.history = deque(CommandedSegment(int(a), int(b), int(f), Fraction(c), Fraction(lim))
                         for a, b, f, c, lim in data["history"])
    pump.patient_boluses = deque((int(a), int(b)) for a, b in data["patient_boluses"])
    last = data["last_patient_bolus_s"]
    pump.last_patient_bolus_s = None if last is None else int(last)
    pump.pending_deposits = [PocketDeposit(int(t), int(v), Fraction(m))
                             for t, v, m in data["pending_deposits"]]
