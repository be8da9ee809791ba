"""Durable pump state for the simulated-pump server: atomic writes, a previous good copy.

Layout of a state directory::

    DIR/pumps/<serial>.state       the current state (pump, link memory, pump key)
    DIR/pumps/<serial>.state.prev  the state before it (the previous good copy)
    DIR/keys/<serial>.key          the clinic's copy of the pump key (never read by the pump)
    DIR/keys/<serial>.patient.key  the key to load into this patient's handheld

A state file is one header line ``itb-pump-state 1 sha256=<hex>`` and a JSON body.
`save` writes a temporary file, fsyncs it, keeps the current file as `.prev` (by hard
link, so there is never a moment without a complete current file), renames the
temporary file over the current one and fsyncs the directory. Killed at any
instant, the directory holds a complete current file, or at worst (a torn write on
a filesystem without atomic rename) a previous one that `load` falls back to.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from itb.errors import InvalidInput
from itb.telemetry.errors import TelemetryError
from itb.telemetry.protocol.keys import LinkKey, check_serial

_MAGIC = "itb-pump-state 1"
STATE_SUFFIX = ".state"


class StateUnreadable(TelemetryError):
    """Neither the current nor the previous state file of a pump can be read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"pump state {path} cannot be read: {reason}")


def encode_state(document: dict[str, Any], state_key: bytes | None = None) -> bytes:
    """The header carries a sha256 checksum (detects damage; anyone can recompute it), or,
    with `state_key`, an HMAC-SHA256 that only holders of the key can make (issue 17.8)."""
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    if state_key is None:
        return f"{_MAGIC} sha256={hashlib.sha256(body).hexdigest()}\n".encode() + body
    tag = hmac.new(state_key, body, hashlib.sha256).hexdigest()
    return f"{_MAGIC} hmac-sha256={tag}\n".encode() + body


def decode_state(data: bytes, where: str, state_key: bytes | None = None) -> dict[str, Any]:
    head, sep, body = data.partition(b"\n")
    if not sep or not head.startswith(_MAGIC.encode() + b" "):
        raise StateUnreadable(where, "not an itb pump state file")
    kind, _, stamp = head[len(_MAGIC) + 1:].partition(b"=")
    if state_key is not None:
        if kind != b"hmac-sha256":
            raise StateUnreadable(where, "not signed with the state key (checksum only)")
        expected = hmac.new(state_key, body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, stamp):
            raise StateUnreadable(where, "HMAC mismatch (damaged, or written without the "
                                         "state key)")
    elif kind == b"hmac-sha256":
        raise StateUnreadable(where, "signed with a state key; serve it with --state-key")
    elif kind != b"sha256" or hashlib.sha256(body).hexdigest().encode() != stamp:
        raise StateUnreadable(where, "checksum mismatch (a torn or damaged write)")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise StateUnreadable(where, f"JSON: {exc}") from None
    if not isinstance(document, dict):
        raise StateUnreadable(where, "the body is not a JSON object")
    return document


def read_state_key(path: Path, state_root: Path) -> bytes:
    """The HMAC key in `path` (64 hex digits); it must live outside the state folder, so
    whoever may write the state folder does not thereby hold the key (issue 17.8)."""
    path = Path(path)
    if path.resolve().is_relative_to(Path(state_root).resolve()):
        raise InvalidInput("state_key", str(path), f"a file outside the state folder "
                                                    f"{state_root}")
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError):
        raise InvalidInput("state_key", str(path), "a readable file of 64 hex digits") from None
    if len(key) != 32:
        raise InvalidInput("state_key", str(path), "64 hex digits (32 bytes)")
    return key


class StateStore:
    def __init__(self, root: Path, state_key: bytes | None = None) -> None:
        self.root = Path(root)
        self.pumps_dir = self.root / "pumps"
        self.keys_dir = self.root / "keys"
        self._state_key = state_key
        # Serials whose current file could not be read, so `load` used the previous copy,
        # with the reason (issue 17.8: this used to happen silently).
        self.fallbacks: dict[str, str] = {}

    def ensure(self) -> None:
        self.pumps_dir.mkdir(parents=True, exist_ok=True)
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.keys_dir.chmod(0o700)

    def path(self, serial: str) -> Path:
        return self.pumps_dir / f"{check_serial(serial)}{STATE_SUFFIX}"

    def exists(self, serial: str) -> bool:
        path = self.path(serial)
        return path.exists() or path.with_name(path.name + ".prev").exists()

    def serials(self) -> list[str]:
        if not self.pumps_dir.is_dir():
            return []
        found = {p.name[: -len(STATE_SUFFIX)] for p in self.pumps_dir.glob(f"*{STATE_SUFFIX}")}
        found |= {p.name[: -len(STATE_SUFFIX + ".prev")]
                  for p in self.pumps_dir.glob(f"*{STATE_SUFFIX}.prev")}
        return sorted(found)

    def save(self, serial: str, document: dict[str, Any]) -> None:
        self.ensure()
        path = self.path(serial)
        prev = path.with_name(path.name + ".prev")
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        data = encode_state(document, self._state_key)
        # Owner-only: the state holds the pump's copy of its key.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            prev_tmp = path.with_name(f"{path.name}.prev-tmp-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                prev_tmp.unlink()
            os.link(path, prev_tmp)
            os.replace(prev_tmp, prev)
        os.replace(tmp, path)
        _fsync_dir(self.pumps_dir)

    def load(self, serial: str) -> dict[str, Any]:
        """The current state, or the previous good copy if the current one is damaged."""
        path = self.path(serial)
        errors: list[str] = []
        for candidate in (path, path.with_name(path.name + ".prev")):
            try:
                document = decode_state(candidate.read_bytes(), str(candidate),
                                        self._state_key)
                if errors:
                    self.fallbacks[serial] = errors[0]
                return document
            except FileNotFoundError:
                errors.append(f"{candidate.name} missing")
            except StateUnreadable as exc:
                errors.append(f"{candidate.name}: {exc.reason}")
            except OSError as exc:  # a folder or an unreadable file where a state file goes
                errors.append(f"{candidate.name}: {exc.strerror or type(exc).__name__}")
        raise StateUnreadable(str(path), "; ".join(errors))

    def write_key(self, key: LinkKey, name: str) -> Path:
        """Write a key file readable by its owner only; refuses to overwrite one."""
        self.ensure()
        path = self.keys_dir / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.to_text())
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.keys_dir)
        return path


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
