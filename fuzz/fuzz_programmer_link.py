"""atheris target: the programmer's link state machine, in each state, against arbitrary bytes.

    .venv/bin/python fuzz/fuzz_programmer_link.py -runs=50000
"""

from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(__file__))

with atheris.instrument_imports():
    from _harness import check_programmer, link_chunks, programmer_in_state


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    programmer = programmer_in_state(fdp.ConsumeIntInRange(0, 2))
    check_programmer(programmer, link_chunks(fdp))


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
