"""Pump settings: the low-reservoir alarm volume, the catheter volume and the clock. Each is
reviewed on one session, sent on a new one once the clinician confirms, and verified by the
pump's echo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from itb.errors import InvalidInput
from itb.programmer import guardrail_check, render
from itb.programmer.errors import EchoMismatch
from itb.programmer.view import Projection, PumpView, bolus_and_stroke, project_reservoir
from itb.programmer.workflows.reading import iso
from itb.programmer.workflows.visit import Visit, not_confirmed, refuse_blocked
from itb.telemetry.protocol.commands import CatheterVolumeSet, ClockSet, SetCatheterVolume
from itb.therapy import guardrails
from itb.therapy.guardrails import Finding
from itb.therapy.units import NL_PER_ML, display, to_exact_str


def _ml_exact(volume_nl: int) -> str:
    return to_exact_str(Fraction(volume_nl, NL_PER_ML))


@dataclass(frozen=True)
class AlarmVolumeReview:
    view: PumpView
    volume_nl: int
    projection: Projection  # the alarm and refill dates with the new alarm volume
    findings: tuple[Finding, ...] = ()  # the guardrails' warning or block (issue 14)
    override_reason: str | None = None

    def details(self) -> dict[str, object]:
        return {"low_reservoir_alarm_ml": _ml_exact(self.volume_nl),
                "low_reservoir_alarm_at": iso(self.projection.low_reservoir_alarm_at),
                **guardrails.record(self.findings, self.override_reason)}


def review_alarm_volume(visit: Visit, volume_nl: int, override_reason: str | None = None
                        ) -> AlarmVolumeReview:
    """Read the pump; the volume must be within the model's range (a hard refusal); the
    guardrails warn below the recommended residual and block far below it."""
    guardrails.check_override_reason(override_reason)
    with visit.session() as client:
        view = visit.read(client)
        facts = view.facts
        if not facts.low_reservoir_alarm_min_nl <= volume_nl <= facts.low_reservoir_alarm_max_nl:
            raise InvalidInput("--ml", f"{display(Fraction(volume_nl, NL_PER_ML))} mL",
                               f"{render.ml(facts.low_reservoir_alarm_min_nl)} to "
                               f"{render.ml(facts.low_reservoir_alarm_max_nl)} for {facts.name}")
        projection = project_reservoir(
            reservoir_nl=view.reservoir_estimate_nl,
            concentration_mcg_per_ml=view.concentration_mcg_per_ml,
            program=view.schedule if view.schedule is not None else view.daily_dose_mcg,
            alarm_nl=volume_nl, now=view.now, filled_at=view.last_refill_at,
            capacity_nl=view.report.reservoir.capacity_nl,
            **bolus_and_stroke(view.report, facts))
    return AlarmVolumeReview(view, volume_nl, projection,
                             guardrail_check.alarm_volume_findings(view, volume_nl),
                             override_reason)


def check_alarm_volume(visit: Visit, review: AlarmVolumeReview) -> None:
    """Refuse (and journal) a guardrail block that has no override reason (issue 14)."""
    refuse_blocked(visit, "alarm_volume", review.view,
                   f"alarm volume {render.ml(review.volume_nl)}", review.findings,
                   review.override_reason, review.details())


def set_alarm_volume(visit: Visit, review: AlarmVolumeReview, confirmed: bool) -> None:
    check_alarm_volume(visit, review)
    if not confirmed:
        raise not_confirmed()
    view, volume_nl = review.view, review.volume_nl
    with visit.send_session(view, "alarm volume") as client:
        echo = client.set_alarm_volume(volume_nl)
    if echo.low_reservoir_alarm_nl != volume_nl:
        raise EchoMismatch(f"The pump echoed an alarm volume of "
                           f"{render.ml(echo.low_reservoir_alarm_nl)}.",
                           "Interrogate the pump and set the alarm volume again.")
    visit.record("alarm_volume", view, view.serial,
                 "overridden" if guardrails.blocks(review.findings) else "done",
                 f"low-reservoir alarm volume set to {render.ml(volume_nl)}", review.details())


def set_catheter_volume(visit: Visit, view: PumpView, volume_nl: int, confirmed: bool) -> None:
    """Store the catheter volume (implant record, after a revision); verified by the echo."""
    if not confirmed:
        raise not_confirmed()
    with visit.send_session(view, "catheter volume") as client:
        echo = client.call(SetCatheterVolume(volume_nl), CatheterVolumeSet)
    if echo.catheter_volume_nl != volume_nl:
        raise EchoMismatch(f"The pump echoed a catheter volume of "
                           f"{render.ml(echo.catheter_volume_nl)}.",
                           "Interrogate the pump and set the catheter volume again.")
    visit.record("catheter_volume", view, view.serial, "done",
                 f"catheter volume stored: {render.ml(echo.previous_nl)} -> "
                 f"{render.ml(volume_nl)}", {"catheter_volume_ml": _ml_exact(volume_nl)})


def set_clock(visit: Visit, view: PumpView, target: datetime, confirmed: bool) -> ClockSet:
    """Set the pump's clock to `target` (whole seconds); the echo must be within a second."""
    if not confirmed:
        raise not_confirmed()
    with visit.send_session(view, "clock setting") as client:
        echo = client.set_clock(target)
    if abs(echo.pump_time - target) > timedelta(seconds=1):
        raise EchoMismatch(f"The pump's clock reads {render.when(echo.pump_time)}, not "
                           f"{render.when(target)}.", "Interrogate the pump and set it again.")
    visit.record("clock", view, view.serial, "done",
                 f"pump clock set from {iso(echo.previous)} to {iso(echo.pump_time)}",
                 {"previous": iso(echo.previous), "pump_time": iso(echo.pump_time)})
    return echo
