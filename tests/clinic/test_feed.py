"""The programmer feeds a real clinic server (uvicorn subprocess): a reply lost after the
clinic recorded is retried and recorded once; an unreachable clinic never stops the visit and
is said once per command; `itb clinic sync` uploads a journal exactly once."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.clinic.clinic_server import ROOT, ServedClinic, serve_clinic
from tests.clinic.conftest import NOW
from tests.clinic.cutproxy import ReplyDroppingProxy
from tests.clinic.feedkit import add_patient
from tests.programmer.conftest import SERIAL, Cli, InProcessPump, make_pump
from typer.testing import CliRunner

from itb.clinic import users
from itb.clinic.cli import app as clinic_app
from itb.clinic.db import ClinicDB
from itb.clinic.models import Interrogation, Recording, SessionAct
from itb.programmer.clinic_feed import ClinicFeed, entry_body, post_entry
from itb.programmer.journal import Journal
from itb.programmer.workflows import infusion, reading
from itb.programmer.workflows.visit import Visit

ITB = str(ROOT / ".venv" / "bin" / "itb")


@pytest.fixture
def wand() -> InProcessPump:
    return make_pump()


@pytest.fixture
def token_file(clinic_db: ClinicDB, tmp_path: Path) -> Path:
    add_patient(clinic_db)
    with clinic_db.session() as s:
        users.add_user(s, "nurse-feed", "nurse", "correct horse", now=NOW)
        token = users.create_token(s, "nurse-feed", now=NOW)
    path = tmp_path / "clinic.token"
    path.write_text(token + "\n")
    return path


@pytest.fixture
def clinic(clinic_db: ClinicDB) -> Iterator[ServedClinic]:
    with serve_clinic(clinic_db.url) as served:
        yield served


def count(db: ClinicDB, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sync(journal: Path, url: str, token_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ITB, "clinic", "sync", "--journal", str(journal), "--clinic", url,
                           "--token-file", str(token_file), "--json"],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.req("REQ-CLINIC-RECORD-ONCE")
def test_a_reply_lost_after_the_clinic_recorded_is_retried_and_recorded_once(
        clinic_db: ClinicDB, clinic: ServedClinic, token_file: Path, wand: InProcessPump,
        tmp_path: Path) -> None:
    reading.interrogate(Visit(wand.open_session, tmp_path / "s.jsonl"))
    entry = Journal(tmp_path / "s.jsonl").entries()[0]
    proxy = ReplyDroppingProxy(clinic.port)
    try:
        posted = post_entry(proxy.url, token_file.read_text().strip(), entry_body(entry))
    finally:
        proxy.close()
    assert proxy.replies_dropped == 1 and proxy.connections == 2, (posted, proxy.connections)
    assert posted.status == "repeat" and posted.result is not None  # the first result
    assert count(clinic_db, Recording) == 1 and count(clinic_db, Interrogation) == 1
    with clinic_db.session() as s:
        kept = s.scalars(select(Recording)).one()
        assert (posted.result["recording_id"], posted.result["record_id"]) == (
            kept.id, kept.record_id)


@pytest.mark.req("REQ-CLINIC-RECORD-ONCE")
def test_the_programmer_cli_feeds_the_clinic_through_a_cut_reply_without_a_note(
        clinic_db: ClinicDB, clinic: ServedClinic, token_file: Path, wand: InProcessPump,
        tmp_path: Path) -> None:
    proxy = ReplyDroppingProxy(clinic.port)
    try:
        done = Cli(wand, tmp_path)("interrogate", "--clinic", proxy.url,
                                   "--clinic-token-file", str(token_file))
    finally:
        proxy.close()
    assert done.exit_code == 0, done.output
    assert "Note:" not in done.output and proxy.replies_dropped == 1
    assert count(clinic_db, Recording) == 1 and count(clinic_db, Interrogation) == 1


@pytest.mark.req("REQ-CLINIC-FEED-SERIAL")
def test_an_unreachable_clinic_is_said_once_and_the_visit_goes_on(
        wand: InProcessPump, tmp_path: Path) -> None:
    notes: list[str] = []
    url = f"http://127.0.0.1:{closed_port()}"
    feed = ClinicFeed(url, "itb_x", tmp_path / "s.jsonl", notes.append)
    visit = Visit(wand.open_session, tmp_path / "s.jsonl", recorder=feed)
    reading.interrogate(visit)
    infusion.give_bolus(visit, infusion.review_bolus(visit, infusion.BolusRequest.parse(
        "20", "10")), True)
    assert len(wand.sent_changes) == 1  # the bolus was given all the same
    assert [e.kind for e in Journal(tmp_path / "s.jsonl").entries()] == ["interrogation",
                                                                         "bolus"]
    assert len(notes) == 1 and url in notes[0] and "itb clinic sync" in notes[0]
    assert feed.held == 2 and len(feed.posted) == 1  # not tried again once unreachable


@pytest.mark.req("REQ-CLINIC-FEED-SERIAL")
@pytest.mark.parametrize(("clinic_flag", "token_text", "said"), [
    ("ftp://clinic", "itb_x", "not an http:// or https:// URL"),
    ("http://127.0.0.1:9", None, "cannot be read"),
    ("http://127.0.0.1:9", "", "holds no token"),
])
def test_a_bad_clinic_link_is_said_and_the_command_still_works(
        wand: InProcessPump, tmp_path: Path, clinic_flag: str, token_text: str | None,
        said: str) -> None:
    token = tmp_path / "token"
    if token_text is not None:
        token.write_text(token_text)
    done = Cli(wand, tmp_path)("interrogate", "--clinic", clinic_flag,
                               "--clinic-token-file", str(token))
    assert done.exit_code == 0
    assert done.output.count("Note: not recorded at the clinic") == 1 and said in done.output
    assert len(Journal(tmp_path / "session.jsonl").entries()) == 1


@pytest.mark.req("REQ-CLINIC-RECORD-ONCE")
def test_sync_uploads_a_journal_exactly_once(
        clinic_db: ClinicDB, clinic: ServedClinic, token_file: Path, wand: InProcessPump,
        tmp_path: Path) -> None:
    journal = tmp_path / "s.jsonl"
    visit = Visit(wand.open_session, journal)
    reading.interrogate(visit)
    infusion.give_bolus(visit, infusion.review_bolus(visit, infusion.BolusRequest.parse(
        "20", "10")), True)
    infusion.stop_infusion(visit, visit.read_closed(), True)
    first = sync(journal, clinic.url, token_file)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) | {"refused": []} == json.loads(first.stdout)
    assert (json.loads(first.stdout)["new"], json.loads(first.stdout)["already_recorded"]) \
        == (3, 0)
    second = sync(journal, clinic.url, token_file)
    assert second.returncode == 0, second.stderr
    assert (json.loads(second.stdout)["new"], json.loads(second.stdout)["already_recorded"]) \
        == (0, 3)
    assert count(clinic_db, Recording) == 3 and count(clinic_db, SessionAct) == 2


def test_sync_reports_refused_entries_and_refuses_a_bad_token(
        clinic_db: ClinicDB, clinic: ServedClinic, token_file: Path, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "s.jsonl")
    journal.append(at=NOW, kind="bolus", serial="NOT-IMPLANTED", pump_time=None,
                   outcome="done", summary="bolus 20 mcg")
    refused = subprocess.run([ITB, "clinic", "sync", "--journal", str(journal.path),
                              "--clinic", clinic.url, "--token-file", str(token_file)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 1, refused.stderr
    assert "0 new, 0 already recorded, 1 refused" in refused.stdout
    assert "NOT-IMPLANTED" in refused.stdout
    bad = tmp_path / "bad.token"
    bad.write_text("itb_not_a_token")
    wrong = sync(journal.path, clinic.url, bad)
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.startswith("Error:") and "refused the token" in wrong.stderr
    down = sync(journal.path, f"http://127.0.0.1:{closed_port()}", token_file)
    assert down.returncode == 2 and "did not answer" in down.stderr
    assert "Traceback" not in down.stderr + wrong.stderr


def test_old_journal_lines_sync_under_one_stable_session(
        clinic_db: ClinicDB, clinic: ServedClinic, token_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    lines = [{"format": "itb-programmer-session 1", "at": f"2026-03-01T08:0{m}:00+00:00",
              "kind": "bolus", "serial": SERIAL, "pump_time": None, "outcome": "done",
              "summary": f"bolus {m}", "details": {"dose_mcg": str(Fraction(20))}}
             for m in range(2)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert json.loads(sync(path, clinic.url, token_file).stdout)["new"] == 2
    assert json.loads(sync(path, clinic.url, token_file).stdout)["already_recorded"] == 2
    with clinic_db.session() as s:
        sessions = set(s.scalars(select(Recording.session_id)))
    assert len(sessions) == 1 and next(iter(sessions)).startswith("journal-")


@pytest.mark.parametrize(("args", "field"), [
    (["--journal", "missing.jsonl", "--clinic", "http://127.0.0.1:9"], "--journal"),
    (["--journal", "missing.jsonl", "--clinic", "ftp://x"], "--clinic"),
    (["--journal", "missing.jsonl"], "--clinic"),
])
def test_sync_refuses_a_bad_option_naming_it_before_sending_anything(
        tmp_path: Path, args: list[str], field: str) -> None:
    token = tmp_path / "t"
    token.write_text("itb_x")
    done = CliRunner().invoke(clinic_app, ["sync", *args, "--token-file", str(token)],
                              env={"ITB_CLINIC": ""})
    assert done.exit_code == 2 and done.stdout == ""
    assert done.stderr.startswith(f"Error: {field} = ") and "Traceback" not in done.stderr
