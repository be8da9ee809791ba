"""itb.programmer: the clinician programmer (`itb programmer ...`).

It reaches a pump only through `itb.telemetry` and computes with `itb.therapy`:
- `view`: an interrogation read through the therapy rules (daily dose, 24-hour dose
  table, low-reservoir alarm and refill-by dates, expected ERI date);
- `programming`: a new program previewed (change, titration check, alarm date);
- `refill`: the refill procedure's checks, step by step;
- `wand`: sessions, and sends that are verified or rolled back;
- `journal`, `report`: the session journal and the HTML session report;
- `workflows`: the clinical workflows as a library, for every front end;
- `refusals`: one table from each error type to its sentence and next step;
- `cli`: the Typer commands, a thin shell over the workflows. See docs/programmer.md.
"""
