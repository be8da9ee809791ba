"""A real clinic API server in a subprocess (uvicorn on `create_app`), for the feed tests.

`itb clinic serve` is being built by the api slice; until then the tests serve the same
app directly. The server binds port 0 itself and prints the port it got.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.e2e.pump_server import stop_server

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
SERVE = """
import socket, sys
import uvicorn
from itb.clinic.api.app import create_app
from itb.clinic.db import ClinicDB
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[2])))
sock.listen(64)
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(create_app(ClinicDB(sys.argv[1])), log_level="warning")
               ).run(sockets=[sock])
"""


@dataclass
class ServedClinic:
    url: str
    port: int
    process: subprocess.Popen[str]


@contextmanager
def serve_clinic(db_url: str, port: int = 0) -> Iterator[ServedClinic]:
    process = subprocess.Popen([PYTHON, "-c", SERVE, db_url, str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.isdigit():
        process.kill()
        raise AssertionError(f"clinic server did not start: {line!r} {process.stderr.read()}")
    served = ServedClinic(f"http://127.0.0.1:{line}", int(line), process)
    # ready: the first request (imports, the schema) answered before a test times one
    httpx.get(f"{served.url}/openapi.json", timeout=60).raise_for_status()
    try:
        yield served
    finally:
        stop_server(process)


if __name__ == "__main__":  # pragma: no cover - by hand: python tests/clinic/clinic_server.py
    sys.exit("use serve_clinic() from the tests")
