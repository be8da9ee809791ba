"""Command ids and session time on the wand link (issues 14 and 17.3).

A therapy change carries a command id that the pump logs in the same act: a retry with
an id already carried out is acknowledged from the log and never carried out again.
Requests carry the programmer's session time: a request held in transit (the MITM
delayed-bolus attack) is refused once it lags the pump's session clock by more than
MAX_REQUEST_LAG_S.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.pump import Pump
from itb.telemetry.errors import CommandAlreadyCarriedOut, CommandRejected, LinkTimeout
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.protocol.commands import (
    AlreadyCarriedOut,
    Bolus,
    ContinuousSpec,
    HardLimitsSpec,
    Program,
    ProgramSpec,
    Refill,
    Resume,
    Stop,
    TherapyChange,
)
from itb.telemetry.protocol.events import SecurityEventKind
from itb.telemetry.protocol.link import MAX_REQUEST_LAG_S

from .pumpkit import Bench, bench


def bolus_events(pump: Pump) -> int:
    return sum(1 for e in pump.log.entries() if e.kind == "bolus_given")


def held_bolus(b: Bench, after_s: float) -> tuple[ProgrammerClient, list[bytes]]:
    """Open a session, wait `after_s`, then send a Bolus that the air holds back (every byte
    to the pump from then on is kept, not delivered): the programmer gives up waiting."""
    held: list[bytes] = []
    holding = {"on": False}

    def hold(direction: str, data: bytes) -> bytes:
        if direction == "to_pump" and holding["on"]:
            held.append(data)
            return b""
        return data

    wand = b.client(interceptor=hold)
    wand.open()
    b.clock.now_s += after_s
    holding["on"] = True
    with pytest.raises(LinkTimeout):
        wand.bolus(Fraction(20), 600)
    return wand, held


@pytest.mark.req("REQ-PUMP-COMMAND-ID")
def test_a_therapy_change_logs_its_command_id_with_the_act() -> None:
    b = bench()
    with b.client() as wand:
        wand.bolus(Fraction(20), 600, command_id="visit-1-bolus")
    entry = b.adapter.pump.find_command("visit-1-bolus")
    assert entry is not None and dict(entry.details)["act"] == "bolus"
    # In the pump's state (saved before the answer leaves), so it survives a restart.
    assert Pump.from_state(b.adapter.pump.to_state()).find_command("visit-1-bolus") == entry


@pytest.mark.req("REQ-PUMP-COMMAND-ID")
def test_a_retried_command_id_is_answered_from_the_log_never_carried_out_twice() -> None:
    b = bench()
    with b.client() as wand:
        first = wand.bolus(Fraction(20), 600, command_id="retry-me")
    b.clock.now_s += 60
    with b.client() as wand:
        with pytest.raises(CommandAlreadyCarriedOut) as again:
            wand.bolus(Fraction(20), 600, command_id="retry-me")
        answer = wand.call(Bolus(Fraction(20), 600, "retry-me"), AlreadyCarriedOut)
    assert bolus_events(b.adapter.pump) == 1
    assert again.value.act == "bolus" and again.value.at == first.starts
    assert answer.command_id == "retry-me" and answer.at == first.starts


@pytest.mark.req("REQ-PUMP-COMMAND-ID")
def test_a_command_id_reused_for_another_act_is_refused_and_changes_nothing() -> None:
    b = bench()
    with b.client() as wand:
        wand.bolus(Fraction(20), 600, command_id="used-once")
        before = b.adapter.pump.mode
        with pytest.raises(CommandRejected, match="already used for bolus"):
            wand.call(Stop("used-once"), AlreadyCarriedOut)
    assert b.adapter.pump.mode == before


@pytest.mark.req("REQ-LINK-TIMELINESS")
def test_the_mitm_delayed_bolus_is_refused_when_delivered_30_s_later() -> None:
    """Issue 17.3 reproduced: a man in the middle holds the sealed Bolus request and drops the
    CLOSE; the programmer gives up; 30 s later the held request reaches the pump."""
    b = bench()
    wand, held = held_bolus(b, after_s=1)
    transport = wand.transport
    assert len(held) == 1  # the sealed Bolus request, held
    b.clock.now_s += 30
    transport.inject(held[0])  # type: ignore[attr-defined]
    assert bolus_events(b.adapter.pump) == 0
    delayed = [e for e in b.adapter.security_log.entries()
               if e.kind == SecurityEventKind.DELAYED_REQUEST.value]
    assert len(delayed) == 1 and "not carried out" in dict(delayed[0].details)["detail"]


@pytest.mark.req("REQ-LINK-TIMELINESS")
def test_a_request_within_the_allowed_lag_is_carried_out() -> None:
    b = bench()
    wand, held = held_bolus(b, after_s=0)
    b.clock.now_s += MAX_REQUEST_LAG_S - 1
    wand.transport.inject(held[0])  # type: ignore[attr-defined]
    assert bolus_events(b.adapter.pump) == 1


ACTS = st.sampled_from(["bolus", "stop", "resume"])
IDS = st.sampled_from(["a", "b", "c", "d"])


@pytest.mark.req("REQ-PUMP-COMMAND-ID")
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ACTS, IDS), min_size=1, max_size=12))
def test_every_command_id_is_carried_out_at_most_once(sent: list[tuple[str, str]]) -> None:
    """Whatever mix of new commands, retries and reused ids arrives, the pump's log holds each
    id at most once, and the pump acted exactly as often as it logged ids."""
    from itb.telemetry.protocol.commands import Resume
    from itb.telemetry.protocol.keys import Role
    from itb.telemetry.pumpside.adapter import PumpAdapter

    from .pumpkit import implanted_pump

    adapter = PumpAdapter(implanted_pump())
    make = {"bolus": lambda i: Bolus(Fraction(5), 600, i), "stop": Stop, "resume": Resume}
    for act, command_id in sent:
        adapter.handle(make[act](command_id), Role.CLINICIAN, 0.0)
    entries = adapter.pump.log.entries()
    logged = [dict(e.details)["command_id"] for e in entries if e.kind == "command_carried_out"]
    assert len(logged) == len(set(logged))
    acted = sum(1 for e in entries if e.kind in ("bolus_given", "pump_stopped", "pump_resumed"))
    assert acted == len(logged)


@pytest.mark.req("REQ-LINK-TIMELINESS")
@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.0, max_value=100.0, allow_nan=False))
def test_a_request_is_never_acted_on_once_it_lags_more_than_the_limit(delay_s: float) -> None:
    b = bench()
    held: list[bytes] = []

    def hold(direction: str, data: bytes) -> bytes:
        if direction == "to_pump" and len(held) < 1 and b.clock.now_s >= 1:
            held.append(data)
            return b""
        return data

    wand = b.client(interceptor=hold)
    wand.open()
    b.clock.now_s = 1.0
    with pytest.raises(LinkTimeout):
        wand.bolus(Fraction(20), 600)
    b.clock.now_s += delay_s
    wand.transport.inject(held[0])  # type: ignore[attr-defined]
    given_ = bolus_events(b.adapter.pump)
    # Beyond the limit never; within it (the session still open) exactly once.
    assert given_ == (0 if delay_s > MAX_REQUEST_LAG_S + 0.001 else 1) or (
        MAX_REQUEST_LAG_S - 0.001 <= delay_s <= MAX_REQUEST_LAG_S + 0.001)


THERAPY_CHANGES = [
    lambda cid: Program(ProgramSpec(ContinuousSpec(Fraction(300)),
                                    HardLimitsSpec(Fraction(600), Fraction(100))), command_id=cid),
    lambda cid: Refill(None, 18_000_000, Fraction(500), command_id=cid),
    lambda cid: Bolus(Fraction(20), 600, command_id=cid),
    lambda cid: Stop(command_id=cid),
    lambda cid: Resume(command_id=cid),
]


@pytest.mark.req("REQ-PUMP-COMMAND-ID")
@pytest.mark.parametrize("make", THERAPY_CHANGES)
@pytest.mark.parametrize("bad", ["", "x" * 33, "has space", "semi;colon", "ünïcode"])
def test_every_therapy_change_refuses_a_malformed_command_id_when_made(
        make: Callable[[str], TherapyChange], bad: str) -> None:
    with pytest.raises(InvalidInput, match="command_id"):
        make(bad)
    assert isinstance(make("visit-1-act"), TherapyChange)
