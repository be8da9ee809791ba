"""Feeding the clinic: each journal entry posted to `POST /api/recordings` once it is written.

The IO of the programmer's clinic link lives here and nowhere else; the workflows only call
`Visit.record`, which writes the journal line and then hands the entry to the recorder a
front end injected (a `ClinicFeed`). The journal stays the record of the visit: the clinic
is fed from it, never the other way round, and feeding it never blocks a clinical act. If
the clinic is unreachable or refuses, the entry stays in the journal, the clinician is told
once per command, and `itb clinic sync --journal FILE` uploads it later.

Recording is idempotent on (session, seq): a retry after a cut connection, or a later sync,
gets the clinic's first answer back, never a second record (docs/clinic-feed.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from itb.errors import shorten
from itb.programmer.journal import JournalEntry

CLINIC_ENV = "ITB_CLINIC"
TOKEN_FILE_ENV = "ITB_CLINIC_TOKEN_FILE"
RECORDINGS = "/api/recordings"
# Short, so an unreachable clinic costs the clinician seconds, not minutes: 2 s to connect,
# 5 s for the answer, three tries 0.25 s and 0.5 s apart (itb's choice, *unconfirmed*).
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
ATTEMPTS = 3
BACKOFF_S = (0.25, 0.5)
REASON_CHARS = 300


@dataclass(frozen=True)
class Posted:
    """The clinic's answer to one entry: `new` (201), `repeat` (200: recorded before, the
    first result returned), `refused` (4xx: the reason) or `unreachable` (no answer)."""

    status: str
    reason: str = ""
    result: dict[str, Any] | None = None
    code: int | None = None  # the HTTP status, if the clinic answered


def entry_body(entry: JournalEntry, session: str | None = None) -> dict[str, Any]:
    """The request body: the journal line, with the session id (given for a line written
    before session ids) and its sequence number."""
    body = entry.to_json()
    body["session"] = entry.session if session is None else session
    body["seq"] = entry.seq
    return body


def _answer(response: httpx.Response) -> Posted:
    try:
        data = response.json()
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    code = response.status_code
    if code == 201:
        return Posted("new", result=data, code=code)
    if code == 200:
        return Posted("repeat", result=data, code=code)
    reason = str(data.get("error") or response.reason_phrase or "refused")
    # the clinic's own sentence, whole unless it is very long (it names the field or serial)
    reason = reason if len(reason) <= REASON_CHARS else reason[:REASON_CHARS] + "…"
    return Posted("refused", f"{code}: {reason}", code=code)


def post_entry(url: str, token: str, body: dict[str, Any], *,
               transport: httpx.BaseTransport | None = None,
               sleep: Callable[[float], None] = time.sleep) -> Posted:
    """POST one entry, retrying a lost connection or a server fault a bounded number of times
    (safe: the clinic records (session, seq) once)."""
    last = "no answer"
    with httpx.Client(base_url=url, timeout=TIMEOUT, transport=transport,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for attempt in range(ATTEMPTS):
            if attempt:
                sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
            try:
                response = client.post(RECORDINGS, json=body)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {shorten(str(exc)) or 'no answer'}"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"{response.status_code}: the clinic could not record it now"
                continue
            return _answer(response)
    return Posted("unreachable", last)


def read_token(path: Path) -> str:
    """The API token in `path` (`itb clinic token create --out`), stripped."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"the token file {path} cannot be read "
                         f"({getattr(exc, 'strerror', None) or exc})") from None
    if not token or not token.isprintable() or " " in token:
        raise ValueError(f"the token file {path} holds no token")
    return token


def clinic_url(text: str) -> str:
    """An http(s) URL of the clinic, without a trailing slash."""
    url = text.strip().rstrip("/")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"--clinic {shorten(text)!r} is not an http:// or https:// URL")
    return url


@dataclass
class ClinicFeed:
    """The recorder a programmer command injects into its `Visit`: posts each entry as it is
    journaled. Once the clinic is unreachable it stops trying for the rest of the command;
    the first problem is said once (`note`), with what to do about it."""

    url: str
    token: str | None
    journal: Path
    note: Callable[[str], None]
    problem: str | None = None  # set at start: no entry will be posted (bad token file...)
    transport: httpx.BaseTransport | None = None
    posted: list[Posted] = field(default_factory=list)
    held: int = 0  # entries not recorded by the clinic in this command
    _told: bool = False
    _unreachable: bool = False

    def __call__(self, entry: JournalEntry) -> None:
        try:
            self._feed(entry)
        except Exception as exc:  # feeding must never fail a clinical act that is done
            self.held += 1
            self._tell(f"the clinic feed failed ({type(exc).__name__}: {shorten(str(exc))})")

    def _feed(self, entry: JournalEntry) -> None:
        if self.problem is not None or self._unreachable or self.token is None:
            self.held += 1
            self._tell(self.problem or "no API token (give --clinic-token-file)")
            return
        posted = post_entry(self.url, self.token, entry_body(entry), transport=self.transport)
        self.posted.append(posted)
        if posted.status in ("new", "repeat"):
            return
        self.held += 1
        if posted.status == "unreachable":
            self._unreachable = True
            self._tell(f"the clinic did not answer ({posted.reason})")
        else:
            self._tell(f"the clinic refused the {entry.kind} entry ({posted.reason})")

    def _tell(self, why: str) -> None:
        if self._told:
            return
        self._told = True
        self.note(f"Note: not recorded at the clinic {self.url}: {why}. The visit goes on and "
                  f"the session journal {self.journal} keeps every entry; upload it later with "
                  f"'itb clinic sync --journal {self.journal} --clinic {self.url} "
                  "--token-file FILE'.")


def feed_for(clinic: str | None, token_file: Path | None, journal: Path,
             note: Callable[[str], None]) -> ClinicFeed | None:
    """The feed of a command's --clinic and --clinic-token-file (None without --clinic). A
    bad URL or token file is told once and the command goes on with its journal only: a
    misconfigured clinic link must not stop a clinical act."""
    if not clinic:
        return None
    problem, token, url = None, None, clinic
    try:
        url = clinic_url(clinic)
        if token_file is None:
            raise ValueError("no API token: give --clinic-token-file (or ITB_CLINIC_TOKEN_FILE)")
        token = read_token(token_file)
    except ValueError as exc:
        problem = str(exc)
    return ClinicFeed(url, token, journal, note, problem)
