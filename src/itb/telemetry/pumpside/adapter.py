"""The pump side of the command set: authenticated commands in, `itb.pump` acts, typed answers out.

`PumpAdapter` is the only place where the link touches the pump. For every command it
- checks the role again (the link already did: defence in depth);
- converts the wire values into the pump's own value objects, so the pump validates
  every argument against its model, program and limits;
- runs the act; a refusal comes back as a typed `ErrorResponse` (field, value,
  allowed) and the pump is unchanged. Should the pump fail in an unplanned way, the
  adapter restores the state it held before the command and answers INTERNAL.

It also keeps the link's audit log (`SecurityLog`: sessions, dropped frames, failed
handshakes, rate-limited sources), which lives beside the pump's own event log so that a frame
off the air never alters the pump's state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput, ItbError
from itb.pump import ActRefused, AlarmKind, ProgramNotCommitted, Pump
from itb.pump.eventlog import LogEntry
from itb.pump.pump import to_datetime
from itb.telemetry.protocol.codec import Message
from itb.telemetry.protocol.commands import (
    AcknowledgeAlarm,
    AlarmAcknowledged,
    AlarmInfo,
    AlarmSeverity,
    AlarmVolumeSet,
    AlreadyCarriedOut,
    BatteryInfo,
    Bolus,
    BolusConfirmation,
    CatheterVolumeSet,
    ClockSet,
    InfusionChanged,
    InfusionInfo,
    Interrogate,
    InterrogationReport,
    LogPage,
    PatientBolusResult,
    PatientStatus,
    Program,
    ProgramConfirmation,
    ReadLog,
    ReadSecurityLog,
    ReadStatus,
    Refill,
    RefillConfirmation,
    RequestPatientBolus,
    ReservoirInfo,
    Resume,
    SetAlarmVolume,
    SetCatheterVolume,
    SetClock,
    Stop,
)
from itb.telemetry.protocol.events import PumpEvent, SecurityEvent, SessionEnded, SessionOpened
from itb.telemetry.protocol.keys import Role
from itb.telemetry.protocol.messages import Command, ErrorCode, ErrorResponse
from itb.telemetry.pumpside.audit import SecurityLog
from itb.telemetry.pumpside.translate import log_page, program_from_pump, program_to_pump
from itb.therapy.units import NL_PER_ML, SECONDS_PER_DAY

# ---- command ids: a therapy change is carried out once ----------------------------------------

_ACTS: dict[type[Command], str] = {Program: "program", Refill: "refill", Bolus: "bolus",
                                   Stop: "stop", Resume: "resume"}


def _command_id(command: Command) -> str | None:
    """The id of a therapy-changing command that acts (a dry-run program changes nothing)."""
    if type(command) not in _ACTS or (isinstance(command, Program) and command.confirm_only):
        return None
    return str(command.command_id)  # type: ignore[attr-defined]


def _from_log(command: Command, command_id: str, entry: LogEntry) -> Message:
    act = dict(entry.details).get("act", "")
    if act != _ACTS[type(command)]:
        return ErrorResponse(ErrorCode.REFUSED,
                             f"command id {command_id} was already used for {act[:20]}; "
                             "nothing was carried out", "command_id", command_id,
                             "an id not used before")
    return AlreadyCarriedOut(command_id, act, to_datetime(entry.time_s), entry.index)


# ---- the adapter ---------------------------------------------------------------------------

class PumpAdapter:
    """Carries out authenticated commands on one `Pump` (implements `host.CommandHandler`)."""

    def __init__(self, pump: Pump, security_log: SecurityLog | None = None) -> None:
        self.pump = pump
        self.serial = pump.serial
        # `is None`, not `or`: an empty log is falsy (it has a length) but is still the log.
        self.security_log = security_log if security_log is not None else SecurityLog()
        self._changed = False
        # Audit entries not yet saved: saved in a batch, never one fsync per connection.
        self.audit_changed = False
        self._handlers: dict[type[Command], Callable[[Any], Message]] = {
            Interrogate: self._interrogate, ReadStatus: self._read_status,
            ReadLog: self._read_log, ReadSecurityLog: self._read_security_log,
            Program: self._program, Refill: self._refill, Bolus: self._bolus,
            RequestPatientBolus: self._patient_bolus, Stop: self._stop, Resume: self._resume,
            AcknowledgeAlarm: self._acknowledge_alarm, SetClock: self._set_clock,
            SetAlarmVolume: self._set_alarm_volume, SetCatheterVolume: self._set_catheter_volume,
        }

    # -- CommandHandler ----------------------------------------------------------------------
    @property
    def changed(self) -> bool:
        return self._changed

    def mark_saved(self) -> None:
        self._changed = False
        self.audit_changed = False

    def handle(self, command: Command, role: Role, now_s: float) -> Message:
        handler = self._handlers.get(type(command))
        if handler is None:
            return ErrorResponse(ErrorCode.MALFORMED, f"no such command {type(command).__name__}")
        if role not in command.ROLES:
            return ErrorResponse(ErrorCode.NOT_PERMITTED,
                                 f"{type(command).__name__} needs the clinician role",
                                 "role", role.name.lower(), "clinician")
        mutates = not isinstance(command, Interrogate | ReadStatus | ReadLog | ReadSecurityLog)
        command_id = _command_id(command)
        if command_id is not None:
            done = self.pump.find_command(command_id)
            if done is not None:
                return _from_log(command, command_id, done)
        before = self.pump.to_state() if mutates else None
        try:
            answer = handler(command)
            if command_id is not None:
                # Logged in the same act, saved before the answer leaves: never run twice.
                self.pump.record_command(command_id, _ACTS[type(command)])
        except InvalidInput as exc:
            return ErrorResponse.from_invalid_input(exc)
        except ActRefused as exc:
            return ErrorResponse(ErrorCode.REFUSED, str(exc), "act", exc.act, exc.reason)
        except ProgramNotCommitted as exc:
            self._changed = True  # the pump logged its reset; it stays on the old program
            return ErrorResponse(ErrorCode.REFUSED, str(exc))
        except ItbError as exc:
            return ErrorResponse(ErrorCode.REFUSED, str(exc)[:500])
        except Exception as exc:  # an unplanned failure must not leave a half-done act
            if before is not None:
                self.pump = Pump.from_state(before)
            return ErrorResponse(ErrorCode.INTERNAL,
                                 f"the pump could not carry out {type(command).__name__} "
                                 f"({type(exc).__name__}); nothing was changed")
        if mutates:
            self._changed = True
        return answer

    def log_link_event(self, event: PumpEvent) -> None:
        """Audit one link event. Only a session opening changes the pump (its own log and
        battery) and so needs a save before the next answer; the rest is audit only, saved
        in the server's periodic batch (issue 17.6)."""
        clock_s = self.pump.firmware_clock_s
        if isinstance(event, SessionOpened):
            # The pump's own hook: logs the session in its event log and costs battery.
            self.pump.telemetry_session(event.programmer_id, event.role.name.lower())
            self.security_log.append(clock_s, "session_opened", role=event.role.name.lower(),
                                     programmer_id=event.programmer_id)
            self._changed = True
        elif isinstance(event, SessionEnded) and event.opened:
            self.security_log.append(clock_s, "session_ended", reason=event.reason)
        elif isinstance(event, SessionEnded):
            self.security_log.count_noise(clock_s, "handshake_ended")
        elif isinstance(event, SecurityEvent) and event.noise:
            self.security_log.count_noise(clock_s, event.kind.value)
        elif isinstance(event, SecurityEvent):
            self.security_log.append(clock_s, event.kind.value, detail=event.detail[:200])
        else:
            return
        self.audit_changed = True

    # -- reading -----------------------------------------------------------------------------
    def _interrogate(self, _command: Interrogate) -> InterrogationReport:
        pump = self.pump
        status = pump.status()
        alarm_date, empty_date = self._projection()
        entries = pump.log.entries()
        return InterrogationReport(
            serial=status.serial, model=status.model, implanted=status.implant_date,
            pump_time=status.clock,
            battery=BatteryInfo(status.battery_state, status.battery_remaining_fraction),
            reservoir=ReservoirInfo(status.reservoir_estimate_nl,
                                    pump.model.reservoir_capacity_nl,
                                    status.concentration_mcg_per_ml,
                                    pump.low_reservoir_alarm_nl, alarm_date, empty_date),
            infusion=self._infusion(),
            program=None if status.program is None else program_from_pump(status.program),
            alarms=self._alarms(),
            log_first_index=entries[0].index if entries else status.log_next_index,
            log_next_index=status.log_next_index, log_overflowed=status.log_overflowed,
            security_log_next_index=self.security_log.next_index,
            catheter_volume_nl=pump.catheter_volume_nl)

    def _read_status(self, _command: ReadStatus) -> PatientStatus:
        pump = self.pump
        status = pump.status()
        settings = pump.active_program.patient_bolus if pump.active_program else None
        available_at, left = self._patient_bolus_window()
        return PatientStatus(
            serial=status.serial, pump_time=status.clock, state=status.mode,
            infusing=self._infusing(), alarms=self._alarms(),
            low_reservoir_alarm_date=self._projection()[0], battery_status=status.battery_state,
            patient_bolus_dose_mcg=None if settings is None else settings.dose_mcg,
            patient_bolus_available_at=available_at, patient_boluses_left_24h=left)

    def _read_log(self, command: ReadLog) -> LogPage:
        log = self.pump.log
        return log_page(self.pump.log_since(command.since_index, command.limit),
                        command.since_index, log.next_index, log.overflowed)

    def _read_security_log(self, command: ReadSecurityLog) -> LogPage:
        log = self.security_log
        return log_page(log.since(command.since_index, command.limit), command.since_index,
                        log.next_index, log.overflowed)

    # -- therapy-changing acts ---------------------------------------------------------------
    def _program(self, command: Program) -> ProgramConfirmation:
        program = program_to_pump(command.program)
        if command.confirm_only:
            # A trial on a copy: the echo is exactly what the pump would do, and nothing changes.
            trial = PumpAdapter(Pump.from_state(self.pump.to_state()))
            trial.pump.program(program, cancel_bridge_reason=command.cancel_bridge_reason)
            return trial._confirmation(applied=False)
        self.pump.program(program, cancel_bridge_reason=command.cancel_bridge_reason)
        return self._confirmation(applied=True)

    def _confirmation(self, applied: bool) -> ProgramConfirmation:
        pump = self.pump
        assert pump.active_program is not None and pump.schedule is not None
        alarm_date, empty_date = self._projection(assume_running=True)
        conc = pump.concentration_mcg_per_ml
        return ProgramConfirmation(
            applied=applied, program=program_from_pump(pump.active_program),
            max_24h_dose_mcg=pump.schedule.max_window_nl * conc / NL_PER_ML,
            mean_flow_nl_per_day=pump.schedule.daily_total_nl(), concentration_mcg_per_ml=conc,
            low_reservoir_alarm_date=alarm_date, empty_date=empty_date,
            effective=to_datetime(pump.firmware_clock_s))

    def _refill(self, command: Refill) -> RefillConfirmation:
        report = self.pump.refill(added_nl=command.added_nl,
                                  concentration_mcg_per_ml=command.concentration_mcg_per_ml,
                                  withdrawn_nl=command.withdrawn_nl,
                                  bridge_bolus=command.bridge_bolus)
        overlay = self.pump.overlay if report.bridge_bolus else None
        alarm_date, empty_date = self._projection()
        # Only the firmware's belief goes back: the syringe reading and the estimate, never
        # the simulator's truth (pocket deposits, true concentration).
        return RefillConfirmation(
            expected_residual_nl=report.expected_residual_nl, withdrawn_nl=report.withdrawn_nl,
            discrepancy_nl=report.discrepancy_nl, added_nl=report.added_nl,
            reservoir_estimate_nl=report.reservoir_estimate_nl,
            concentration_mcg_per_ml=report.concentration_mcg_per_ml,
            bridge_bolus_nl=0 if overlay is None else overlay.volume_nl,
            bridge_until=None if overlay is None else self._clock(overlay.end_s),
            low_reservoir_alarm_date=alarm_date, empty_date=empty_date)

    def _bolus(self, command: Bolus) -> BolusConfirmation:
        self.pump.give_bolus(command.dose_mcg, command.duration_s)
        overlay = self.pump.overlay
        assert overlay is not None
        return BolusConfirmation(command.dose_mcg, overlay.volume_nl,
                                 self._clock(overlay.started_s), self._clock(overlay.end_s))

    def _patient_bolus(self, _command: RequestPatientBolus) -> PatientBolusResult:
        outcome = self.pump.request_patient_bolus()
        program_now = self.pump.active_program
        settings = program_now.patient_bolus if program_now else None
        overlay = self.pump.overlay if outcome.granted else None
        available_at, left = self._patient_bolus_window()
        return PatientBolusResult(
            granted=outcome.granted, reason=outcome.reason,
            dose_mcg=settings.dose_mcg if settings is not None and outcome.granted else None,
            ends=None if overlay is None else self._clock(overlay.end_s),
            next_available=available_at, boluses_left_24h=left)

    def _stop(self, _command: Stop) -> InfusionChanged:
        self.pump.stop()
        return InfusionChanged(self.pump.mode, self._infusing(),
                               to_datetime(self.pump.firmware_clock_s))

    def _resume(self, _command: Resume) -> InfusionChanged:
        self.pump.resume()
        return InfusionChanged(self.pump.mode, self._infusing(),
                               to_datetime(self.pump.firmware_clock_s))

    def _acknowledge_alarm(self, command: AcknowledgeAlarm) -> AlarmAcknowledged:
        kind = None
        if command.code is not None:
            try:
                kind = AlarmKind(command.code)
            except ValueError:
                raise InvalidInput("code", command.code, "one of: " + ", ".join(
                    k.value for k in AlarmKind)) from None
        silenced = self.pump.acknowledge_alarm(kind)
        return AlarmAcknowledged(silenced, self._alarms())

    def _set_clock(self, command: SetClock) -> ClockSet:
        previous = to_datetime(self.pump.firmware_clock_s)
        self.pump.set_clock(command.pump_time)
        return ClockSet(previous, to_datetime(self.pump.firmware_clock_s))

    def _set_alarm_volume(self, command: SetAlarmVolume) -> AlarmVolumeSet:
        self.pump.set_alarm_volume(command.low_reservoir_alarm_nl)
        return AlarmVolumeSet(self.pump.low_reservoir_alarm_nl, self._projection()[0])

    def _set_catheter_volume(self, command: SetCatheterVolume) -> CatheterVolumeSet:
        previous = self.pump.catheter_volume_nl
        self.pump.set_catheter_volume(command.catheter_volume_nl)
        return CatheterVolumeSet(previous, self.pump.catheter_volume_nl)

    # -- helpers -----------------------------------------------------------------------------
    def _clock(self, true_s: int) -> datetime:
        """A true-time instant as the pump's clock shows it."""
        return to_datetime(true_s + self.pump.clock_error_s)

    def _infusing(self) -> bool:
        mode = self.pump.mode
        return mode == "running" or (mode.endswith("_bolus") and not self.pump.stopped)

    def _infusion(self) -> InfusionInfo:
        pump = self.pump
        schedule = pump.schedule
        conc = pump.concentration_mcg_per_ml
        return InfusionInfo(
            state=pump.mode, infusing=self._infusing(),
            mean_flow_nl_per_day=Fraction(0) if schedule is None else schedule.daily_total_nl(),
            max_24h_dose_mcg=Fraction(0) if schedule is None
            else schedule.max_window_nl * conc / NL_PER_ML,
            bolus_until=None if pump.overlay is None else self._clock(pump.overlay.end_s),
            bolus_remaining_nl=pump.bolus_remaining_nl())

    def _alarms(self) -> tuple[AlarmInfo, ...]:
        return tuple(
            AlarmInfo(a.kind.value,
                      AlarmSeverity.CRITICAL if a.kind.critical else AlarmSeverity.NONCRITICAL,
                      self._clock(a.raised_s), a.sounding_from_s is not None, a.acknowledged)
            for a in self.pump.alarms.values())

    def _projection(self, assume_running: bool = False) -> tuple[datetime | None, datetime | None]:
        """Low-reservoir alarm and empty dates at the programmed mean flow (pump clock).

        A projection, not a promise: flex schedules and boluses make the real dates
        differ by up to a day's variation. None when the pump is not running its program.
        """
        pump = self.pump
        schedule = pump.schedule
        if schedule is None or not (assume_running or self._infusing()):
            return None, None
        mean = schedule.daily_total_nl()
        if mean <= 0:
            return None, None
        now = pump.firmware_clock_s
        estimate = pump.reservoir_estimate_nl

        def after(volume_nl: int) -> datetime | None:
            if volume_nl <= 0:
                return None
            return to_datetime(now + int(volume_nl * SECONDS_PER_DAY // mean))

        return after(estimate - pump.low_reservoir_alarm_nl), after(estimate)

    def _patient_bolus_window(self) -> tuple[datetime | None, int]:
        """When the next patient bolus may be asked for (None: now) and how many remain in 24 h."""
        pump = self.pump
        settings = pump.active_program.patient_bolus if pump.active_program else None
        if settings is None:
            return None, 0
        now = pump.now_s
        recent = sorted(end for _start, end in pump.patient_boluses if end > now - SECONDS_PER_DAY)
        left = max(0, settings.max_per_24h - len(recent))
        earliest = now
        if pump.last_patient_bolus_s is not None:
            earliest = max(earliest, pump.last_patient_bolus_s + settings.lockout_s)
        if left == 0 and recent:
            earliest = max(earliest, recent[0] + SECONDS_PER_DAY)
        return (None if earliest <= now else self._clock(earliest)), left
