"""atheris target: the frame decoder never raises and accounts for every byte.

    .venv/bin/python fuzz/fuzz_frame_decoder.py -runs=200000
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from itb.telemetry.protocol.framing import FRAME_OVERHEAD_BYTES, FrameDecoder, Garbage


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    decoder = FrameDecoder()
    fed = 0
    items = []
    while fdp.remaining_bytes():
        chunk = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64))
        fed += len(chunk)
        decoder.receive_data(chunk)
        items += decoder.next_items()
    items += decoder.flush()
    consumed = sum(i.skipped_bytes if isinstance(i, Garbage) else len(i.body) + FRAME_OVERHEAD_BYTES
                   for i in items)
    assert consumed == fed, (consumed, fed)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
