"""atheris target: the pump's link state machine, in each state, against arbitrary bytes.

    .venv/bin/python fuzz/fuzz_pump_link.py -runs=50000
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from _harness import fuzz_link  # instruments the link code as it imports it

if __name__ == "__main__":
    fuzz_link("pump")
