"""`python -m itb.programmer ...`: the same Typer app that `itb programmer` mounts.

It starts faster (it loads only the programmer, the wand link and the therapy rules,
not every part of itb), which suits scripts that call the programmer many times.
"""

from itb.programmer.cli import app

app(prog_name="itb programmer")
