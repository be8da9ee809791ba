"""Issue 17.2: crafted bytes could make the frame decoder burn a core.

As filed: a CRC over up to 8 KiB at every offset whose header looked valid, a rescan of the
buffer on every read while a frame was incomplete, and a 64 KiB read before the HELLO; a
116 KiB/s stream held the server at 100% of a core. Reproduced against a served pump; the
CPU figures before and after are in bench/telemetry.py (`--attack`).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from itb.telemetry.io.server import PRE_HELLO_BYTES
from itb.telemetry.protocol.framing import (
    MAX_CRC_FAILURES,
    MAX_SKIPPED_BYTES,
    Frame,
    FrameDecoder,
    FrameType,
    encode_frame,
)
from itb.telemetry.protocol.keys import Role
from itb.telemetry.protocol.programmer_link import ProgrammerLink

from .served import CLINIC_KEY, SERIAL, raw_socket, read_until_closed, served_in_process

# A REQUEST header announcing 8,176 bytes, every 4 bytes: each offset with this header is a
# complete frame (once 8 KiB are buffered) whose CRC fails, 2,000 CRC bytes per byte sent.
CRAFTED = bytes([1, FrameType.REQUEST, 0x1F, 0xF0]) * 16_384


def hello() -> bytes:
    link = ProgrammerLink(SERIAL, CLINIC_KEY.key_for(Role.CLINICIAN), Role.CLINICIAN)
    link.start(0.0)
    return link.data_to_send()


def test_the_decoder_gives_up_after_a_bounded_number_of_crc_failures() -> None:
    decoder = FrameDecoder()
    for start in range(0, len(CRAFTED), 1460):  # as TCP segments arrive
        decoder.receive_data(CRAFTED[start:start + 1460])
        decoder.next_items()
        if decoder.overwhelmed:
            break
    assert decoder.overwhelmed
    assert decoder.crc_failures <= MAX_CRC_FAILURES + 1
    assert decoder.skipped_total <= MAX_SKIPPED_BYTES + 4


def test_a_stalled_frame_is_not_rescanned_from_the_start_on_every_read() -> None:
    """An incomplete frame at the head, then a byte at a time: each read looks only at the
    new bytes (before the fix every read re-checked every offset behind the head)."""
    decoder = FrameDecoder()
    decoder.receive_data(bytes([1, FrameType.REQUEST, 0x1F, 0xF0]))
    noise = bytes([1, 0xEE, 0x00, 0x00]) * 400  # version bytes that start no frame
    for byte in noise:
        decoder.receive_data(bytes([byte]))
        assert decoder.next_items() == []
    # Everything behind the last few bytes is settled and will not be looked at again.
    assert decoder._lookahead_from >= len(noise) - 8
    assert not decoder.overwhelmed


def test_clear_frames_cannot_announce_kilobytes() -> None:
    decoder = FrameDecoder()
    real = encode_frame(FrameType.HELLO, b"\x80")
    decoder.receive_data(bytes([1, FrameType.HELLO, 0x1F, 0xF0]) + real)
    items = decoder.next_items()
    assert [i for i in items if isinstance(i, Frame)] == [Frame(1, FrameType.HELLO, b"\x80")]


def test_a_crafted_stream_after_a_hello_gets_the_connection_closed(tmp_path: Path) -> None:
    with served_in_process(tmp_path) as served:
        sock = raw_socket(served.port)
        sock.sendall(hello())
        started = time.process_time()
        with contextlib.suppress(OSError):  # the server may hang up before it is all sent
            sock.sendall(CRAFTED[:65_536])
        _data, closed = read_until_closed(sock, 3.0)
        sock.close()
        assert closed
        assert time.process_time() - started < 2.0


def test_the_first_bytes_must_be_a_hello_and_are_read_within_the_budget(
        tmp_path: Path) -> None:
    with served_in_process(tmp_path) as served:
        junk = raw_socket(served.port)
        junk.sendall(b"\x00" + hello())  # one stray byte: no resynchronising before a HELLO
        _data, closed = read_until_closed(junk, 2.0)
        assert closed
        junk.close()
        greedy = raw_socket(served.port)
        greedy.sendall(bytes([1, FrameType.HELLO, 0x00, 0xFF]) + b"\x00" * (PRE_HELLO_BYTES * 4))
        _data, closed = read_until_closed(greedy, 2.0)
        assert closed
        greedy.close()
