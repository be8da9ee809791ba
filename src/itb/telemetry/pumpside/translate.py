"""Translation between the wire's value objects and the pump's: programs and log pages.

Pure functions, both ways, so the adapter's handlers only act; `program_from_pump` undoes
`program_to_pump` exactly (a property test holds them to it).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from itb.pump import programs
from itb.pump.eventlog import LogEntry
from itb.pump.pump import to_datetime
from itb.telemetry.protocol.commands import (
    MAX_LOG_PAGE,
    ContinuousSpec,
    FlexPeriod,
    FlexSpec,
    FlexStepSpec,
    HardLimitsSpec,
    LogDetail,
    LogEntryInfo,
    LogPage,
    PatientBolusSpec,
    PeriodicBolusSpec,
    ProgramSpec,
)
from itb.telemetry.protocol.labels import escape_label
from itb.telemetry.protocol.link import MAX_MESSAGE_BYTES

# Room left in a frame for a log page's fixed fields (indices, counts, CBOR framing).
_PAGE_OVERHEAD_BYTES = 64
_MAX_DETAIL_CHARS = 900


# ---- programs -------------------------------------------------------------------------------

# Each wire value object and the pump's value object it stands for carry the same fields by
# name, so one walk over this table converts a program either way (and so exactly undoes itself).
_PUMP_OF_WIRE: dict[type, type] = {
    ProgramSpec: programs.Program,
    ContinuousSpec: programs.ContinuousTherapy,
    FlexSpec: programs.FlexTherapy,
    FlexStepSpec: programs.FlexStep,
    PeriodicBolusSpec: programs.PeriodicBolus,
    HardLimitsSpec: programs.HardLimits,
    PatientBolusSpec: programs.PatientBolusSettings,
}
_WIRE_OF_PUMP: dict[type, type] = {pump: wire for wire, pump in _PUMP_OF_WIRE.items()}


def _convert(value: Any, table: dict[type, type]) -> Any:
    kind = table.get(type(value))
    if kind is None:
        if isinstance(value, tuple):
            return tuple(_convert(item, table) for item in value)
        # The pump keeps a flex period as plain text ("daily", "weekly"), the wire as FlexPeriod.
        return value.value if isinstance(value, FlexPeriod) else value
    values = {f.name: _convert(getattr(value, f.name), table) for f in fields(kind)}
    if kind is FlexSpec:
        values["period"] = FlexPeriod(values["period"])
    return kind(**values)


def program_to_pump(spec: ProgramSpec) -> programs.Program:
    """The pump's program for a program as the wire carries it."""
    program: programs.Program = _convert(spec, _PUMP_OF_WIRE)
    return program


def program_from_pump(program: programs.Program) -> ProgramSpec:
    """A pump's program as the wire carries it (the inverse of `program_to_pump`)."""
    spec: ProgramSpec = _convert(program, _WIRE_OF_PUMP)
    return spec


# ---- log pages ------------------------------------------------------------------------------

def log_entry_info(entry: LogEntry) -> LogEntryInfo:
    """One pump log entry as the wire carries it: long details cut, every text escaped."""
    details = []
    for key, value in entry.details:
        if len(value) > _MAX_DETAIL_CHARS:
            value = value[:_MAX_DETAIL_CHARS] + f"... (cut, {len(value)} chars)"
        # Escaped for display: a detail may hold what a device asserted (e.g. an old
        # programmer id with control characters, issue 17.9); it must not drive a terminal.
        details.append(LogDetail(escape_label(key[:100]), escape_label(value)))
    return LogEntryInfo(entry.index, to_datetime(entry.time_s), escape_label(entry.kind[:100]),
                        tuple(details))


def log_entry_size_bound(info: LogEntryInfo) -> int:
    """An upper bound of the entry's CBOR size (cheaper than encoding it twice).

    Integers take at most 9 bytes, a text or array header at most 3 (lengths < 65,536).
    """
    return (32 + len(info.kind.encode())
            + sum(8 + len(d.key.encode()) + len(d.value.encode()) for d in info.details))


def log_page(entries: list[LogEntry], since_index: int, log_next_index: int,
          overflowed: int) -> LogPage:
    """A page of at most MAX_LOG_PAGE entries cut to fit one frame."""
    budget = MAX_MESSAGE_BYTES - _PAGE_OVERHEAD_BYTES
    chosen: list[LogEntryInfo] = []
    for entry in entries[:MAX_LOG_PAGE]:
        info = log_entry_info(entry)
        size = log_entry_size_bound(info)
        if size > budget:
            break
        budget -= size
        chosen.append(info)
    if chosen:
        next_index = chosen[-1].index + 1
    elif entries:
        # One entry too large for a frame on its own: say so rather than stall the reader.
        first = log_entry_info(entries[0])
        chosen = [LogEntryInfo(first.index, first.time, first.kind,
                               (LogDetail("cut", "entry too large for one frame"),))]
        next_index = first.index + 1
    else:
        next_index = max(since_index, log_next_index)
    return LogPage(tuple(chosen), next_index, log_next_index, overflowed)
