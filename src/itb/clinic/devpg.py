"""A throwaway PostgreSQL server for tests and benchmarks (never for real records).

`ITB_TEST_POSTGRES_URL` names a running server (CI starts one in `.ci/run`); otherwise
`TempPostgres` makes one in a temporary folder with Debian's `initdb` and `pg_ctl`, on a
free port on 127.0.0.1, trust authentication, and `fsync=off` (it holds test data only; a
server crash is not what the durability tests test, a killed client is). As root, the server
runs as the `postgres` user (`runuser`), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

URL_ENV = "ITB_TEST_POSTGRES_URL"


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL programs (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TempPostgres:
    """A server of its own: `start()` returns its admin URL, `stop()` removes everything."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.folder: Path | None = None
        self.port = 0

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> str:
        if self.bin is None:
            raise FileNotFoundError("no PostgreSQL programs (initdb) found: "
                                    "apt-get install postgresql")
        self.folder = Path(tempfile.mkdtemp(prefix="itb-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-sync")
        self.port = _free_port()
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "log"), "-o", options,
                  "-w", "-t", "60", "start")
        atexit.register(self.stop)  # pg_ctl daemonises it: never leave it behind
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        if self.folder is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w",
                      "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def with_database(admin_url: str, name: str) -> str:
    """`admin_url` pointing at database `name` instead."""
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """CREATE DATABASE `name` (a copy of `template` if given); returns its URL."""
    engine = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        copy = f' TEMPLATE "{template}"' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    engine.dispose()
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
