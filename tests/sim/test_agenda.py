"""The run's agenda and its handlers: events come out by time, then priority, then the order
they were scheduled in; every kind of event and of timeline entry has exactly one handler."""

from __future__ import annotations

import typing

from itb.sim import schema
from itb.sim.agenda import Agenda, PlannedRefill, RetitrateStep, Scheduled, StallEnds, TimelineAct
from itb.sim.runner import ENTRY_HANDLERS, HANDLERS


def test_events_come_out_by_time_then_priority_then_scheduling_order() -> None:
    agenda = Agenda()
    entry = schema.AcknowledgeEvent(event="acknowledge_alarms", day=0)
    agenda.schedule(20, PlannedRefill(1))
    agenda.schedule(10, PlannedRefill(2))
    agenda.schedule(10, RetitrateStep())
    agenda.schedule(10, TimelineAct(0, entry))
    agenda.schedule(10, StallEnds("mri"))
    agenda.schedule(10, TimelineAct(1, entry))
    assert not agenda.due_by(9)
    out = []
    while agenda.due_by(20):
        out.append(agenda.pop())
    assert out == [(10, StallEnds("mri")), (10, TimelineAct(0, entry)),
                   (10, TimelineAct(1, entry)), (10, RetitrateStep()), (10, PlannedRefill(2)),
                   (20, PlannedRefill(1))]
    agenda.schedule(5, RetitrateStep())
    agenda.clear()
    assert not agenda.due_by(10**9)


def test_every_agenda_event_kind_has_one_handler() -> None:
    assert set(HANDLERS) == set(Scheduled.__subclasses__())


def test_every_timeline_entry_kind_has_one_handler() -> None:
    entry_types = typing.get_args(typing.get_args(schema.TimelineEvent)[0])
    assert set(ENTRY_HANDLERS) == set(entry_types)
    kinds = {t.model_fields["event"].annotation.__args__[0] for t in entry_types}
    assert kinds == set(schema.EVENT_KINDS)
