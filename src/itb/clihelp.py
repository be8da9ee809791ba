"""Help text details shared by every `itb` command group (issue 9.15).

Typer 0.29 prints a value type beside every option, so an on/off flag such as `--yes`
or `--help` read `--yes <bool>`, as if it took a value. Flags take none: their type
is hidden. Imported by `itb.cli` and by the programmer's own entry point.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

_original = TyperOption.display_type_rich


def _display_type_rich(self: TyperOption, ctx: Any) -> str | None:
    if self.is_flag and self.metavar is None:
        return None
    return _original(self, ctx)


if getattr(TyperOption.display_type_rich, "__name__", "") != "_display_type_rich":
    TyperOption.display_type_rich = _display_type_rich  # type: ignore[method-assign]
