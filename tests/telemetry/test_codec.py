from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.telemetry.protocol.codec import WireFormatError
from itb.telemetry.protocol.commands import (
    AcknowledgeAlarm,
    Bolus,
    ContinuousSpec,
    FlexPeriod,
    FlexSpec,
    FlexStepSpec,
    HardLimitsSpec,
    Interrogate,
    PatientBolusSpec,
    PeriodicBolusSpec,
    Program,
    ProgramSpec,
    ReadLog,
    ReadSecurityLog,
    ReadStatus,
    Refill,
    RequestPatientBolus,
    Resume,
    SetAlarmVolume,
    SetCatheterVolume,
    SetClock,
    Stop,
)
from itb.telemetry.protocol.messages import REQUESTS

FLEX = ProgramSpec(
    FlexSpec((FlexStepSpec(0, 43_200, Fraction(200)), FlexStepSpec(43_200, 43_200, Fraction(300))),
             FlexPeriod.DAILY, 60, (PeriodicBolusSpec(3600, Fraction(25), 600),)),
    HardLimitsSpec(Fraction(600), Fraction(50)),
    PatientBolusSpec(Fraction(10), 3600, 4))
CONTINUOUS = ProgramSpec(ContinuousSpec(Fraction(300)), HardLimitsSpec(Fraction(400), Fraction(50)))

EVERY_COMMAND = [
    Interrogate(), ReadStatus(), ReadLog(10, 32), Program(FLEX), Program(CONTINUOUS, True),
    Refill(1_500_000, 20_000_000, Fraction(500), True), Refill(None, 5, Fraction(1, 3)),
    Bolus(Fraction(50), 600), ReadSecurityLog(0), RequestPatientBolus(), Stop(), Resume(),
    AcknowledgeAlarm("low_reservoir"), AcknowledgeAlarm(None),
    SetClock(datetime(2026, 11, 25, 16, 0, 0, 123, tzinfo=UTC)), SetAlarmVolume(2_000_000),
    SetCatheterVolume(110_000), Program(CONTINUOUS, False, "catheter revised"),
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
def test_every_command_encodes_and_decodes_to_itself(command: object) -> None:
    assert REQUESTS.decode(REQUESTS.encode(command)) == command  # type: ignore[arg-type]


def test_every_registered_command_is_covered() -> None:
    assert {type(c) for c in EVERY_COMMAND} == set(REQUESTS.kinds().values())


def test_exact_doses_stay_exact_on_the_wire() -> None:
    third = Bolus(Fraction(100, 3), 600)
    assert REQUESTS.decode(REQUESTS.encode(third)).dose_mcg == Fraction(100, 3)


def test_encoding_is_compact() -> None:
    # A therapy change carries its command id (16 hex characters, 17 bytes on the wire).
    assert len(REQUESTS.encode(Stop())) <= 3 + 17
    assert len(REQUESTS.encode(Program(CONTINUOUS))) < 30 + 17


@pytest.mark.parametrize("raw", [
    [0x12, [[50.0, 1], 600]],                      # float dose
    [0x12, [[50, 0], 600]],                        # zero denominator
    [0x12, [[50, 1]]],                             # missing field
    [0x12, [[50, 1], 600, 1]],                     # extra field
    [0x12, {"dose": 1}],                           # a map
    [0x99, []],                                    # unknown kind
    [0x03, [2**70, 10]],                           # bignum
    [0x17, [cbor2.CBORTag(1, 5)]],                 # a CBOR date tag
    [0x10, [[5, [[300, 1]]], [[1, 1], [1, 1]], None, False]],  # bad union tag
    [0x11, [None, 1000, [500, 1], 1]],             # 1 is not a bool (bridge_bolus)
    [0x16, ["x" * 1025]],                          # text longer than MAX_TEXT
    [0x16, [b"LOW_RESERVOIR"]],                    # bytes where text is expected
    "not a message",
])
def test_malformed_messages_are_refused_with_wire_format_error(raw: object) -> None:
    with pytest.raises(WireFormatError):
        REQUESTS.decode(cbor2.dumps(raw))


def test_well_formed_but_invalid_values_raise_invalid_input_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        REQUESTS.decode(cbor2.dumps([0x12, [[-5, 1], 600, "c1"]]))
    assert caught.value.field == "dose_mcg"


def test_naive_clock_time_is_refused() -> None:
    with pytest.raises(InvalidInput):
        SetClock(datetime(2026, 1, 1))


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_random_bytes_decode_or_raise_only_typed_errors(data: bytes) -> None:
    try:
        message = REQUESTS.decode(data)
    except (WireFormatError, InvalidInput):
        return  # the only refusals allowed: typed, never a crash
    assert type(message) in REQUESTS.kinds().values()


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**65), 2**65) | st.text(max_size=5)
    | st.binary(max_size=5) | st.floats(allow_nan=False),
    lambda children: st.lists(children, max_size=4), max_leaves=12)


@given(st.integers(0, 0x20), cbor_values)
@settings(max_examples=300, deadline=None)
def test_random_structures_decode_or_raise_only_typed_errors(kind: int, fields: object) -> None:
    try:
        message = REQUESTS.decode(cbor2.dumps([kind, fields]))
    except (WireFormatError, InvalidInput):
        return  # the only refusals allowed: typed, never a crash
    assert type(message) in REQUESTS.kinds().values()


@pytest.mark.parametrize("page", [ReadLog, ReadSecurityLog])
@pytest.mark.parametrize(("since_index", "limit", "field"), [
    (-1, 10, "since_index"), (0, 0, "limit"), (0, 129, "limit"),
])
def test_log_page_requests_refuse_a_bad_start_or_size_on_the_wire_too(
        page: type, since_index: int, limit: int, field: str) -> None:
    with pytest.raises(InvalidInput) as direct:
        page(since_index, limit)
    assert direct.value.field == field
    with pytest.raises(InvalidInput) as decoded:
        REQUESTS.decode(cbor2.dumps([page.KIND, [since_index, limit]]))
    assert decoded.value.field == field
