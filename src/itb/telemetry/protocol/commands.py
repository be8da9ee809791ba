"""The wand's command set: typed requests and answers, as they travel on the link.

These are the protocol's own value objects (the programmer does not import
`itb.pump`), in the clinic's units: doses are exact `Fraction`s of micrograms,
volumes whole nanolitres, times UTC. `ROLES` on each command says who may give it:
a patient-role session (a patient's handheld) may only read status and ask for a
patient bolus; everything that changes therapy needs the clinician role.

Light shape checks run on construction (both ends); the pump validates every value
again against its own model and program before acting.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from itb.errors import InvalidInput
from itb.telemetry.protocol.codec import Message
from itb.telemetry.protocol.messages import ANY_ROLE, Command, request, response
from itb.therapy.units import require_utc

# Log entries asked for per page; the pump also cuts a page to fit one frame.
MAX_LOG_PAGE = 128
# A command id: the programmer's name for one therapy change, logged by the pump so that a
# retry is answered from the log (never carried out twice) and a lost answer can be looked up.
COMMAND_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")
MAX_COMMAND_ID = 32


def new_command_id() -> str:
    """A fresh id for one therapy change (64 random bits: no two programmers collide)."""
    return secrets.token_hex(8)


def check_command_id(value: str) -> None:
    if not (isinstance(value, str) and 1 <= len(value) <= MAX_COMMAND_ID
            and set(value) <= COMMAND_ID_CHARS):
        raise InvalidInput("command_id", repr(value)[:40],
                           f"1 to {MAX_COMMAND_ID} letters, digits or hyphens")


# ---- program schema ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ContinuousSpec:
    """Simple continuous: one daily dose."""

    daily_dose_mcg: Fraction


@dataclass(frozen=True, slots=True)
class FlexStepSpec:
    """From `start_s` (seconds after the period's local start) for `duration_s`, this rate."""

    start_s: int
    duration_s: int
    dose_rate_mcg_per_day: Fraction


@dataclass(frozen=True, slots=True)
class PeriodicBolusSpec:
    """A bolus every day at `start_s` after local midnight, over `duration_s`."""

    start_s: int
    dose_mcg: Fraction
    duration_s: int


class FlexPeriod(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"  # a weekly period starts Monday 00:00 local time


@dataclass(frozen=True, slots=True)
class FlexSpec:
    """A repeating flex schedule in a fixed UTC offset (the pump clock has no DST rules)."""

    steps: tuple[FlexStepSpec, ...]
    period: FlexPeriod = FlexPeriod.DAILY
    utc_offset_minutes: int = 0
    periodic_boluses: tuple[PeriodicBolusSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class HardLimitsSpec:
    """Clinician-set firmware limits the pump will never exceed."""

    max_daily_dose_mcg: Fraction
    max_bolus_mcg: Fraction


@dataclass(frozen=True, slots=True)
class PatientBolusSpec:
    """What a patient's handheld may ask for: dose, lockout between boluses, maximum per 24 h."""

    dose_mcg: Fraction
    lockout_s: int
    max_per_24h: int


@dataclass(frozen=True, slots=True)
class ProgramSpec:
    therapy: ContinuousSpec | FlexSpec
    limits: HardLimitsSpec
    patient_bolus: PatientBolusSpec | None = None


# ---- status ---------------------------------------------------------------------------------

class AlarmSeverity(StrEnum):
    NONCRITICAL = "noncritical"  # one-second single tone (devices.md, alarms)
    CRITICAL = "critical"        # three-second two-tone alarm (devices.md, alarms)


@dataclass(frozen=True, slots=True)
class AlarmInfo:
    """An alarm the pump has raised and not cleared."""

    code: str
    severity: AlarmSeverity
    raised: datetime
    sounding: bool
    acknowledged: bool


@dataclass(frozen=True, slots=True)
class LogDetail:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class LogEntryInfo:
    """One entry of the pump's event log, as the pump wrote it (time is the pump clock)."""

    index: int
    time: datetime
    kind: str
    details: tuple[LogDetail, ...] = ()


# ---- requests -------------------------------------------------------------------------------

@request(0x01)
class Interrogate(Command):
    """Everything the pump knows: identity, battery, reservoir, program, alarms, log extent."""


@request(0x02, ANY_ROLE)
class ReadStatus(Command):
    """The short status a patient's handheld may show."""


@dataclass(frozen=True, slots=True)
class _LogPageRequest(Command):
    """A log page request (event log or security log): a start index and a page size."""

    since_index: int
    limit: int = MAX_LOG_PAGE

    def __post_init__(self) -> None:
        if self.since_index < 0:
            raise InvalidInput("since_index", self.since_index, "0 or more")
        if not 1 <= self.limit <= MAX_LOG_PAGE:
            raise InvalidInput("limit", self.limit, f"1 to {MAX_LOG_PAGE} entries")


@request(0x03)
class ReadLog(_LogPageRequest):
    """Log entries from `since_index` on, at most `limit` (a page)."""


@request(0x04)
class ReadSecurityLog(_LogPageRequest):
    """The link's own log of dropped frames, failed handshakes and rate-limited sources."""


class TherapyChange(Command):
    """A command that changes therapy (program, refill, bolus, stop, resume). Each declares
    `command_id` as its last field (so it stays last on the wire), checked here when made."""

    def __post_init__(self) -> None:
        check_command_id(self.command_id)  # type: ignore[attr-defined]


@request(0x10)
class Program(TherapyChange):
    """Replace the whole program, atomically. `confirm_only` asks for the echo without acting.

    A running bridge bolus runs on to its end unless `cancel_bridge_reason` ends it.
    """

    program: ProgramSpec
    confirm_only: bool = False
    cancel_bridge_reason: str | None = None
    command_id: str = field(default_factory=new_command_id)


@request(0x11)
class Refill(TherapyChange):
    """A refill: the residual withdrawn (measured; None = emptied), the drug added (0 empties
    the reservoir), its concentration, and whether to give a bridge bolus for a change of
    concentration.

    The program stays in mcg/day, so the pump recomputes its flows for the new
    concentration; reprogram separately to change the dose.
    """

    withdrawn_nl: int | None
    added_nl: int
    concentration_mcg_per_ml: Fraction
    bridge_bolus: bool = False
    command_id: str = field(default_factory=new_command_id)

    def __post_init__(self) -> None:
        TherapyChange.__post_init__(self)
        if self.withdrawn_nl is not None and self.withdrawn_nl < 0:
            raise InvalidInput("withdrawn_nl", self.withdrawn_nl, "0 nL or more")
        # 0 nL added empties the reservoir: the label's emptying of the pump in an overdose
        # (issue 16.17); the programmer's refill wizard asks for more than 0 mL itself.
        if self.added_nl < 0:
            raise InvalidInput("added_nl", self.added_nl, "0 nL or more")
        if self.concentration_mcg_per_ml <= 0:
            raise InvalidInput("concentration_mcg_per_ml", self.concentration_mcg_per_ml,
                               "more than 0 mcg/mL")


@request(0x12)
class Bolus(TherapyChange):
    """A clinician bolus of `dose_mcg` over `duration_s`."""

    dose_mcg: Fraction
    duration_s: int
    command_id: str = field(default_factory=new_command_id)

    def __post_init__(self) -> None:
        TherapyChange.__post_init__(self)
        if self.dose_mcg <= 0:
            raise InvalidInput("dose_mcg", self.dose_mcg, "more than 0 mcg")
        if self.duration_s <= 0:
            raise InvalidInput("duration_s", self.duration_s, "more than 0 s")


@request(0x13, ANY_ROLE)
class RequestPatientBolus(Command):
    """The patient presses the handheld's button: the pump decides, within the program's limits."""


@request(0x14)
class Stop(TherapyChange):
    """Stop the infusion (the pump keeps its minimum rate where the model has one)."""

    command_id: str = field(default_factory=new_command_id)


@request(0x15)
class Resume(TherapyChange):
    command_id: str = field(default_factory=new_command_id)


@request(0x16)
class AcknowledgeAlarm(Command):
    """Silence one sounding alarm by code, or every sounding alarm (code None)."""

    code: str | None = None


@request(0x17)
class SetClock(Command):
    """Set the pump's clock to `pump_time` (UTC)."""

    pump_time: datetime

    def __post_init__(self) -> None:
        require_utc("pump_time", self.pump_time)


@request(0x18)
class SetAlarmVolume(Command):
    """Set the low-reservoir alarm volume: the alarm sounds when the estimate falls to it."""

    low_reservoir_alarm_nl: int

    def __post_init__(self) -> None:
        if self.low_reservoir_alarm_nl <= 0:
            raise InvalidInput("low_reservoir_alarm_nl", self.low_reservoir_alarm_nl,
                               "more than 0 nL")


@request(0x19)
class SetCatheterVolume(Command):
    """Store the implanted catheter's volume (implant record, catheter revision): the pump
    uses it for its priming and bridge boluses."""

    catheter_volume_nl: int

    def __post_init__(self) -> None:
        if self.catheter_volume_nl < 0:
            raise InvalidInput("catheter_volume_nl", self.catheter_volume_nl, "0 nL or more")


# ---- answers --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class BatteryInfo:
    """The battery as the firmware knows it."""

    status: str                        # "ok", "elective_replacement" or "end_of_service"
    remaining_fraction: Fraction       # usable charge left, exact


@dataclass(frozen=True, slots=True)
class ReservoirInfo:
    """The firmware's belief about the reservoir (it counts strokes; it cannot see leaks).

    The alarm and empty dates are projections at the programmed mean flow, None when
    the pump is not running its program.
    """

    estimate_nl: int
    capacity_nl: int
    concentration_mcg_per_ml: Fraction
    low_reservoir_alarm_nl: int
    low_reservoir_alarm_date: datetime | None
    empty_date: datetime | None


@dataclass(frozen=True, slots=True)
class InfusionInfo:
    state: str                         # the firmware mode: "running", "minimum_rate (stopped)"...
    infusing: bool                     # running its program or a bolus
    mean_flow_nl_per_day: Fraction     # programmed volume per day, over one period
    max_24h_dose_mcg: Fraction         # the largest programmed dose in any 24 h window
    bolus_until: datetime | None
    bolus_remaining_nl: int = 0        # volume the running bolus still has to deliver


@response(0x01)
class InterrogationReport(Message):
    serial: str
    model: str
    implanted: datetime
    pump_time: datetime
    battery: BatteryInfo
    reservoir: ReservoirInfo
    infusion: InfusionInfo
    program: ProgramSpec | None
    alarms: tuple[AlarmInfo, ...]
    log_first_index: int
    log_next_index: int
    log_overflowed: int
    security_log_next_index: int
    catheter_volume_nl: int = 0  # the catheter volume stored in the pump (implant record)


@response(0x02)
class PatientStatus(Message):
    """What a patient's handheld shows: running or not, alarms, refill due, bolus availability."""

    serial: str
    pump_time: datetime
    state: str
    infusing: bool
    alarms: tuple[AlarmInfo, ...]
    low_reservoir_alarm_date: datetime | None
    battery_status: str
    patient_bolus_dose_mcg: Fraction | None
    patient_bolus_available_at: datetime | None
    patient_boluses_left_24h: int


@response(0x03)
class LogPage(Message):
    """Entries from the asked index on; `next_index` is where the next page starts.

    A detail value longer than the wire allows is cut and marked "(cut, N chars)".
    """

    entries: tuple[LogEntryInfo, ...]
    next_index: int
    log_next_index: int
    log_overflowed: int

    @property
    def complete(self) -> bool:
        return self.next_index >= self.log_next_index


@response(0x10)
class ProgramConfirmation(Message):
    """The echo of what the pump will do (or, with `applied` false, would do)."""

    applied: bool
    program: ProgramSpec
    max_24h_dose_mcg: Fraction
    mean_flow_nl_per_day: Fraction
    concentration_mcg_per_ml: Fraction
    low_reservoir_alarm_date: datetime | None
    empty_date: datetime | None
    effective: datetime


@response(0x11)
class RefillConfirmation(Message):
    expected_residual_nl: int
    withdrawn_nl: int
    discrepancy_nl: int               # withdrawn minus expected: a large one needs a look
    added_nl: int
    reservoir_estimate_nl: int
    concentration_mcg_per_ml: Fraction
    bridge_bolus_nl: int
    bridge_until: datetime | None
    low_reservoir_alarm_date: datetime | None
    empty_date: datetime | None


@response(0x12)
class BolusConfirmation(Message):
    dose_mcg: Fraction
    volume_nl: int
    starts: datetime
    ends: datetime


@response(0x13)
class PatientBolusResult(Message):
    """Granted or not; a refusal says why and when the next one may be asked for."""

    granted: bool
    reason: str
    dose_mcg: Fraction | None
    ends: datetime | None
    next_available: datetime | None
    boluses_left_24h: int


@response(0x14)
class InfusionChanged(Message):
    """The answer to Stop and Resume."""

    state: str
    infusing: bool
    at: datetime


@response(0x16)
class AlarmAcknowledged(Message):
    silenced: int
    alarms: tuple[AlarmInfo, ...]


@response(0x17)
class ClockSet(Message):
    previous: datetime
    pump_time: datetime


@response(0x18)
class AlarmVolumeSet(Message):
    low_reservoir_alarm_nl: int
    low_reservoir_alarm_date: datetime | None


@response(0x19)
class CatheterVolumeSet(Message):
    previous_nl: int
    catheter_volume_nl: int


@response(0x20)
class AlreadyCarriedOut(Message):
    """The answer to a retried therapy change: the pump's log shows this command id carried
    out already, so it was acknowledged from the log and not carried out again."""

    command_id: str
    act: str
    at: datetime
    log_index: int
