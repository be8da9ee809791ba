"""atheris target: the pump's link state machine, in each state, against arbitrary bytes.

    .venv/bin/python fuzz/fuzz_pump_link.py -runs=50000
"""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(__file__))

with atheris.instrument_imports():
    from _harness import check_pump, link_chunks, pump_in_state


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    pump = pump_in_state(fdp.ConsumeIntInRange(0, 2))
    check_pump(pump, link_chunks(fdp))


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
