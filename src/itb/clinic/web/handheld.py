"""A patient bolus asked from the portal, as a patient's handheld asks it: over the wand
link to the patient's served pump, in a patient-role session (the pump's patient key, made
from the clinic's key file of the implant: `LinkKey.key_for(Role.PATIENT)`).

The pump alone decides: a bolus only if its program has one, and its lockout and 24-hour
maximum are enforced by the pump (itb.pump), not here. The page shows what the pump
answered; a refusal on the way (no pump address, link refused, lost answer) is worded by
the programmer's one table (`itb.programmer.refusals.explain`). When the answer was lost
after the request was sent, the page says the bolus may or may not have started, never
that it did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from itb.clinic.models import Implant
from itb.errors import ItbError
from itb.programmer.refusals import explain
from itb.programmer.wand import ConnectionOptions, load_key
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.protocol.commands import PatientBolusResult
from itb.telemetry.protocol.keys import Role
from itb.therapy.units import display


@dataclass(frozen=True)
class BolusAnswer:
    outcome: str  # granted | refused | failed | unknown
    said: str
    next_step: str = ""


def _granted(result: PatientBolusResult) -> BolusAnswer:
    if result.granted:
        ends = f", until {result.ends:%H:%M} UTC" if result.ends else ""
        return BolusAnswer("granted", f"The pump is giving your bolus of "
                           f"{display(result.dose_mcg or 0)} mcg{ends}.",
                           f"{result.boluses_left_24h} more allowed in the next 24 hours.")
    when = (f" The next one may be asked for after {result.next_available:%Y-%m-%d %H:%M} UTC."
            if isinstance(result.next_available, datetime) else "")
    return BolusAnswer("refused", f"The pump refused the bolus: {result.reason}.{when}",
                       "If your symptoms are bad, call the care team.")


def ask_pump(implant: Implant) -> BolusAnswer:
    """Ask the implant's served pump for the prescribed patient bolus (one request)."""
    if not (implant.pump_host and implant.pump_port and implant.key_file):
        return BolusAnswer("failed", "The clinic does not know how to reach your pump.",
                           "Ask the care team to record where your pump is served.")
    options = ConnectionOptions(implant.pump_host, implant.pump_port,
                                Path(implant.key_file), implant.pump_serial)
    sent = False
    try:
        key = load_key(options.key_file, options.serial)
        with ProgrammerClient.connect_tcp(options.host, options.port, key,
                                          Role.PATIENT) as client:
            sent = True
            result = client.request_patient_bolus()
    except (ItbError, OSError) as exc:
        what, next_step = explain(exc, options) if isinstance(exc, ItbError) else (
            f"The pump could not be reached ({exc.strerror or exc}).",
            "Try again near the pump, or call the care team.")
        if sent:
            return BolusAnswer("unknown", f"{what} The bolus may or may not have started.",
                               "Do not ask again for now: call the care team.")
        return BolusAnswer("failed", what, next_step)
    return _granted(result)
