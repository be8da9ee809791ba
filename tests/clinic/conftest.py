"""Clinic test fixtures: a fresh database per test on each back end, and actors of each role.

`clinic_db` runs every test twice: on SQLite (a file in the test's folder) and on PostgreSQL
(a database copied from a migrated template, on the server `ITB_TEST_POSTGRES_URL` names, or
else on one this session starts itself with Debian's PostgreSQL: itb.clinic.devpg). Without
PostgreSQL programs the PostgreSQL half is skipped, saying so, except under CI=true, where
it fails: CI must test both.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from itb.clinic import devpg
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BACKENDS = ("sqlite", "postgresql")
_names = itertools.count(1)

NewDB = Callable[..., str]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A PostgreSQL server for this test session: CI's, or one of our own."""
    given = os.environ.get(devpg.URL_ENV)
    if given:
        yield given
        return
    if devpg.postgres_bin() is None:
        reason = ("no PostgreSQL server: set ITB_TEST_POSTGRES_URL or install Debian's "
                  "postgresql (apt-get install postgresql; .ci/run does)")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test both databases, but {reason}")
        pytest.skip(reason)
    server = devpg.TempPostgres()
    # a session ended by SIGTERM (timeout, CI cancelling) tears down like Ctrl-C, so the
    # server it started is stopped rather than left running
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield server.start()
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)


def _interrupt(_number: int, _frame: object) -> None:
    raise KeyboardInterrupt("SIGTERM")


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    """A database migrated to head once per session; each test's database is a copy."""
    name = f"itb_tpl_{os.getpid()}"
    url = devpg.create_database(postgres_admin_url, name)
    db = ClinicDB(url)
    db.migrate()
    db.dispose()
    yield name
    devpg.drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "clinic.db"
    db = ClinicDB(f"sqlite:///{path}")
    db.migrate()
    db.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[NewDB]:
    """Make a fresh database on this test's back end: `new_db_url()` migrated to head,
    `new_db_url(migrated=False)` empty. All are removed after the test."""
    made: list[str] = []
    admin = request.getfixturevalue("postgres_admin_url") if backend == "postgresql" else ""

    def make(migrated: bool = True) -> str:
        number = next(_names)
        if backend == "sqlite":
            path = tmp_path / f"clinic-{number}.db"
            if migrated:
                shutil.copy(request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        name = f"itb_t_{os.getpid()}_{number}"
        template = request.getfixturevalue("postgres_template") if migrated else None
        made.append(name)
        return devpg.create_database(admin, name, template)

    yield make
    for name in made:
        devpg.drop_database(admin, name)


@pytest.fixture
def clinic_db(new_db_url: NewDB) -> Iterator[ClinicDB]:
    db = ClinicDB(new_db_url())
    yield db
    db.dispose()


def actor(role: str, patient_id: int | None = None) -> Actor:
    return Actor(user_id=None, username=f"test-{role}", role=role, patient_id=patient_id)
