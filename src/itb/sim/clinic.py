"""The simulated clinic: the part of a run that plans refills, enters programs and checks
the patient's response before a dose increase (issue 16.15).

The clinic works from what it can know: the pump's estimate of its reservoir (belief),
the therapy rules (`itb.therapy.plan_refill`, the labeled titration steps) and the
patient it examines. The timeline's other acts (refills, stops, replacements) are
functions over a `Clinic` in their own modules (`refill_visit`, `acts`, `implant`).

The response check:

A poor response to rising doses prompts a pump and catheter check before the next
increase (issue 16.15; Saulino et al., "Best practices for intrathecal baclofen therapy:
troubleshooting", Neuromodulation 2016;19(6):632-41, via lioresal.com; seed 004 lists
catheter blockage, migration and pump failure among the device complications). The clinic
examines the patient (Modified Ashworth) at each increase; when the dose has risen by
POOR_RESPONSE_DOSE_RISE over the last two increases within POOR_RESPONSE_WINDOW_S and the
tone has not fallen by POOR_RESPONSE_ASHWORTH_DROP or is still at least
UNCONTROLLED_ASHWORTH (spasticity not controlled despite the rise), it interrogates the
pump and checks
the catheter (an access-port aspiration or a dye study: a physical test, so it finds what
is physically there) before giving another increase. All three figures are *unconfirmed*
clinic choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from itb.errors import InvalidInput
from itb.pump import Pump
from itb.pump.catalogue import MODELS, PumpModel
from itb.pump.physical import DISCONNECTED, OCCLUDED, PARTIAL_OCCLUSION
from itb.pump.records import to_datetime
from itb.sim.agenda import Agenda, PlannedRefill
from itb.sim.patient_feed import PatientFeed
from itb.sim.programs import BuiltProgram, build_program, check_dose_change, scaled_program
from itb.sim.recorder import PumpRecorder
from itb.sim.records import Journal
from itb.sim.scenario import Scenario
from itb.sim.schema import ProgramEvent, TitrateEvent
from itb.therapy.refill import RefillPlan, plan_refill
from itb.therapy.units import NL_PER_ML, display


def ml(volume_nl: int) -> Fraction:
    return Fraction(volume_nl, NL_PER_ML)


POOR_RESPONSE_DOSE_RISE = Fraction(6, 5)
POOR_RESPONSE_WINDOW_S = 14 * 86_400
POOR_RESPONSE_ASHWORTH_DROP = 0.25
UNCONTROLLED_ASHWORTH = 2.5


@dataclass(frozen=True)
class Increase:
    """One dose increase the clinic gave: when, the dose before it, the tone then."""

    time_s: int
    dose_before_mcg_per_day: Fraction
    ashworth: float


def poor_response(increases: list[Increase], now_s: int, dose_now: Fraction,
                  ashworth_now: float) -> bool:
    """Two increases within the window raised the dose enough, and the tone did not fall."""
    if len(increases) < 2:
        return False
    first = increases[-2]
    return (now_s - first.time_s <= POOR_RESPONSE_WINDOW_S
            and dose_now >= first.dose_before_mcg_per_day * POOR_RESPONSE_DOSE_RISE
            and (ashworth_now > first.ashworth - POOR_RESPONSE_ASHWORTH_DROP
                 or ashworth_now >= UNCONTROLLED_ASHWORTH))


def check_pump_and_catheter(pump: Pump) -> str | None:
    """What an interrogation and a catheter check find, in words; None if nothing."""
    status = pump.status()
    found = []
    if status.alarms:
        found.append("pump alarms: " + ", ".join(kind for kind, _critical, _on in status.alarms))
    if pump.stalled:
        found.append("the pump's motor is stalled")
    catheter = pump.physical.catheter
    if catheter.state == OCCLUDED:
        found.append("the catheter is blocked (nothing can be aspirated)")
    elif catheter.state == PARTIAL_OCCLUSION:
        found.append("the catheter is partly blocked")
    elif catheter.state == DISCONNECTED:
        share = Fraction(catheter.leak_ppm, 1_000_000)
        found.append("the catheter leaks" + ("" if share == 1 else
                                             f" ({display(share * 100, 1)} % of the flow)")
                     + " before its tip")
    return "; ".join(found) or None


class Clinic:
    """The clinic's state between acts: the program in force, when the dose last changed,
    a stop's start, a restart titration's target and the dose increases given."""

    def __init__(self, scenario: Scenario, recorder: PumpRecorder, journal: Journal,
                 patient: PatientFeed, agenda: Agenda) -> None:
        self.scenario = scenario
        self.spec = scenario.spec
        self.model: PumpModel = MODELS[self.spec.pump.model]
        self.recorder = recorder
        self.journal = journal
        self.patient = patient
        self.agenda = agenda
        self.built: BuiltProgram | None = None  # the program in force
        self.auto_generation = 0  # the latest refill plan's number (PlannedRefill)
        self.pump_count = 0
        self.last_dose_change_s = scenario.implant_s
        self.gap_since_s: int | None = None  # the pump stopped or emptied (sim.acts)
        # CSF drawn into the catheter by an access-port aspiration: primed out at the next
        # refill of an emptied pump (sim.acts, sim.refill_visit).
        self.catheter_aspirated_nl = 0
        self.retitrate_target: BuiltProgram | None = None
        self.increases: list[Increase] = []

    @property
    def pump(self) -> Pump:
        return self.recorder.pump

    @property
    def program(self) -> BuiltProgram:
        assert self.built is not None
        return self.built

    @property
    def capacity_nl(self) -> int:
        return self.pump.model.reservoir_capacity_nl

    def note(self, time_s: int, source: str, kind: str, detail: str = "") -> None:
        self.journal.note(time_s, source, kind, detail)

    def plan(self, now_s: int) -> RefillPlan | None:
        """The clinic's refill plan from the pump's estimate (belief), via itb.therapy; with
        auto_refill, the planned refill goes on the agenda."""
        pump = self.pump
        try:
            plan = plan_refill(
                reservoir_ml=ml(pump.reservoir_estimate_nl),
                concentration_mcg_per_ml=pump.concentration_mcg_per_ml,
                program=self.program.refill_schedule(), alarm_ml=ml(pump.low_reservoir_alarm_nl),
                now=to_datetime(now_s), capacity_ml=ml(self.capacity_nl),
                safety_margin_days=(self.spec.auto_refill.safety_margin_days
                                    if self.spec.auto_refill else Fraction(7)))
        except InvalidInput as error:
            self.note(now_s, "clinic", "refill_plan_unavailable", str(error))
            return None
        self.journal.plans.append((now_s, plan))
        self.note(now_s, "clinic", "refill_planned",
                  f"refill by {plan.refill_by.isoformat()} ({plan.refill_by_reason}); "
                  f"low-reservoir alarm expected {plan.alarm_at.isoformat()}")
        auto = self.spec.auto_refill
        if auto is not None and auto.enabled:
            self.auto_generation += 1
            when = int(plan.refill_by.timestamp())  # floored: the safe side
            self.agenda.schedule(max(when, now_s + 1), PlannedRefill(self.auto_generation))
        return plan

    def enter(self, when: int, built: BuiltProgram) -> None:
        """Send a program to the pump (it also ends a stop) and record the change."""
        self.pump.program(built.program)
        if built.daily_dose_mcg != self.program.daily_dose_mcg:
            self.last_dose_change_s = when
        self.built = built
        self.journal.program_changes_s.append(when)

    def reprogram(self, when: int, event: ProgramEvent | TitrateEvent) -> None:
        """A new program or a titration step, checked against the labeled steps (the static
        check cannot see a dose that came from the screening trial), then sent to the pump."""
        pump = self.pump
        current = self.program
        conc = pump.concentration_mcg_per_ml
        if isinstance(event, ProgramEvent):
            spec = event.program
            what = f"({spec.type})"
        else:
            spec = scaled_program(current.spec, event.percent, conc)
            what = f"(titration {display(event.percent)} %)"
        built = build_program(spec, pump.model, conc, when)
        if event.titration_check:
            check_dose_change(current.daily_dose_mcg, built.daily_dose_mcg,
                              self.spec.patient, event.phase, self.last_dose_change_s, when,
                              event.override_reason)
        if not self.response_check(when, built.daily_dose_mcg):
            return  # held: the check found a pump or catheter fault (noted)
        self.enter(when, built)
        self.gap_since_s = None  # a new program ends a stop (sim.acts)
        self.note(when, "clinic", "program", f"{display(built.daily_dose_mcg)} mcg/day {what}")
        self.plan(when)

    def response_check(self, when: int, proposed: Fraction) -> bool:
        """Before an increase: on a poor response to rising doses the clinic checks the
        pump and catheter first; True if the increase may go ahead."""
        current = self.program.daily_dose_mcg
        if proposed <= current or not self.journal.recording:
            return True
        ashworth = self.patient.observe(self.recorder.history, when)
        if poor_response(self.increases, when, current, ashworth):
            finding = check_pump_and_catheter(self.pump)
            self.note(when, "clinic", "catheter_check",
                      f"poor response to rising doses (Ashworth {ashworth:.1f}): pump and "
                      f"catheter checked before the next increase: "
                      + (f"found {finding}; the increase is held" if finding else
                         "no fault found"))
            if finding:
                return False
        self.increases.append(Increase(when, current, ashworth))
        return True
