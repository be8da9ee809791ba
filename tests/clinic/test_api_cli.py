"""`itb clinic user add`, `token create | revoke` and `serve`, run as real commands; the
server as a subprocess on a free port, queried with httpx, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from itb.clinic.db import ClinicDB
from itb.clinic.models import ApiToken, User

ITB = str(Path(sys.executable).parent / "itb")


def itb(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([ITB, "clinic", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)


def _ready(url: str) -> str:
    """An initialised clinic database with a clinician and the patient MRN-1."""
    assert itb("init", "--db", url).returncode == 0
    made = itb("user", "add", "--db", url, "--username", "doc", "--role", "clinician",
               "--password-stdin", stdin="correct horse\n")
    assert made.returncode == 0, made.stderr
    return url


def test_user_add_reads_the_password_from_stdin_and_refuses_bad_input(
        clinic_db: ClinicDB) -> None:
    url = _ready(clinic_db.url)
    with clinic_db.session() as s:
        doc = s.scalars(select(User).where(User.username == "doc")).one()
        assert doc.role == "clinician" and "correct horse" not in doc.password_hash
    for args, stdin, word in [
            (["--username", "x1", "--role", "boss", "--password-stdin"], "long enough\n",
             "role"),
            (["--username", "x2", "--role", "nurse", "--password-stdin"], "short\n",
             "password"),
            (["--username", "x3", "--role", "nurse"], "", "--password-stdin"),
            (["--username", "doc", "--role", "nurse", "--password-stdin"], "long enough\n",
             "taken"),
            (["--username", "x4", "--role", "patient", "--password-stdin"], "long enough\n",
             "--patient")]:
        refused = itb("user", "add", "--db", url, *args, stdin=stdin)
        assert refused.returncode == 2, refused
        assert refused.stderr.startswith("Error: ") and "\nNext: " in refused.stderr
        assert word in refused.stderr and "Traceback" not in refused.stderr
    with clinic_db.session() as s:
        assert [u.username for u in s.scalars(select(User))] == ["doc"]


def test_token_create_writes_a_0600_file_and_revoke_ends_it(clinic_db: ClinicDB,
                                                            tmp_path: Path) -> None:
    url = _ready(clinic_db.url)
    out = tmp_path / "doc.token"
    made = itb("token", "create", "--db", url, "--username", "doc", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    token = out.read_text().strip()
    assert token.startswith("itb_") and token not in made.stdout
    refused = itb("token", "create", "--db", url, "--username", "ghost", "--out",
                  str(tmp_path / "ghost.token"))
    assert refused.returncode == 2 and "--username" in refused.stderr
    assert not (tmp_path / "ghost.token").exists() and not list(tmp_path.glob(".ghost*"))
    revoked = itb("token", "revoke", "--db", url, "--username", "doc")
    assert revoked.returncode == 0 and "1 token of doc revoked" in revoked.stdout
    with clinic_db.session() as s:
        assert all(t.revoked_at is not None for t in s.scalars(select(ApiToken)))


def test_serve_refuses_a_public_address_without_public_and_an_uninitialised_database(
        tmp_path: Path) -> None:
    public = itb("serve", "--db", f"sqlite:///{tmp_path / 'c.db'}", "--host", "0.0.0.0")
    assert public.returncode == 2 and "--public" in public.stderr
    empty = itb("serve", "--db", f"sqlite:///{tmp_path / 'empty.db'}", "--port", "0")
    assert empty.returncode == 2 and "itb clinic init" in empty.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.req("REQ-CLINIC-ACCESS")
def test_serve_answers_over_http_and_stops_cleanly_on_sigterm(clinic_db: ClinicDB,
                                                              tmp_path: Path) -> None:
    url = _ready(clinic_db.url)
    token_file = tmp_path / "doc.token"
    assert itb("token", "create", "--db", url, "--username", "doc", "--out",
               str(token_file)).returncode == 0
    port = _free_port()
    server = subprocess.Popen([ITB, "clinic", "serve", "--db", url, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, line + (server.stderr.read()
                                                            if server.poll() else "")
        base = f"http://127.0.0.1:{port}"
        header = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=base, timeout=30) as web:
            made = web.post("/api/patients", headers=header, json={
                "mrn": "E2E-1", "name": "Eve Example", "date_of_birth": "1990-06-01",
                "weight_kg": "55.5", "origin": "cerebral"})
            assert made.status_code == 201, made.text
            assert web.get("/api/patients", headers=header).json()[0]["mrn"] == "E2E-1"
            assert web.get("/api/patients").status_code == 401
            assert web.get("/api/audit", headers=header).status_code == 403
            login = web.post("/api/login", json={"username": "doc",
                                                 "password": "correct horse"})
            assert login.status_code == 200 and login.json()["role"] == "clinician"
            assert "paths" in web.get("/openapi.json").json()
        assert time.monotonic() < deadline
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
        assert server.returncode == 0, err
        assert "Clinic stopped." in out and "Traceback" not in err
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_a_database_password_is_masked_wherever_a_message_shows_the_url() -> None:
    # the engine is made without connecting, so no server is needed for the URL alone
    clinic = ClinicDB("postgresql://itb:s3cret-pw@db.example:5432/clinic")
    try:
        assert "s3cret-pw" not in clinic.shown_url
        assert clinic.shown_url == "postgresql://itb:***@db.example:5432/clinic"
    finally:
        clinic.dispose()
