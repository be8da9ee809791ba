"""The catheter volume stored in the pump (issue 9.14).

The pump uses its stored catheter volume for the priming bolus and for the bridge bolus
after a change of concentration, so the figure must match the implant (or catheter
revision) record. `interrogate` shows it; `set-catheter-volume` stores a new one.
"""

from __future__ import annotations

from itb.programmer import render
from itb.programmer.view import PumpView
from itb.therapy.units import in_range, ml_to_nl

# The firmware's bound (itb.pump.pump.MAX_CATHETER_VOLUME_NL, unconfirmed): 1 mL is far
# more than any catheter (devices.md line 72: 0.0026 mL/cm x 110 cm = 0.286 mL).
MAX_CATHETER_ML = 1


def catheter_volume_nl(ml_text: str) -> int:
    volume = in_range("--ml", ml_text, 0, MAX_CATHETER_ML, "mL")
    return ml_to_nl("--ml", volume)


def change_line(view: PumpView, volume_nl: int) -> str:
    stored = view.report.catheter_volume_nl
    return (f"Catheter volume stored in pump {view.serial}: {render.ml(stored)} -> "
            f"{render.ml(volume_nl)} (pump tubing {render.ml(view.facts.tubing_volume_nl)}; "
            f"dead volume for priming and bridge boluses "
            f"{render.ml(view.facts.tubing_volume_nl + volume_nl)}).")
