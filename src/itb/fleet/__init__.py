"""itb.fleet: fleet studies, in-silico trials of many patients on Dask (docs/fleet.md).

A study (`study.py`, a TOML file validated like a scenario) draws a cohort; every patient
runs through the real event-driven pump (`itb.pump`) and patient model (`itb.physiology`)
with a clinic's care policy and the device and care hazards (`patient_run.py`, `care.py`,
`hazards.py`), without the 5-minute timeline. `engine.py` spreads partitions of patients over
a Dask cluster and streams them to Parquet; `summary.py`, `stats.py`, `compare.py`,
`plots.py` and `report.py` turn the tables into incidences with confidence intervals,
Kaplan-Meier device survival, pictures and an HTML report. `cli.py` is `itb fleet`.

The per-patient run is pure and deterministic (its seed comes from the study's
`SeedSequence`); only `engine.py` and `cli.py` touch files, processes and clocks.
"""
