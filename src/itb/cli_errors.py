"""How every `itb` command says no: one style for every command group.

A refusal is two lines on stderr, `Error: <what is wrong>` then `Next: <what to do>`,
with exit status 2, no traceback and nothing printed on stdout. This is the one place
that writes them: each group's `cli.py` hands its refusal here (`refuse`,
`refuse_error`), and `RefusingGroup` turns Typer's own usage errors (a missing option,
an unknown option or command, a bad choice) into the same two lines, instead of a
usage box. Values are shortened when echoed (`itb.errors.shorten`), so a 100-digit
number or a pasted file does not flood the screen.

This is the shell: the pure cores only raise `ItbError`s and never import this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from typer._click.globals import get_current_context
from typer.core import TyperGroup, _click

from itb.errors import MAX_ECHO_CHARS, InvalidInput, ItbError, shorten

EXIT_REFUSED = 2  # bad input or a refused act: the shell convention for usage errors
# A word of a usage message longer than itb.errors.MAX_ECHO_CHARS, with the quotes and
# punctuation around it kept out of the shortening ('xxx…(N characters)'.).
_LONG_WORD = re.compile(r"""(?P<pre>['"(]*)(?P<core>[^\s'"]{"""
                        + str(MAX_ECHO_CHARS + 1)
                        + r""",}?)(?P<post>['".,:;)]*)(?=\s|$)""")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ")", ":")) or "\n" in text else text + "."


def refuse(what: str, next_step: str, *, code: int = EXIT_REFUSED) -> typer.Exit:
    """Print `Error: what` and `Next: next_step` on stderr; return the Exit to raise."""
    typer.echo(f"Error: {_sentence(what)}", err=True)
    typer.echo(f"Next: {_sentence(next_step)}", err=True)
    return typer.Exit(code)


def _help_hint() -> str:
    ctx = get_current_context(silent=True)
    return f" (`{ctx.command_path} --help` lists its options)" if ctx is not None else ""


def next_step_for(error: ItbError) -> str:
    """The usual next step for a refusal that does not bring its own."""
    if isinstance(error, InvalidInput):
        return f"Correct {error.field} and run the command again{_help_hint()}."
    return f"Correct the input and run the command again{_help_hint()}."


def refuse_value(what: str) -> typer.Exit:
    """`refuse` with the usual next step: correct the value, the command's help at hand."""
    return refuse(what, f"Correct the value and run the command again{_help_hint()}.")


def refuse_error(error: ItbError, next_step: str | None = None) -> typer.Exit:
    """`refuse` for an itb error: its message, then `next_step` or the usual one."""
    return refuse(str(error), next_step or next_step_for(error))


def refuse_usage(error: _click.ClickException) -> typer.Exit:
    """Typer's own usage errors (missing option, no such option, bad choice) in itb's style."""
    message = _LONG_WORD.sub(lambda m: m["pre"] + shorten(m["core"]) + m["post"],
                             error.format_message())
    ctx = getattr(error, "ctx", None)
    command = ctx.command_path if ctx is not None else "itb"
    return refuse(message, f"Run `{command} --help` to see the options and commands it takes.")


@contextmanager
def refusals_in_itb_style() -> Iterator[None]:
    """Turn a usage error, an uncaught itb error or a crash into the two lines and exit 2."""
    try:
        yield
    except (typer.Exit, typer.Abort, _click.exceptions.NoArgsIsHelpError,
            EOFError, BrokenPipeError):
        raise  # an exit already decided, help for a bare group, or Typer's own handling
    except _click.ClickException as error:
        raise refuse_usage(error) from None
    except ItbError as error:  # a group that did not catch its own refusal
        raise refuse_error(error) from None
    except Exception as error:  # a bug must still end in a sentence, not a traceback
        raise refuse(f"itb failed unexpectedly ({type(error).__name__}: "
                     f"{shorten(str(error))})",
                     "Report this fault with the command you ran.") from None


class RefusingGroup(TyperGroup):
    """A Typer group whose usage errors and uncaught refusals come out in itb's style."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: _click.Context | None = None, **extra: Any) -> _click.Context:
        with refusals_in_itb_style():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: _click.Context) -> Any:
        with refusals_in_itb_style():
            return super().invoke(ctx)
