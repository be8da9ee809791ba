"""atheris target: the pump's link state machine, in each state, against arbitrary bytes.

    .venv/bin/python fuzz/fuzz_pump_link.py -runs=50000
"""

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(__file__))

with atheris.instrument_imports():  # the harness and the link code it imports
    from _harness import fuzz_link

if __name__ == "__main__":
    fuzz_link("pump")
