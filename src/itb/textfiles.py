"""A small text file that is checked whole (a scenario, a fleet study): `FileProblems`, the
base of its layer's error that reports every problem at once, and reading its UTF-8 text."""

from __future__ import annotations

from pathlib import Path

from itb.errors import ItbError

Problem = tuple[int | None, str, str]  # (line or None, key, reason)


class FileProblems(ItbError):
    """A file is malformed or asks for something not allowed.

    `problems` holds (line or None, key, reason) for every problem found.
    """

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(_problem_text(source, *problem) for problem in problems))

    @property
    def first_line(self) -> int | None:
        return self.problems[0][0] if self.problems else None


def _problem_text(source: str, line: int | None, key: str, reason: str) -> str:
    where = f"{source}:{line}" if line is not None else source
    return f"{where}: {key}: {reason}" if key else f"{where}: {reason}"


def read_small_text(path: Path, limit: int, what: str, error: type[FileProblems]) -> str:
    """The file's text; `error` if it cannot be opened or decoded, or holds more than
    `limit` bytes (one byte past the limit is read, never the whole of a huge file)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
        if len(raw) > limit:
            raise error(str(path), [(None, "", f"the {what} file is larger than {limit} bytes")])
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise error(str(path), [(None, "", f"cannot read the {what} file ({problem})")]
                    ) from None
