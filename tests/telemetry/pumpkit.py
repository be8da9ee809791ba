"""A real implanted pump behind the wand link, wired in memory, for end-to-end link tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction

from itb.pump import ContinuousTherapy, HardLimits, PatientBolusSettings, Program, Pump
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.transport import InMemoryTransport, Interceptor
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import LinkKey, Role
from itb.telemetry.pumpside.adapter import PumpAdapter
from itb.telemetry.pumpside.host import PumpHost

from .linkkit import PUMP_KEY, SERIAL, counter_bytes

IMPLANT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CLINIC_KEY = LinkKey(SERIAL, "clinic", PUMP_KEY)
PATIENT_KEY = CLINIC_KEY.patient_key()


def implanted_pump() -> Pump:
    """devices.md worked example: 20 mL at 500 mcg/mL, 300 mcg/day, plus a patient bolus."""
    program = Program(ContinuousTherapy(Fraction(300)), HardLimits(Fraction(500), Fraction(100)),
                      PatientBolusSettings(Fraction(20), 3600, 3))
    pump = Pump.implant("synchromed-ii-20", serial=SERIAL, at=IMPLANT, fill_nl=20_000_000,
                        concentration_mcg_per_ml=Fraction(500), program=program, seed=7)
    return pump


@dataclass
class Clock:
    now_s: float = 0.0

    def __call__(self) -> float:
        return self.now_s


@dataclass
class Bench:
    """A pump, its host, and a clock the test moves by hand."""

    pump: Pump
    host: PumpHost
    adapter: PumpAdapter
    clock: Clock = field(default_factory=Clock)

    def client(self, role: Role = Role.CLINICIAN, key: LinkKey | None = None,
               interceptor: Interceptor | None = None) -> ProgrammerClient:
        key = key or (CLINIC_KEY if role is Role.CLINICIAN else PATIENT_KEY)
        transport = InMemoryTransport(self.host, self.clock, interceptor)
        return ProgrammerClient(transport, key, role, clock=self.clock)

    def pump_state(self) -> dict:
        return self.adapter.pump.to_state()


def bench(policy: LinkPolicy | None = None, pump: Pump | None = None) -> Bench:
    pump = pump or implanted_pump()
    adapter = PumpAdapter(pump)
    host = PumpHost(adapter, PUMP_KEY, LinkGuard(policy or LinkPolicy()), counter_bytes(5000))
    return Bench(pump, host, adapter)
