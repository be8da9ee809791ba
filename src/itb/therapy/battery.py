"""Battery planning: the expected elective replacement indicator (ERI) date.

A pure function of the reported remaining charge, the flow rate and the battery
model's parameters, which the caller passes in (the pump model lives in
`itb.pump`, which `itb.therapy` does not import). The drain model: a steady idle
current plus a charge per pump stroke; the pump runs out of charge at end of
service (EOS), and the ERI comes `eri_warning_s` before EOS at the present drain
(90 days for the reference pump [MDT-UK via devices.md]). An automatic shut-off
age, when given with the implant date, caps EOS (7 years for the reference pump).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.flex import add_seconds
from itb.therapy.units import (
    NL_PER_ML,
    SECONDS_PER_DAY,
    ExactLike,
    display,
    in_range,
    require_utc,
)

# ERI 90 days before EOS [MDT-UK via devices.md].
_ERI_WARNING_S = catalogue.ERI_TO_END_OF_SERVICE_DAYS * SECONDS_PER_DAY


@dataclass(frozen=True)
class BatteryForecast:
    now: datetime
    drain_nc_per_s: Fraction
    seconds_to_eos: Fraction
    seconds_to_eri: Fraction  # 0 when the ERI is already due
    eos_at: datetime
    eri_at: datetime
    limited_by_shutoff: bool  # EOS set by the automatic shut-off age, not by charge
    eri_already_due: bool

    @property
    def days_to_eri(self) -> Fraction:
        return self.seconds_to_eri / SECONDS_PER_DAY


def forecast_battery(*, remaining_charge_nc: ExactLike, flow_ml_per_day: ExactLike,
                     now: datetime, idle_current_na: ExactLike, stroke_charge_nc: ExactLike,
                     stroke_volume_nl: ExactLike,
                     eri_warning_s: ExactLike = _ERI_WARNING_S,
                     implanted_at: datetime | None = None,
                     automatic_shutoff_s: ExactLike | None = None) -> BatteryForecast:
    """When the ERI and EOS will come at a steady flow (mean flow for a flex schedule)."""
    now = require_utc("now", now)
    remaining = in_range("remaining_charge_nc", remaining_charge_nc, 0, None, "nC")
    flow = in_range("flow_ml_per_day", flow_ml_per_day, 0, 100, "mL/day")
    idle = in_range("idle_current_na", idle_current_na, 0, None, "nA")
    stroke_charge = in_range("stroke_charge_nc", stroke_charge_nc, 0, None, "nC")
    stroke_nl = in_range("stroke_volume_nl", stroke_volume_nl, 0, None, "nL", low_inclusive=False)
    warning = in_range("eri_warning_s", eri_warning_s, 0, None, "s")
    drain = idle + stroke_charge * flow * NL_PER_ML / stroke_nl / SECONDS_PER_DAY
    if drain <= 0:
        raise InvalidInput("idle_current_na + stroke drain", display(drain), "more than 0 nA",
                           "with no drain the battery never runs down")
    to_eos = remaining / drain
    limited = False
    if (implanted_at is None) != (automatic_shutoff_s is None):
        raise InvalidInput("implanted_at / automatic_shutoff_s", "only one given",
                           "both or neither")
    if implanted_at is not None and automatic_shutoff_s is not None:
        if require_utc("implanted_at", implanted_at) > now:
            raise InvalidInput("implanted_at", implanted_at, "a UTC datetime not after now")
        shutoff = in_range("automatic_shutoff_s", automatic_shutoff_s, 0, None, "s",
                           low_inclusive=False)
        elapsed = now - implanted_at
        age = Fraction(elapsed.days * SECONDS_PER_DAY + elapsed.seconds) + Fraction(
            elapsed.microseconds, 1_000_000)
        if shutoff - age < to_eos:
            to_eos, limited = max(shutoff - age, Fraction(0)), True
    to_eri = max(to_eos - warning, Fraction(0))
    try:
        eos_at = add_seconds(now, to_eos)
    except InvalidInput:  # name the input that asks for it, not the computed instant
        raise InvalidInput("remaining_charge_nc", f"{display(remaining)} nC",
                           f"a charge that runs out before year 9999 at the drain of "
                           f"{display(drain)} nA") from None
    return BatteryForecast(now=now, drain_nc_per_s=drain, seconds_to_eos=to_eos,
                           seconds_to_eri=to_eri, eos_at=eos_at,
                           eri_at=add_seconds(now, to_eri), limited_by_shutoff=limited,
                           eri_already_due=to_eri == 0)
