"""`itb clinic worklist` and `itb clinic export-fhir` through the real command line."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from tests.clinic.conftest import NewDB
from tests.clinic.work_records import add_patient, interrogate
from typer.testing import CliRunner

from itb.cli import app
from itb.clinic.db import ClinicDB, head_revision

ITB = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "itb")
runner = CliRunner()


def _overdue(db: ClinicDB) -> None:
    now = datetime.now(UTC)  # the CLI reads the real clock
    with db.session() as s:
        p, i = add_patient(s, "CLI-1", implanted_on=(now - timedelta(days=40)).date())
        interrogate(s, p, i, now - timedelta(days=30), low_alarm_at=now - timedelta(days=2),
                    refill_by=now + timedelta(days=30))


def test_worklist_json_names_mrn_kind_due_and_reason(clinic_db: ClinicDB) -> None:
    _overdue(clinic_db)
    result = runner.invoke(app, ["clinic", "worklist", "--db", clinic_db.url, "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [(e["mrn"], e["kind"]) for e in entries] == [("CLI-1", "refill_overdue")]
    assert "low-reservoir alarm date" in entries[0]["reason"] and entries[0]["due"]
    table = runner.invoke(app, ["clinic", "worklist", "--db", clinic_db.url])
    assert table.exit_code == 0 and "CLI-1" in table.stdout and "refill_overdue" in table.stdout


def test_export_fhir_writes_a_bundle_that_parses_back(clinic_db: ClinicDB,
                                                      tmp_path: Path) -> None:
    _overdue(clinic_db)
    out = tmp_path / "cli-1.json"
    result = runner.invoke(app, ["clinic", "export-fhir", "--db", clinic_db.url,
                                 "--patient", "CLI-1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    bundle = Bundle.model_validate_json(out.read_text(encoding="utf-8"))
    assert bundle.entry[0].resource.identifier[0].value == "CLI-1"


@pytest.mark.e2e
def test_an_unknown_mrn_or_database_is_error_and_next_with_exit_2(clinic_db: ClinicDB,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "none.json"
    unknown = subprocess.run([ITB, "clinic", "export-fhir", "--db", clinic_db.url,
                              "--patient", "NOPE-9", "--out", str(out)],
                             capture_output=True, text=True, timeout=60, check=False)
    assert unknown.returncode == 2 and unknown.stdout == ""
    lines = unknown.stderr.strip().splitlines()
    assert lines[0].startswith("Error: --patient 'NOPE-9'") and lines[1].startswith("Next: ")
    assert "Traceback" not in unknown.stderr and not out.exists()
    missing = subprocess.run([ITB, "clinic", "worklist", "--db",
                              f"sqlite:///{tmp_path / 'absent.db'}", "--json"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 2 and missing.stderr.startswith("Error: --db ")
    assert "itb clinic init" in missing.stderr
    bad_kind = runner.invoke(app, ["clinic", "worklist", "--db", clinic_db.url,
                                   "--kind", "coffee"])
    assert bad_kind.exit_code == 2 and bad_kind.stderr.startswith("Error: --kind 'coffee'")
    far = runner.invoke(app, ["clinic", "worklist", "--db", clinic_db.url,
                              "--horizon-days", "366"])
    assert far.exit_code == 2 and "Next: Give --horizon-days" in far.stderr


@pytest.mark.e2e
def test_a_clinic_left_at_an_older_revision_is_refused_until_init_migrates_it(
        new_db_url: NewDB) -> None:
    """After an upgrade of itb, before `itb clinic init`: the worklist and the server say
    which revision the database is at and how to migrate it, instead of failing on a
    column that is not there yet; after init the same worklist works."""
    db = ClinicDB(new_db_url(migrated=False))
    db.migrate("0007")
    shown = db.shown_url
    db.dispose()
    for command in (["clinic", "worklist", "--json"], ["clinic", "serve", "--port", "0"]):
        old = subprocess.run([ITB, *command, "--db", db.url], capture_output=True, text=True,
                             timeout=60, check=False)
        assert old.returncode == 2 and old.stdout == "", old.stderr
        assert old.stderr.splitlines() == [
            f"Error: The clinic database {shown} is at schema revision 0007; this itb needs "
            f"revision {head_revision()}.",
            f"Next: Run `itb clinic init --db {shown}` to migrate it (every record is kept)."]
    assert runner.invoke(app, ["clinic", "init", "--db", db.url]).exit_code == 0
    now = subprocess.run([ITB, "clinic", "worklist", "--json", "--db", db.url],
                         capture_output=True, text=True, timeout=60, check=False)
    assert now.returncode == 0 and json.loads(now.stdout) == []
