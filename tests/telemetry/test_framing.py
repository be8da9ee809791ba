from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from itb.telemetry.protocol.framing import (
    FRAME_OVERHEAD_BYTES,
    MAX_BODY_BYTES,
    Frame,
    FrameDecoder,
    FrameType,
    Garbage,
    crc16,
    encode_frame,
)

frame_types = st.sampled_from(list(FrameType))
bodies = st.binary(max_size=300)


def decode_all(data: bytes) -> list[Frame | Garbage]:
    decoder = FrameDecoder()
    decoder.receive_data(data)
    return decoder.flush()


def test_crc_is_ccitt_false_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1


def test_frame_overhead_is_six_bytes() -> None:
    assert len(encode_frame(FrameType.REQUEST, b"abc")) == 3 + FRAME_OVERHEAD_BYTES == 9


def test_wire_layout_version_type_length_body_crc() -> None:
    wire = encode_frame(FrameType.HELLO, b"\x01\x02")
    assert wire[:4] == bytes([1, 0x01, 0, 2])
    assert wire[4:6] == b"\x01\x02"
    assert int.from_bytes(wire[6:], "big") == crc16(wire[:6])


@given(frame_types, bodies)
@settings(max_examples=100, deadline=None)
def test_every_frame_decodes_to_itself(frame_type: FrameType, body: bytes) -> None:
    items = decode_all(encode_frame(frame_type, body))
    assert items == [Frame(1, frame_type, body)]


@given(st.lists(st.tuples(frame_types, bodies), min_size=1, max_size=5), st.data())
@settings(max_examples=60, deadline=None)
def test_frames_decode_the_same_however_the_stream_is_split(
        frames: list[tuple[FrameType, bytes]], data: st.DataObject) -> None:
    wire = b"".join(encode_frame(t, b) for t, b in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    decoder = FrameDecoder()
    got: list[Frame | Garbage] = []
    last = 0
    for cut in [*cuts, len(wire)]:
        decoder.receive_data(wire[last:cut])
        got += decoder.next_items()
        last = cut
    got += decoder.flush()
    assert got == [Frame(1, t, b) for t, b in frames]


@given(st.binary(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_random_bytes_never_raise_and_are_reported_or_framed(noise: bytes) -> None:
    items = decode_all(noise)
    consumed = sum(it.skipped_bytes if isinstance(it, Garbage)
                   else len(it.body) + FRAME_OVERHEAD_BYTES for it in items)
    assert consumed == len(noise)


@given(frame_types, st.binary(min_size=1, max_size=200), st.data())
@settings(max_examples=100, deadline=None)
def test_a_bit_flip_never_yields_a_different_frame(frame_type: FrameType, body: bytes,
                                                   data: st.DataObject) -> None:
    wire = bytearray(encode_frame(frame_type, body))
    bit = data.draw(st.integers(0, len(wire) * 8 - 1))
    wire[bit // 8] ^= 1 << (bit % 8)
    frames = [it for it in decode_all(bytes(wire)) if isinstance(it, Frame)]
    # CRC-16 detects every single-bit error: the damaged frame never decodes.
    assert Frame(1, frame_type, body) not in frames
    assert all(f.body != body or f.type != frame_type for f in frames)


def test_decoder_resynchronises_after_garbage_and_a_truncated_frame() -> None:
    good = encode_frame(FrameType.REQUEST, b"payload")
    truncated = encode_frame(FrameType.RESPONSE, b"x" * 40)[:20]
    items = decode_all(b"\xff\x00junk" + good + truncated + good)
    frames = [it for it in items if isinstance(it, Frame)]
    assert frames == [Frame(1, FrameType.REQUEST, b"payload")] * 2
    assert any(isinstance(it, Garbage) for it in items)


def test_oversized_length_is_skipped_not_waited_for() -> None:
    bogus = bytes([1, FrameType.REQUEST, 0xFF, 0xFF])
    assert MAX_BODY_BYTES < 0xFFFF
    items = decode_all(bogus + encode_frame(FrameType.CLOSE, b""))
    assert items[-1] == Frame(1, FrameType.CLOSE, b"")
