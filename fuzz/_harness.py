"""Shared set-up for the atheris targets: a pump link and a programmer link in known states.

Every target asserts the same invariants as the hypothesis tests: no input raises out
of the link, and nothing that was not sealed with the session key becomes a command.
"""

from __future__ import annotations

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


def pump_in_state(stage: int) -> PumpLink:
    """0: awaiting HELLO, 1: awaiting PROVE, 2: open session."""
    pump = new_pump()
    if stage == 0:
        return pump
    programmer = new_programmer()
    programmer.start(0.0)
    pump.receive_data(programmer.data_to_send(), 0.0)
    if stage == 1:
        return pump
    programmer.receive_data(pump.data_to_send(), 0.0)
    pump.receive_data(programmer.data_to_send(), 0.0)
    assert pump.is_open
    return pump


def programmer_in_state(stage: int) -> ProgrammerLink:
    """0: awaiting CHALLENGE, 1: awaiting ACCEPT, 2: open with one request pending."""
    programmer = new_programmer()
    programmer.start(0.0)
    if stage == 0:
        return programmer
    pump = new_pump()
    pump.receive_data(programmer.data_to_send(), 0.0)
    programmer.receive_data(pump.data_to_send(), 0.0)
    if stage == 1:
        return programmer
    pump.receive_data(programmer.data_to_send(), 0.0)
    programmer.receive_data(pump.data_to_send(), 0.0)
    assert programmer.is_open
    programmer.send_request(ReadStatus(), 0.0)
    return programmer


def check_pump(pump: PumpLink, chunks: list[bytes]) -> None:
    now = 0.0
    for chunk in chunks:
        now += 0.5
        for event in pump.receive_data(chunk, now):
            assert not isinstance(event, CommandReceived), "unsealed bytes became a command"
    for event in pump.tick(now + 1):
        assert not isinstance(event, CommandReceived)
    pump.connection_lost(now + 2)


def check_programmer(programmer: ProgrammerLink, chunks: list[bytes]) -> None:
    now = 0.0
    for chunk in chunks:
        now += 0.5
        for event in programmer.receive_data(chunk, now):
            assert not isinstance(event, ResponseReceived), "unsealed bytes became an answer"
    programmer.tick(now + 1)


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
