"""Pump models as data, each figure with its source or marked *unconfirmed*.

Sources: `devices.md` and `domain.md` in ../shared/docs (cited as devices.md /
domain.md), seeds in ../shared/seeds. Figures that devices.md marks *unconfirmed*,
or that itb had to choose, are marked "unconfirmed" next to the number.

Battery calibration (see docs/pump.md): idle drain a per day and stroke drain b per
mL are chosen with a = 4 b and usable capacity C = 10,957.5 b, so that longevity is
C / (a + b q) for a flow of q mL/day:
  q = 0.6 mL/day (devices.md worked example, 300 mcg/day at 500 mcg/mL) -> 6.5 years,
  q = 1 mL/day -> 6.0 years, q = 2 mL/day -> 5.0 years,
  q = 0.048 mL/day (minimum rate) -> 7.4 years, cut to 7 years by the automatic shut-off.
This reproduces devices.md's "typical life 5 to 7 years depending on the programmed
daily volume, 7 years at most" (medtronic.com UK, 'Getting a Replacement').
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from itb.errors import InvalidInput

SECONDS_PER_YEAR = 31_557_600  # Julian year, 365.25 days


@dataclass(frozen=True)
class PumpModel:
    """One implantable pump model. Volumes in nL, charges in nanocoulombs (nA·s)."""

    name: str
    description: str
    reservoir_capacity_nl: int
    nominal_stroke_nl: int
    min_flow_nl_per_day: int
    max_flow_nl_per_day: int
    tubing_volume_nl: int
    stated_accuracy_ppm: int  # ± parts per million of delivered volume
    calibration_spread_ppm: int  # per-pump calibration factor drawn in ± this
    max_drift_ppm_per_year: int  # slow wear drift drawn in ± this
    low_reservoir_alarm_min_nl: int
    low_reservoir_alarm_max_nl: int
    low_reservoir_alarm_default_nl: int
    empty_reservoir_nl: int  # firmware estimate at or below which "reservoir empty" sounds
    battery_usable_nc: int  # charge from implant to end of service
    idle_current_na: int
    stroke_charge_nc: int
    telemetry_session_charge_nc: int
    noncritical_tone_charge_nc: int
    critical_tone_charge_nc: int
    eri_warning_s: int  # ERI this long before EOS at the present drain
    automatic_shutoff_s: int  # EOS at this age whatever the charge
    noncritical_tone_s: int
    critical_tone_s: int
    alarm_repeat_s: int
    noncritical_rearm_s: int
    critical_rearm_s: int
    max_flex_steps_per_day: int
    patient_bolus_duration_s: int

    @property
    def stated_accuracy(self) -> Fraction:
        return Fraction(self.stated_accuracy_ppm, 1_000_000)

    def longevity_s(self, flow_nl_per_day: int) -> Fraction:
        """Seconds from implant to EOS by charge alone at a steady flow (no alarms)."""
        drain_per_s = Fraction(self.idle_current_na) + Fraction(
            self.stroke_charge_nc * flow_nl_per_day, self.nominal_stroke_nl * 86_400)
        return Fraction(self.battery_usable_nc) / drain_per_s


# Shared SynchroMed-II-like figures.
_IDLE_NA = 8_000  # unconfirmed: itb calibration (see module docstring), 8 µA quiescent drain
_STROKE_NC = 43_200  # unconfirmed: calibrated so that 1 mL/day costs a quarter of the idle drain
_USABLE_NC = 1_893_456_000_000  # unconfirmed: 526 mAh, calibrated to 5-7 years (devices.md)

_SYNCHROMED_COMMON: dict[str, int] = {
    "nominal_stroke_nl": 250,  # unconfirmed: itb's choice for the peristaltic roller's stroke
    "min_flow_nl_per_day": 48_000,  # devices.md: minimum rate about 0.048 mL/day (unconfirmed)
    "max_flow_nl_per_day": 24_000_000,  # unconfirmed: 24 mL/day (1 mL/h) programmable maximum
    "tubing_volume_nl": 222_000,  # unconfirmed: internal pump tubing about 0.222 mL
    "stated_accuracy_ppm": 145_000,  # devices.md: about ±14.5% (unconfirmed)
    "calibration_spread_ppm": 80_000,  # itb: ±8%, so with drift within ±14.5%
    "max_drift_ppm_per_year": 5_000,  # itb: at most 0.5%/year, 3.5% over 7 years
    "low_reservoir_alarm_min_nl": 500_000,  # unconfirmed: programmable range 0.5 mL ...
    "low_reservoir_alarm_default_nl": 2_000_000,  # devices.md: default about 2 mL (unconfirmed)
    "empty_reservoir_nl": 0,  # unconfirmed: itb sounds "empty" when the estimate reaches 0
    "battery_usable_nc": _USABLE_NC,
    "idle_current_na": _IDLE_NA,
    "stroke_charge_nc": _STROKE_NC,
    "telemetry_session_charge_nc": 1_000_000,  # unconfirmed: 1 mC per wand session
    "noncritical_tone_charge_nc": 1_000_000,  # unconfirmed: 1 s tone at 1 mA
    "critical_tone_charge_nc": 3_000_000,  # unconfirmed: 3 s tones at 1 mA
    "eri_warning_s": 90 * 86_400,  # devices.md: after ERI the pump stops after 90 days
    "automatic_shutoff_s": 7 * SECONDS_PER_YEAR,  # devices.md: 7 years at most (automatic shut-off)
    "noncritical_tone_s": 1,  # devices.md: one-second single tone (medtronic.com advisory 2011)
    "critical_tone_s": 3,  # devices.md: three-second two-tone alarm
    "alarm_repeat_s": 3_600,  # unconfirmed: the tone repeats hourly while sounding
    "noncritical_rearm_s": 86_400,  # unconfirmed: silenced, re-sounds after 24 h
    "critical_rearm_s": 3_600,  # unconfirmed: a silenced critical alarm re-sounds after 1 h
    "max_flex_steps_per_day": 48,  # itb: issue 2 asks ≥ 24 (devices.md: ~10)
    "patient_bolus_duration_s": 600,  # unconfirmed: a patient bolus runs over 10 minutes
}


def _synchromed(name: str, description: str, *, capacity_nl: int,
                alarm_max_nl: int) -> PumpModel:
    """A model of the SynchroMed-like family: its reservoir and highest alarm volume; the rest
    is the family's figures above."""
    return PumpModel(name=name, description=description, reservoir_capacity_nl=capacity_nl,
                     low_reservoir_alarm_max_nl=alarm_max_nl, **_SYNCHROMED_COMMON)


# Reservoirs: devices.md, 20 or 40 mL (unconfirmed; issue 2), and seed 002, "the older pump has
# a 10 mL reservoir". The highest low-reservoir alarm volumes are unconfirmed.
MODELS: dict[str, PumpModel] = {model.name: model for model in (
    _synchromed("synchromed-ii-20",
                "SynchroMed II-like programmable peristaltic pump, 20 mL reservoir",
                capacity_nl=20_000_000, alarm_max_nl=5_000_000),
    _synchromed("synchromed-ii-40",
                "SynchroMed II-like programmable peristaltic pump, 40 mL reservoir",
                capacity_nl=40_000_000, alarm_max_nl=10_000_000),
    _synchromed("synchromed-10", "older programmable pump with a 10 mL reservoir (seed 002)",
                capacity_nl=10_000_000, alarm_max_nl=3_000_000),
)}


def get_model(name: str) -> PumpModel:
    """The catalogue entry called `name`, or a clear refusal listing the choices."""
    try:
        return MODELS[name]
    except KeyError:
        raise InvalidInput("model", name, "one of: " + ", ".join(sorted(MODELS))) from None
