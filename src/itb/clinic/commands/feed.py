"""`itb clinic sync`: upload a programmer's session journal to the clinic, exactly once.

Every entry is posted to `POST /api/recordings` with its session id and sequence number
(itb.programmer.clinic_feed), so an entry the clinic already holds (fed live by the
programmer, or by an earlier sync) is acknowledged, never recorded twice. Lines written
before session ids (journal format 1) are one session, whose id is made from its first
line, so a second sync gives them the same key again.

Exit status: 0 when every entry is recorded (new or already); 1 when the clinic refused
some (each reason printed); 2 when the sync itself is refused (a bad option, an unreadable
journal, a clinic that does not answer: run it again, nothing is duplicated).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from itb.cli_errors import refuse, refuse_error
from itb.errors import InvalidInput, ItbError
from itb.programmer.clinic_feed import (
    CLINIC_ENV,
    TOKEN_FILE_ENV,
    clinic_url,
    entry_body,
    post_entry,
    read_token,
)
from itb.programmer.journal import Journal, JournalEntry, require_journal


@dataclass
class SyncCounts:
    new: int = 0
    already: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)

    def words(self) -> str:
        return (f"{self.new} new, {self.already} already recorded, "
                f"{len(self.refused)} refused")

    def to_json(self) -> dict[str, Any]:
        return {"new": self.new, "already_recorded": self.already, "refused": self.refused}


def legacy_session(entries: list[JournalEntry]) -> str | None:
    """The id given to format-1 lines (no session id): from the first such line, so the
    same journal gives the same id on every sync."""
    first = next((e for e in entries if e.session is None), None)
    if first is None:
        return None
    digest = hashlib.sha256(f"{first.serial}|{first.at}".encode()).hexdigest()[:16]
    return f"journal-{digest}"


def sync(
    journal: Path = typer.Option(..., "--journal", help="The programmer's session journal."),
    clinic: str | None = typer.Option(None, "--clinic", envvar=CLINIC_ENV,
                                      help="The clinic's URL (itb clinic serve)."),
    token_file: Path | None = typer.Option(
        None, "--token-file", envvar=TOKEN_FILE_ENV,
        help="File holding a clinician's or nurse's API token (itb clinic token create)."),
    as_json: bool = typer.Option(False, "--json", help="Counts and refusals as JSON."),
) -> None:
    """Upload every entry of a session journal to the clinic, exactly once."""
    try:
        if not clinic:
            raise InvalidInput("--clinic", "not given", "the clinic's URL, such as "
                               "http://127.0.0.1:8000 (or ITB_CLINIC)")
        try:
            url = clinic_url(clinic)
        except ValueError:
            raise InvalidInput("--clinic", clinic, "an http:// or https:// URL") from None
        if token_file is None:
            raise InvalidInput("--token-file", "not given", "a file holding an API token "
                               "(or ITB_CLINIC_TOKEN_FILE)")
        try:
            token = read_token(token_file)
        except ValueError as exc:
            raise InvalidInput("--token-file", str(token_file), "a file holding an API "
                               "token (itb clinic token create --out)", str(exc)) from None
        entries = _entries(journal)
    except ItbError as exc:
        raise refuse_error(exc) from None
    counts = _upload(entries, url, token)
    if as_json:
        typer.echo(json.dumps({"journal": str(journal), "clinic": url, "entries": len(entries),
                               **counts.to_json()}, indent=2))
    else:
        typer.echo(f"Synced {journal} to {url}: {len(entries)} entries: {counts.words()}.")
        for refused in counts.refused:
            typer.echo(f"Refused: session {refused['session']} entry {refused['seq']} "
                       f"({refused['kind']}): {refused['reason']}")
    if counts.refused:
        raise typer.Exit(1)


def _entries(journal: Path) -> list[JournalEntry]:
    """The journal's entries; a missing or foreign file is refused naming --journal."""
    try:
        require_journal(journal)
        return Journal(journal).entries()
    except InvalidInput as exc:
        raise InvalidInput("--journal", exc.value, exc.allowed, exc.reason) from None


def _upload(entries: list[JournalEntry], url: str, token: str) -> SyncCounts:
    counts = SyncCounts()
    legacy = legacy_session(entries)
    for done, entry in enumerate(entries):
        body = entry_body(entry, None if entry.session is not None else legacy)
        posted = post_entry(url, token, body)
        if posted.status == "new":
            counts.new += 1
        elif posted.status == "repeat":
            counts.already += 1
        elif posted.code in (401, 403):  # the token, not the entry: no entry would do
            raise refuse(f"the clinic at {url} refused the token ({posted.reason})",
                         "Give --token-file the token of an active clinician or nurse "
                         "(itb clinic token create).")
        elif posted.status == "refused":
            counts.refused.append({"session": body["session"], "seq": body["seq"],
                                   "kind": entry.kind, "reason": posted.reason})
        else:
            raise refuse(f"the clinic at {url} did not answer ({posted.reason}) after "
                         f"{done} of {len(entries)} entries ({counts.words()})",
                         "Start the clinic or check --clinic, then run the same sync again: "
                         "entries already recorded are acknowledged, never duplicated.")
    return counts


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("sync")(sync)
