"""A simulated implanted pump as the server hosts it: pump, key, link memory, clock, storage.

`SimulatedPump` ties one `itb.pump.Pump` to its `PumpHost` and maps the host's clock
onto pump time (real time, or `speed` times faster). It is still I/O-free: the server
hands it the time and writes its `to_document()` through the `StateStore`.

Simulated time is anchored at load: while no server runs, the pump's world is paused
and it resumes where it was saved (a simulator, unlike a body, can be switched off).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from itb.errors import InvalidInput
from itb.pump import Pump
from itb.pump.pump import to_datetime
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import KEY_BYTES, LinkKey
from itb.telemetry.protocol.link import RandomBytes
from itb.telemetry.pumpside.adapter import PumpAdapter
from itb.telemetry.pumpside.audit import SecurityLog
from itb.telemetry.pumpside.host import PumpHost

DOCUMENT_FORMAT = 1


class SimulatedPump:
    def __init__(self, pump: Pump, pump_key: bytes, guard: LinkGuard,
                 security_log: SecurityLog | None = None, *, now_s: float = 0.0,
                 speed: float = 1.0, random_bytes: RandomBytes = secrets.token_bytes) -> None:
        if not speed > 0:
            raise InvalidInput("speed", speed, "more than 0 (1 is real time)")
        self.adapter = PumpAdapter(pump, security_log)
        self.pump_key = pump_key
        self.guard = guard
        self.host = PumpHost(self.adapter, pump_key, guard, random_bytes)
        self.speed = speed
        self._anchor_real_s = now_s
        self._anchor_pump_s = pump.now_s

    @property
    def serial(self) -> str:
        return self.adapter.serial

    @property
    def pump(self) -> Pump:
        # Through the adapter: it may replace the pump object when it rolls back a failure.
        return self.adapter.pump

    @property
    def clinic_key(self) -> LinkKey:
        return LinkKey(self.serial, "clinic", self.pump_key)

    def pump_time_at(self, now_s: float) -> datetime:
        elapsed = max(0.0, now_s - self._anchor_real_s)
        return to_datetime(self._anchor_pump_s + int(elapsed * self.speed))

    def advance_to(self, now_s: float) -> bool:
        """Run the pump up to the pump time matching host time `now_s`; True if it moved."""
        target = self.pump_time_at(now_s)
        if int(target.timestamp()) <= self.pump.now_s:
            return False
        self.pump.advance(target)
        return True

    @property
    def needs_saving(self) -> bool:
        return self.adapter.changed

    def mark_saved(self) -> None:
        self.adapter.mark_saved()

    def to_document(self) -> dict[str, Any]:
        return {"format": DOCUMENT_FORMAT, "serial": self.serial, "pump_key": self.pump_key.hex(),
                "pump": self.pump.to_state(), "link_guard": self.guard.to_state(),
                "security_log": self.adapter.security_log.to_state()}

    @classmethod
    def from_document(cls, document: dict[str, Any], *, now_s: float, speed: float = 1.0,
                      policy: LinkPolicy | None = None) -> SimulatedPump:
        if document.get("format") != DOCUMENT_FORMAT:
            raise InvalidInput("state format", document.get("format"), str(DOCUMENT_FORMAT))
        key = bytes.fromhex(document["pump_key"])
        if len(key) != KEY_BYTES:
            raise InvalidInput("pump_key", f"{len(key)} bytes", f"{KEY_BYTES} bytes")
        pump = Pump.from_state(document["pump"])
        guard = LinkGuard.from_state(document["link_guard"], policy)
        return cls(pump, key, guard, SecurityLog.from_state(document["security_log"]),
                   now_s=now_s, speed=speed)
