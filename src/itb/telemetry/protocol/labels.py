"""Labels a device asserts about itself (the programmer id): what may be sent, and how to show it.

Issue 17.9: `clinic-programmer-7\\x1b[2K\\rrole=clinician` went into both logs. A programmer
id is a label the device asserts, not an identity (any holder of the role key can claim
any id), so it is limited to printable ASCII and escaped wherever it is shown.
"""

from __future__ import annotations

MAX_PROGRAMMER_ID = 64


def valid_programmer_id(value: object) -> bool:
    """1 to 64 printable ASCII characters (space to tilde). The id is a label the device
    asserts, not an identity: control characters could rewrite a terminal or a log line."""
    return (isinstance(value, str) and 1 <= len(value) <= MAX_PROGRAMMER_ID
            and all(" " <= ch <= "~" for ch in value))


def escape_label(text: str) -> str:
    """`text` safe to show or log: anything but printable ASCII as a Python escape."""
    return "".join(ch if " " <= ch <= "~" and ch != "\\" else
                   ch.encode("unicode_escape").decode("ascii") for ch in text)
