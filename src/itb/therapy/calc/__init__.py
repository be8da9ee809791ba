"""The `itb calc` commands, one module per group of calculators; `itb.therapy.cli` mounts them.

    output.py     the shared shell: options, parsing text, printing a table or JSON
    reservoir.py  rate, refill, refill-check, bridge
    doses.py      titrate, taper, initial-dose
    trial.py      screening, candidate
    supplies.py   dilution, battery, drugs
"""
