"""Shared set-up for the atheris targets: a pump link and a programmer link in known states.

Every target asserts the same invariants as the hypothesis tests: no input raises out
of the link, and nothing that was not sealed with the session key becomes a command.
"""

from __future__ import annotations

import sys
from itertools import count

import atheris

from itb.telemetry.protocol.commands import ReadStatus
from itb.telemetry.protocol.events import CommandReceived, ResponseReceived
from itb.telemetry.protocol.framing import FrameType, encode_frame
from itb.telemetry.protocol.guard import LinkGuard, LinkPolicy
from itb.telemetry.protocol.keys import LinkKey, Role, role_key
from itb.telemetry.protocol.programmer_link import ProgrammerLink
from itb.telemetry.protocol.pump_link import PumpLink

SERIAL = "FUZZ-1"
PUMP_KEY = bytes(range(32))
CLINIC = LinkKey(SERIAL, "clinic", PUMP_KEY)


def _nonces(seed: int):
    c = count(seed)
    return lambda n: next(c).to_bytes(n, "big")


def new_pump(policy: LinkPolicy | None = None) -> PumpLink:
    return PumpLink(SERIAL, lambda r: role_key(PUMP_KEY, SERIAL, r), LinkGuard(policy or
                    LinkPolicy()), 0.0, _nonces(1000))


def new_programmer(role: Role = Role.CLINICIAN) -> ProgrammerLink:
    return ProgrammerLink(SERIAL, CLINIC.key_for(role), role, random_bytes=_nonces(0))


def _handshake(exchanges: int) -> tuple[PumpLink, ProgrammerLink]:
    """A pump and a programmer after `exchanges` hand-overs of the handshake (pump first)."""
    pump, programmer = new_pump(), new_programmer()
    programmer.start(0.0)
    for step in range(exchanges):
        if step % 2 == 0:
            pump.receive_data(programmer.data_to_send(), 0.0)
        else:
            programmer.receive_data(pump.data_to_send(), 0.0)
    return pump, programmer


def pump_in_state(stage: int) -> PumpLink:
    """0: awaiting HELLO, 1: awaiting PROVE, 2: open session."""
    if stage == 0:
        return new_pump()
    pump, _ = _handshake((0, 1, 3)[stage])
    assert stage < 2 or pump.is_open
    return pump


def programmer_in_state(stage: int) -> ProgrammerLink:
    """0: awaiting CHALLENGE, 1: awaiting ACCEPT, 2: open with one request pending."""
    _, programmer = _handshake((0, 2, 4)[stage])
    if stage == 2:
        assert programmer.is_open
        programmer.send_request(ReadStatus(), 0.0)
    return programmer


def _feed(link: PumpLink | ProgrammerLink, chunks: list[bytes], forbidden: type,
          what: str) -> float:
    """Feed every chunk half a second apart; no event may be of the `forbidden` kind."""
    now = 0.0
    for chunk in chunks:
        now += 0.5
        for event in link.receive_data(chunk, now):
            assert not isinstance(event, forbidden), f"unsealed bytes became {what}"
    return now


def check_pump(pump: PumpLink, chunks: list[bytes]) -> None:
    now = _feed(pump, chunks, CommandReceived, "a command")
    for event in pump.tick(now + 1):
        assert not isinstance(event, CommandReceived)
    pump.connection_lost(now + 2)


def check_programmer(programmer: ProgrammerLink, chunks: list[bytes]) -> None:
    now = _feed(programmer, chunks, ResponseReceived, "an answer")
    programmer.tick(now + 1)


LINK_TARGETS = {"pump": (pump_in_state, check_pump),
                "programmer": (programmer_in_state, check_programmer)}


def fuzz_link(side: str) -> None:
    """Run the atheris target for one side's link state machine, in each of its states."""
    in_state, check = LINK_TARGETS[side]

    def test_one_input(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        check(in_state(fdp.ConsumeIntInRange(0, 2)), link_chunks(fdp))

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


def link_chunks(fdp: atheris.FuzzedDataProvider) -> list[bytes]:
    """What a link target feeds: raw byte runs and well-framed frames of every type."""
    chunks = []
    while fdp.remaining_bytes():
        if fdp.ConsumeBool():
            # Well-framed (valid CRC) bodies reach the crypto and parsers, not just the CRC.
            kind = list(FrameType)[fdp.ConsumeIntInRange(0, len(FrameType) - 1)]
            chunks.append(encode_frame(kind, fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 120))))
        else:
            chunks.append(fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64)))
    return chunks
