"""One server per state folder: an exclusive `flock` on DIR/serve.lock.

Two servers on one folder would each hold their own copy of a pump in memory and
overwrite each other's saves, so a change confirmed through one is lost when the other
saves (issue 9.2). The lock is taken before the port is bound and is held for the
server's life; the kernel releases it when the process ends, even on SIGKILL, so a
crashed server never leaves a stale lock behind. The file also says who holds it
(pid, port), so a refused second server can name the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from itb.telemetry.errors import TelemetryError

LOCK_NAME = "serve.lock"


class FolderServed(TelemetryError):
    """The state folder is already served by another `itb pump serve`."""

    def __init__(self, folder: Path, holder: str) -> None:
        self.folder = folder
        self.holder = holder
        super().__init__(f"the state folder {folder} is already served by another "
                         f"'itb pump serve' ({holder})")

    next_step = ("Use the server that is running, or stop it first (two servers on one folder "
                 "would lose confirmed changes).")


def _holder_text(raw: str) -> str:
    fields = dict(part.split("=", 1) for part in raw.split() if "=" in part)
    pid = fields.get("pid", "").strip()
    port = fields.get("port", "").strip()
    if not pid.isdigit():
        return "holder unknown"
    return f"pid {pid}, port {port}" if port.isdigit() else f"pid {pid}, port not yet bound"


class FolderLock:
    """Held while a server serves `folder`; `acquire` refuses at once if another holds it."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = "holder unknown"
            with contextlib.suppress(OSError):
                holder = _holder_text(os.pread(fd, 200, 0).decode("ascii", "replace"))
            os.close(fd)
            raise FolderServed(self.folder, holder) from None
        except OSError:
            os.close(fd)
            raise
        self._fd = fd
        self._write(f"pid={os.getpid()}\n")

    def record_port(self, port: int) -> None:
        """Name the bound port, so a refused second server can say where this one listens."""
        self._write(f"pid={os.getpid()} port={port}\n")

    def _write(self, text: str) -> None:
        if self._fd is None:
            return
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor drops the flock
        self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
