"""The firmware's clinical acts: each validates everything first and changes nothing if
it refuses (`ActRefused`, `LimitExceeded`, `InvalidInput`), then changes the firmware's
state in one place and logs the act.
"""

from __future__ import annotations

import json
from datetime import datetime
from fractions import Fraction

from itb.errors import InvalidInput
from itb.pump.alarms import AlarmKind
from itb.pump.engine import TimeEngine
from itb.pump.errors import ActRefused, LimitExceeded, ProgramNotCommitted
from itb.pump.eventlog import PROGRAM_CHANGED, REFILL, LogEntry
from itb.pump.limits import DoseLimits
from itb.pump.memory import NonVolatileMemory, WriteFault
from itb.pump.programs import (
    Program,
    RateSchedule,
    bolus_segments,
    program_from_dict,
    program_to_dict,
    validate_program,
    volume_for_dose,
)
from itb.pump.records import (
    COMMAND_LOG_KIND,
    DAY_S,
    DEFAULT_CATHETER_VOLUME_NL,
    MAX_BOLUS_DURATION_S,
    MAX_CATHETER_VOLUME_NL,
    Overlay,
    PatientBolusOutcome,
    RefillReport,
    positive_concentration,
    to_datetime,
    to_seconds,
    whole_nl,
)
from itb.therapy.units import display


class ClinicalActs(TimeEngine, DoseLimits):
    """Mixin of `Pump`: the acts a clinician, a patient or the telemetry host asks for."""

    serial: str
    nvm: NonVolatileMemory
    catheter_volume_nl: int
    fw_filled_nl: int
    fw_withdrawn_nl: int
    last_patient_bolus_s: int | None

    def _settings_payload(self, program: Program, conc: Fraction, alarm_nl: int) -> bytes:
        return json.dumps({"program": program_to_dict(program), "concentration": str(conc),
                           "low_reservoir_alarm_nl": alarm_nl}, sort_keys=True).encode()

    def _current_payload(self) -> bytes:
        assert self.active_program is not None
        return self._settings_payload(self.active_program, self.concentration_mcg_per_ml,
                                      self.low_reservoir_alarm_nl)

    def program(self, program: Program, *, write_fault: WriteFault | None = None,
                cancel_bridge_reason: str | None = None) -> None:
        """Install a new program: validate, check limits, write NVM (inactive slot), switch.

        An active clinician or patient bolus ends. A bridge bolus runs on to its end (it
        pushes out the old-strength drug in the catheter, whatever the program) unless
        `cancel_bridge_reason` says why the clinician ends it (issue 9.4). With an injected
        write fault the firmware reboots from the memory: the old program stays in force
        (ProgramNotCommitted) unless the fault came after the commit.
        """
        self._require("program")
        schedule = validate_program(program, self.model, self.concentration_mcg_per_ml)
        keep = self._bridge_kept(cancel_bridge_reason)
        # After the change the pump runs the program (a stop or safe state ends), unless the
        # reservoir is empty.
        self._check_limits("program", schedule, keep, self.concentration_mcg_per_ml, program,
                           minimum_rate=AlarmKind.RESERVOIR_EMPTY in self.state.alarms)
        payload = self._settings_payload(program, self.concentration_mcg_per_ml,
                                         self.low_reservoir_alarm_nl)
        if write_fault is not None:
            steps = len(NonVolatileMemory.write_steps(0, payload))
            if not isinstance(write_fault, WriteFault) or not 0 <= write_fault.step < steps \
                    or write_fault.kind not in ("power_loss", "bit_flip"):
                raise InvalidInput("write_fault", write_fault,
                                   f"a WriteFault at step 0 to {steps - 1}, power_loss or bit_flip")
        _slot, power_lost = self.nvm.write(payload, write_fault)
        if power_lost:
            self._log("power_on_reset", reason="power lost during memory write")
            self._boot_from_memory()
            raise ProgramNotCommitted(write_fault.step if write_fault else -1)
        record = self.nvm.active()
        if record is None or record.payload != payload:
            # Read-back failed: the new slot is not valid, so the previous one stays in force.
            self._log("memory_write_failed", reason="read-back CRC mismatch")
            self._boot_from_memory()
            raise ProgramNotCommitted(write_fault.step if write_fault else -1)
        if keep is None:
            self._cancel_overlay("program changed" if cancel_bridge_reason is None
                                 else f"program changed; cancelled: {cancel_bridge_reason}")
        self.active_program = program
        self.schedule = schedule
        self.state.stopped = False
        if self.state.safe_state is not None:
            self.state.safe_state = None
            self._clear_for("reprogrammed")
        self._log_program(program)
        self._cache_valid = False

    def _log_program(self, program: Program) -> None:
        """The program now in force, whole, in the event log (for a programmer reading it)."""
        self._log(PROGRAM_CHANGED, program=json.dumps(program_to_dict(program), sort_keys=True))

    def _bridge_kept(self, cancel_reason: str | None) -> Overlay | None:
        """The bridge bolus that a program change leaves running (None: nothing runs on)."""
        if cancel_reason is not None and (not isinstance(cancel_reason, str)
                                          or not cancel_reason.strip()
                                          or len(cancel_reason) > 500):
            raise InvalidInput("cancel_bridge_reason", repr(cancel_reason)[:40],
                               "1 to 500 characters saying why the bridge bolus ends")
        overlay = self.state.overlay
        if overlay is None or overlay.kind != "bridge" or cancel_reason is not None:
            return None
        return overlay

    def _boot_from_memory(self) -> None:
        """After a reset: the newest valid slot is in force; none valid -> memory error."""
        self._cancel_overlay("reset")
        record = self.nvm.active()
        if record is None:
            self._enter_memory_error("no valid program in memory")
            return
        data = json.loads(record.payload)
        program = program_from_dict(data["program"])
        conc = Fraction(data["concentration"])
        self.active_program = program
        self.concentration_mcg_per_ml = conc
        self.low_reservoir_alarm_nl = int(data["low_reservoir_alarm_nl"])
        self.schedule = validate_program(program, self.model, conc, limits_set_now=False)
        self._cache_valid = False

    def _enter_memory_error(self, reason: str) -> None:
        self.state.safe_state = "memory_error"
        self._cancel_overlay("memory error")
        self._log("memory_fault", reason=reason, safe_state="minimum rate")
        self._raise_for("memory error")
        self._cache_valid = False

    def _require(self, act: str) -> None:
        """Refuse `act` if the firmware's mode bars it (`state.ACT_REFUSALS`)."""
        reason = self.state.refusal(act)
        if reason is not None:
            raise ActRefused(act, reason)

    def _bolus_overlay(self, kind: str, field_prefix: str, dose_mcg: Fraction,
                       duration_s: int) -> Overlay:
        assert self.active_program is not None
        if not isinstance(dose_mcg, Fraction):  # a float 10.0 is not "over the limit"
            raise InvalidInput(f"{field_prefix}dose_mcg", dose_mcg, "an exact Fraction of mcg",
                               "binary floats are not exact")
        if dose_mcg <= 0 or dose_mcg > self.active_program.limits.max_bolus_mcg:
            raise LimitExceeded(f"{field_prefix}dose_mcg", dose_mcg,
                                f"more than 0 to "
                                f"{display(self.active_program.limits.max_bolus_mcg)} mcg "
                                "(the program's maximum bolus)")
        if isinstance(duration_s, bool) or not isinstance(duration_s, int) \
                or not 60 <= duration_s <= MAX_BOLUS_DURATION_S:
            raise InvalidInput(f"{field_prefix}duration_s", duration_s,
                               f"60 to {MAX_BOLUS_DURATION_S} s")
        volume = volume_for_dose(f"{field_prefix}dose_mcg", dose_mcg, self.concentration_mcg_per_ml)
        if volume * DAY_S > self.model.max_flow_nl_per_day * duration_s:
            shortest = -(-volume * DAY_S // self.model.max_flow_nl_per_day)
            raise InvalidInput(f"{field_prefix}duration_s", f"{duration_s} s",
                               f"at least {shortest} s for {display(dose_mcg)} mcg "
                               "(the model's maximum flow)")
        return self._overlay(kind, volume, duration_s, self.concentration_mcg_per_ml)

    def _overlay(self, kind: str, volume_nl: int, duration_s: int, dose_conc: Fraction) -> Overlay:
        t = self.now_s
        pieces = []
        for length, flow in bolus_segments(volume_nl, duration_s):
            t += length
            pieces.append((t, flow))
        return Overlay(kind, self.now_s, tuple(pieces), volume_nl, dose_conc)

    def give_bolus(self, dose_mcg: Fraction, duration_s: int) -> None:
        """A single (clinician) bolus over `duration_s`, then back to the base program."""
        self._require("give_bolus")
        assert self.active_program is not None
        overlay = self._bolus_overlay("clinician", "", dose_mcg, duration_s)
        self._check_limits("dose_mcg", self.schedule, overlay, self.concentration_mcg_per_ml,
                           self.active_program)
        self.state.overlay = overlay
        self._log("bolus_given", source="clinician", dose_mcg=dose_mcg, duration_s=duration_s)
        self._cache_valid = False

    def request_patient_bolus(self) -> PatientBolusOutcome:
        """A patient-activated bolus request; a refusal is logged with its reason."""
        now = self.now_s
        settings = self.active_program.patient_bolus if self.active_program else None
        reason = ""
        if settings is None:
            reason = "no patient bolus is programmed"
        else:
            try:
                self._require("patient bolus")
            except ActRefused as refused:
                reason = refused.reason
        if not reason and settings is not None:
            while self.patient_boluses and self.patient_boluses[0][1] <= now - DAY_S:
                self.patient_boluses.popleft()
            last = self.last_patient_bolus_s
            if last is not None and now - last < settings.lockout_s:
                reason = f"lockout: {settings.lockout_s - (now - last)} s left"
            elif len(self.patient_boluses) >= settings.max_per_24h:
                reason = f"maximum of {settings.max_per_24h} boluses in 24 h reached"
        if reason or settings is None:
            self._log("bolus_refused", source="patient", reason=reason)
            return PatientBolusOutcome(False, reason)
        overlay = self._bolus_overlay("patient", "patient_bolus.", settings.dose_mcg,
                                      self.model.patient_bolus_duration_s)
        self.state.overlay = overlay
        self.patient_boluses.append((now, overlay.end_s))
        self.last_patient_bolus_s = now
        self._log("bolus_given", source="patient", dose_mcg=settings.dose_mcg)
        self._cache_valid = False
        return PatientBolusOutcome(True, "given")

    def prime(self, volume_nl: int | None = None) -> None:
        """Priming bolus: fill pump tubing and catheter at the maximum flow.

        Allowed only after implant or a catheter revision. It pushes out what the dead volume
        held (saline), so the firmware does not count it as a dose.
        """
        self._require("prime")
        dead = self.model.tubing_volume_nl + self.catheter_volume_nl
        volume = dead if volume_nl is None else whole_nl("volume_nl", volume_nl, 1, dead)
        duration = -(-volume * DAY_S // self.model.max_flow_nl_per_day)
        self.state.overlay = self._overlay("priming", volume, duration, Fraction(0))
        self.state.needs_priming = False
        self._log("bolus_given", source="priming", volume_nl=volume, duration_s=duration)
        self._cache_valid = False

    def stop(self) -> None:
        """Stop the pump: it runs at the minimum rate (devices.md: about 0.048 mL/day)."""
        self._require("stop")
        self._cancel_overlay("pump stopped")
        self.state.stopped = True
        self._log("pump_stopped")
        self._cache_valid = False

    def resume(self) -> None:
        """Resume the programmed therapy after `stop`."""
        self._require("resume")
        assert self.active_program is not None
        self.state.stopped = False
        try:
            self._check_limits("resume", self.schedule, None, self.concentration_mcg_per_ml,
                               self.active_program)
        except LimitExceeded:
            self.state.stopped = True
            raise
        self._log("pump_resumed")
        self._cache_valid = False

    def refill(self, *, added_nl: int, concentration_mcg_per_ml: Fraction,
               withdrawn_nl: int | None = None, pocket_fill_nl: int = 0,
               true_concentration_mcg_per_ml: Fraction | None = None,
               bridge_bolus: bool = False) -> RefillReport:
        """Empty (or partly empty) the reservoir and add drug.

        `withdrawn_nl` is the syringe reading (None: the reservoir is emptied and read
        exactly); the physical layer decides what really comes out and goes in
        (`PhysicalPump.refill`). Injected errors: `pocket_fill_nl` of the
        added drug goes into the subcutaneous pocket (the firmware still believes it filled
        the reservoir); `true_concentration_mcg_per_ml` differs from the one programmed. With
        `bridge_bolus`, the old drug in tubing and catheter is pushed out at the old daily
        dose's flow before the new concentration's rates start.
        """
        self._require("refill")
        was_empty = AlarmKind.RESERVOIR_EMPTY in self.state.alarms
        conc = positive_concentration("concentration_mcg_per_ml", concentration_mcg_per_ml)
        true_conc = conc if true_concentration_mcg_per_ml is None else positive_concentration(
            "true_concentration_mcg_per_ml", true_concentration_mcg_per_ml)
        phys = self.physical
        cap = self.model.reservoir_capacity_nl
        # The firmware checks the readings against what a pump can know (its capacity),
        # never against the true volume: the physical layer decides what really happens.
        if withdrawn_nl is not None:
            whole_nl("withdrawn_nl", withdrawn_nl, 0, cap)
        whole_nl("added_nl", added_nl, 0, cap)
        whole_nl("pocket_fill_nl", pocket_fill_nl, 0, added_nl)
        assert self.active_program is not None
        schedule = validate_program(self.active_program, self.model, conc, limits_set_now=False)
        old_conc = self.concentration_mcg_per_ml
        overlay = self._bridge_overlay(conc, schedule) if bridge_bolus else None
        # All checks passed: apply atomically.
        expected = self.reservoir_estimate_nl
        truth = phys.refill(self.now_s, withdrawn_nl, added_nl, pocket_fill_nl, true_conc)
        deposit = truth.pocket_deposit
        if deposit is not None:
            self.pending_deposits.append(deposit)
        # The firmware is told the syringe reading and the volume added; the procedure
        # empties the reservoir first, so it believes the reservoir now holds what was added.
        withdrawn = truth.withdrawn_nl if withdrawn_nl is None else withdrawn_nl
        new_estimate = added_nl
        self.fw_withdrawn_nl += expected
        self.fw_filled_nl += added_nl
        self.estimate_offset_nl = new_estimate + self.strokes * self.model.nominal_stroke_nl
        self._cancel_overlay("refill")
        self.concentration_mcg_per_ml = conc
        self.schedule = schedule
        self.nvm.write(self._current_payload())
        self._log(REFILL, expected_residual_nl=expected, withdrawn_nl=withdrawn,
                  added_nl=added_nl, concentration_mcg_per_ml=conc, estimate_nl=new_estimate)
        if new_estimate > self.model.empty_reservoir_nl:
            self._clear(AlarmKind.RESERVOIR_EMPTY, "refilled")
            # After an emptied reservoir a priming bolus may bring the new drug to the tip
            # (the manufacturer's priming bolus; its use after an empty reservoir is
            # *unconfirmed*): the firmware knows only its own empty alarm.
            self.state.needs_priming = self.state.needs_priming or was_empty
        if new_estimate > self.low_reservoir_alarm_nl:
            self._clear(AlarmKind.LOW_RESERVOIR, "refilled")
        if overlay is not None:
            self.state.overlay = overlay
            self._log("bolus_given", source="bridge", volume_nl=overlay.volume_nl,
                      old_concentration_mcg_per_ml=old_conc)
        self._cache_valid = False
        self._evaluate_conditions()
        return RefillReport(self.now_s, expected, withdrawn, withdrawn - max(0, expected),
                            added_nl, conc, new_estimate, deposit, overlay is not None,
                            truth.left_in_syringe_nl)

    def _bridge_overlay(self, conc: Fraction, schedule: RateSchedule) -> Overlay:
        """The bridge bolus of a refill to `conc`: the old drug in tubing and catheter pushed
        out at the old daily dose's flow (checked against the limits; nothing changes yet)."""
        old_conc = self.concentration_mcg_per_ml
        if conc == old_conc:
            raise InvalidInput("bridge_bolus", True, "only with a change of concentration")
        # The refill itself clears a low or empty reservoir, so only the other states bar it.
        # (A bolus in progress ends with the refill.)
        self._require("bridge bolus")
        assert self.schedule is not None and self.active_program is not None
        old_flow = int(self.schedule.daily_total_nl())  # floor: never above the old dose
        volume = self.model.tubing_volume_nl + self.catheter_volume_nl
        duration = -(-volume * DAY_S // old_flow)
        overlay = self._overlay("bridge", volume, duration, old_conc)
        self._check_limits("bridge_bolus", schedule, overlay, conc, self.active_program,
                           minimum_rate=False)
        return overlay

    def acknowledge_alarm(self, kind: AlarmKind | None = None) -> int:
        """Silence sounding alarms (one kind or all); they re-arm later if the cause persists."""
        if kind is not None and not isinstance(kind, AlarmKind):
            raise InvalidInput("kind", kind,
                               "an AlarmKind: " + ", ".join(k.value for k in AlarmKind))
        targets = [a for a in self.state.alarms.values()
                   if a.sounding_from_s is not None and (kind is None or a.kind == kind)]
        for alarm in targets:
            alarm.acknowledge(self.now_s, self.model)
            self._log("alarm_acknowledged", kind=alarm.kind.value)
        self._cache_valid = False
        return len(targets)

    def set_clock(self, clock_reads: datetime) -> None:
        """Set the pump clock so that it now reads `clock_reads`."""
        reads_s = to_seconds("clock_reads", clock_reads)
        if abs(reads_s - self.now_s) > 366 * DAY_S:
            raise InvalidInput("clock_reads", clock_reads.isoformat(), "within a year of true time")
        old = self.firmware_clock_s
        self.clock_error_s = reads_s - self.now_s
        self._log("clock_set", old=to_datetime(old).isoformat(), new=clock_reads.isoformat())
        self._cache_valid = False

    def set_alarm_volume(self, low_reservoir_alarm_nl: int) -> None:
        """Set the clinician's low-reservoir alarm volume (within the model's range)."""
        whole_nl("low_reservoir_alarm_nl", low_reservoir_alarm_nl,
                  self.model.low_reservoir_alarm_min_nl, self.model.low_reservoir_alarm_max_nl)
        self.low_reservoir_alarm_nl = low_reservoir_alarm_nl
        if self.active_program is not None:
            self.nvm.write(self._current_payload())
        self._log("alarm_volume_set", low_reservoir_alarm_nl=low_reservoir_alarm_nl)
        if self.reservoir_estimate_nl > low_reservoir_alarm_nl:
            self._clear(AlarmKind.LOW_RESERVOIR, "alarm volume changed")
        self._cache_valid = False
        self._evaluate_conditions()

    def set_catheter_volume(self, catheter_volume_nl: int) -> None:
        """Store the implanted catheter's volume (from the implant or revision record).

        Only the firmware's figure changes: the pump uses it for its priming and bridge
        boluses. The real catheter is the physical layer's (`revise_catheter` is the surgery).
        """
        whole_nl("catheter_volume_nl", catheter_volume_nl, 0, MAX_CATHETER_VOLUME_NL)
        old = self.catheter_volume_nl
        self.catheter_volume_nl = catheter_volume_nl
        self._log("catheter_volume_set", old_nl=old, catheter_volume_nl=catheter_volume_nl)
        self._cache_valid = False

    def telemetry_session(self, programmer_id: str, role: str = "clinician") -> None:
        """Called by the telemetry layer for each wand session: logs it and costs battery."""
        if not isinstance(programmer_id, str) or not programmer_id or len(programmer_id) > 128:
            raise InvalidInput("programmer_id", programmer_id, "1 to 128 characters")
        if not isinstance(role, str) or not role or len(role) > 64:
            raise InvalidInput("role", role, "1 to 64 characters")
        self.physical.battery_nc -= self.model.telemetry_session_charge_nc
        self._log("telemetry_session", programmer_id=programmer_id, role=role)
        self._cache_valid = False
        self._evaluate_conditions()

    def record_command(self, command_id: str, act: str) -> LogEntry:
        """Log the telemetry command id of the act just carried out (same firmware instant),
        so a retry is answered from the log and a lost answer can be looked up."""
        return self._log(COMMAND_LOG_KIND, command_id=command_id, act=act)

    def find_command(self, command_id: str) -> LogEntry | None:
        """The log entry of `command_id`, if the log still holds it."""
        for entry in reversed(self.log.entries()):
            if entry.kind == COMMAND_LOG_KIND and dict(entry.details).get("command_id") \
                    == command_id:
                return entry
        return None

    def revise_catheter(self, catheter_volume_nl: int = DEFAULT_CATHETER_VOLUME_NL) -> None:
        """Surgical catheter revision: a new, patent catheter full of saline; prime it next."""
        whole_nl("catheter_volume_nl", catheter_volume_nl, 0, MAX_CATHETER_VOLUME_NL)
        self.physical.replace_catheter(catheter_volume_nl)
        self.catheter_volume_nl = catheter_volume_nl
        self.state.needs_priming = True
        self._log("catheter_revised", catheter_volume_nl=catheter_volume_nl)
        self._cache_valid = False

    def memory_self_test(self) -> bool:
        """Compare the program in force with memory; a mismatch enters the safe state."""
        record = self.nvm.active()
        if self.active_program is None:
            return True
        if record is None or record.payload != self._current_payload():
            self._enter_memory_error("stored program fails its CRC or differs from the one in use")
            return False
        return True

    def restored_from_backup(self, reason: str) -> None:
        """The host started this pump from its previous saved copy (telemetry issue 17.8).

        Logged, and the critical memory-error alarm sounds so that a clinician interrogates
        the pump; the program keeps running (the copy is the last good save, and a stop
        would risk withdrawal). Reprogramming clears the alarm, as for any memory error.
        """
        self._log("memory_fault", reason=reason[:200], safe_state="none: the copy runs")
        self._raise_for("memory error")


    # ------------------------------------------------------------------ what the sensors report
    # Called by the physical layer's fault injection (`faults.Faults`), never by a clinician.
    def _sense_physical_change(self) -> None:
        """The truth changed where the firmware has no sensor (the catheter): it only
        recomputes its next events, which rest on the physical pump's strokes."""
        self._cache_valid = False

    def _sense_motor_stall(self, cause: str) -> None:
        """The stall detector trips: delivery stops, the bolus ends, the alarm sounds."""
        self._require("start_motor_stall")
        self.state.stalled = True
        self.state.stall_cause = cause
        self._cancel_overlay("motor stall")
        self._log("motor_stall", cause=cause)
        self._raise_for("motor stall", again=True)

    def _sense_motor_turning(self) -> None:
        """The stall detector sees the motor turn again: the alarm clears."""
        self._require("clear_motor_stall")
        self.state.stalled = False
        self._log("motor_stall_cleared", cause=self.state.stall_cause)
        self.state.stall_cause = ""
        self._clear_for("motor turning again")

    def _sense_low_battery_reset(self) -> None:
        """A power-on reset from a low battery: the firmware falls to the minimum rate."""
        self.state.safe_state = "low_battery_reset"
        self._cancel_overlay("low battery reset")
        self._log("power_on_reset", reason="low battery reset")
        self._raise_for("low battery reset")
        self._cache_valid = False
