"""atheris target: the pump's link state machine, in each state, against arbitrary bytes.

    .venv/bin/python fuzz/fuzz_pump_link.py -runs=50000
"""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(__file__))

with atheris.instrument_imports():
    from _harness import check_pump, pump_in_state

    from itb.telemetry.framing import FrameType, encode_frame


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    pump = pump_in_state(fdp.ConsumeIntInRange(0, 2))
    chunks = []
    while fdp.remaining_bytes():
        if fdp.ConsumeBool():
            # Well-framed (valid CRC) bodies reach the crypto and parsers, not just the CRC.
            kind = list(FrameType)[fdp.ConsumeIntInRange(0, len(FrameType) - 1)]
            chunks.append(encode_frame(kind, fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 120))))
        else:
            chunks.append(fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 64)))
    check_pump(pump, chunks)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
