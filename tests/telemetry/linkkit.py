"""Helpers to run the two sans-IO link ends against each other in tests."""

from __future__ import annotations

from itertools import count

from itb.telemetry.protocol.events import ProgrammerEvent, PumpEvent
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import LinkKey, Role, role_key
from itb.telemetry.protocol.programmer_link import ProgrammerLink
from itb.telemetry.protocol.pump_link import PumpLink

SERIAL = "ITB-0001"
PUMP_KEY = bytes(range(32))
CLINIC_KEY = LinkKey(SERIAL, "clinic", PUMP_KEY)


def counter_bytes(seed: int = 0):
    """Deterministic nonces, distinct per call (tests only)."""
    c = count(seed)
    return lambda n: next(c).to_bytes(n, "big")


def pump_link(guard: LinkGuard | None = None, now_s: float = 0.0,
              policy: LinkPolicy | None = None) -> PumpLink:
    guard = guard or LinkGuard(policy or LinkPolicy())
    return PumpLink(SERIAL, lambda role: role_key(PUMP_KEY, SERIAL, role), guard, now_s,
                    counter_bytes(1_000))


def programmer_link(role: Role = Role.CLINICIAN, key: bytes | None = None,
                    serial: str = SERIAL, **options: object) -> ProgrammerLink:
    secret = key if key is not None else CLINIC_KEY.key_for(role)
    return ProgrammerLink(serial, secret, role, random_bytes=counter_bytes(),
                          **options)  # type: ignore[arg-type]


def exchange(programmer: ProgrammerLink, pump: PumpLink, now_s: float
             ) -> tuple[list[PumpEvent], list[ProgrammerEvent]]:
    """Move bytes both ways until quiet; return the events each side produced."""
    pump_events: list[PumpEvent] = []
    programmer_events: list[ProgrammerEvent] = []
    for _ in range(10):
        moved = False
        data = programmer.data_to_send()
        if data:
            moved = True
            pump_events += pump.receive_data(data, now_s)
        data = pump.data_to_send()
        if data:
            moved = True
            programmer_events += programmer.receive_data(data, now_s)
        if not moved:
            break
    return pump_events, programmer_events


def open_session(role: Role = Role.CLINICIAN, now_s: float = 0.0,
                 guard: LinkGuard | None = None) -> tuple[ProgrammerLink, PumpLink]:
    pump = pump_link(guard, now_s)
    programmer = programmer_link(role)
    programmer.start(now_s)
    exchange(programmer, pump, now_s)
    assert programmer.is_open and pump.is_open
    return programmer, pump
