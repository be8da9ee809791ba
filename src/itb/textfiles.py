"""Reading a small text file that is checked whole (a scenario, a fleet study): its UTF-8
text, or the layer's `FileProblems` error saying why it cannot be read."""

from __future__ import annotations

from pathlib import Path

from itb.errors import FileProblems


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
