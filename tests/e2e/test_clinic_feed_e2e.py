"""The programmer feeds the clinic, end to end: the real `itb programmer` CLI against a real
`itb pump serve` and a real clinic API server (uvicorn on the clinic app; `itb clinic serve`
once the api slice has it), both subprocesses. A visit's interrogation, refill and program
change are recorded as they happen; with the clinic down mid-visit the work goes on on the
journal, and `itb clinic sync` then uploads the rest exactly once."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pump_server import ITB, SERIAL, ServedPump, serve_pump
from sqlalchemy import func, select
from tests.clinic.clinic_server import serve_clinic
from tests.clinic.conftest import NOW

from itb.clinic import patients, users
from itb.clinic.access import Actor
from itb.clinic.db import ClinicDB
from itb.clinic.models import Interrogation, ProgramChange, Recording, RefillRecord, Visit

ADMIN = Actor(user_id=None, username="e2e-admin", role="admin")


@pytest.fixture
def pump(tmp_path: Path) -> Iterator[ServedPump]:
    yield from serve_pump(tmp_path, days=20)


@pytest.fixture
def clinic_db(tmp_path: Path) -> Iterator[tuple[ClinicDB, Path]]:
    """A migrated clinic with the patient of the served pump and a nurse's token file."""
    db = ClinicDB(f"sqlite:///{tmp_path / 'clinic.db'}")
    db.migrate()
    with db.session() as s:
        patient = patients.create_patient(s, ADMIN, {
            "mrn": "MRN-E2E-1", "name": "Eve Feed", "date_of_birth": date(1970, 2, 3),
            "weight_kg": Decimal("75"), "origin": "spinal"}, now=NOW)
        patients.add_implant(s, ADMIN, patient.id, {
            "pump_serial": SERIAL, "pump_model": "synchromed-ii-20",
            "implanted_on": date(2026, 1, 1)}, now=NOW)
        users.add_user(s, "nurse-e2e", "nurse", "correct horse", now=NOW)
        token = users.create_token(s, "nurse-e2e", now=NOW)
    token_file = tmp_path / "clinic.token"
    token_file.write_text(token)
    yield db, token_file
    db.dispose()


def count(db: ClinicDB, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def fed(pump: ServedPump, url: str, token_file: Path, *command: str
        ) -> subprocess.CompletedProcess[str]:
    done = pump.run(*command, "--clinic", url, "--clinic-token-file", str(token_file),
                    full_cli=True)
    assert done.returncode == 0, done.stderr
    return done


def sync(journal: Path, url: str, token_file: Path) -> dict:
    done = subprocess.run([ITB, "clinic", "sync", "--journal", str(journal), "--clinic", url,
                           "--token-file", str(token_file), "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.e2e
@pytest.mark.req("REQ-CLINIC-RECORD-ONCE", "REQ-CLINIC-FEED-SERIAL")
def test_a_visit_is_recorded_live_and_the_rest_synced_once_after_the_clinic_went_down(
        pump: ServedPump, clinic_db: tuple[ClinicDB, Path]) -> None:
    db, token_file = clinic_db
    with serve_clinic(db.url) as clinic:
        for command in (("interrogate",),
                        ("refill", "--withdrawn-ml", pump.syringe_ml(), "--concentration",
                         "500", "--added-ml", "18", "--lot", "L-7", "--yes"),
                        ("program", "--daily-dose", "330", "--origin", "spinal",
                         "--age-years", "45", "--yes")):
            done = fed(pump, clinic.url, token_file, *command)
            assert "Note:" not in done.stderr, done.stderr
        url = clinic.url
    assert count(db, Recording) == 3 and count(db, Visit) == 1
    # two interrogations: the one asked for, and the pump as read after the refill
    assert (count(db, Interrogation), count(db, RefillRecord), count(db, ProgramChange)) == (
        2, 1, 1)
    with db.session() as s:
        refill = s.scalars(select(RefillRecord)).one()
        change = s.scalars(select(ProgramChange)).one()
        assert refill.added_ml == 18 and refill.lot == "L-7" and refill.outcome == "done"
        assert change.daily_dose_after_mcg == 330 and change.daily_dose_before_mcg == 300
        assert s.scalars(select(Visit)).one().kind == "refill"

    # The clinic is down (its server stopped): the visit goes on, said once per command.
    for command in (("bolus", "--dose", "10", "--duration-min", "5", "--yes"),
                    ("interrogate",)):
        done = fed(pump, url, token_file, *command)
        assert done.stderr.count("Note: not recorded at the clinic") == 1, done.stderr
        assert "itb clinic sync" in done.stderr
    assert count(db, Recording) == 3
    journal = [json.loads(line) for line in pump.session.read_text().splitlines()]
    assert [e["kind"] for e in journal] == ["interrogation", "refill", "program", "bolus",
                                            "interrogation"]

    with serve_clinic(db.url) as clinic:
        first = sync(pump.session, clinic.url, token_file)
        assert (first["new"], first["already_recorded"], first["refused"]) == (2, 3, [])
        again = sync(pump.session, clinic.url, token_file)
        assert (again["new"], again["already_recorded"]) == (0, 5)
    assert count(db, Recording) == 5 and count(db, Visit) == 1
    assert count(db, Interrogation) == 3
