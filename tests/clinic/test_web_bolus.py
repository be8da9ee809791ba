"""The portal's patient bolus, asked of a real served pump (`itb pump serve`) in a
patient-role session: the pump grants the prescribed bolus, refuses the next one inside
the lockout, and every answer is kept as a session act."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.clinic.conftest import NOW
from tests.clinic.web_helpers import Web, token_of
from tests.e2e.pump_server import SERIAL, new_pump, start_server, stop_server

from itb.clinic.db import ClinicDB
from itb.clinic.models import Implant, Prescription, SessionAct
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.protocol.commands import PatientBolusSpec
from itb.telemetry.protocol.keys import LinkKey

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def served_pump(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A pump served in real time whose program allows a 25 mcg patient bolus, 1 h apart."""
    state = tmp_path / "state"
    made = new_pump(state, "--max-bolus", "100")
    assert made.returncode == 0, made.stderr
    process, port = start_server(state, "1")
    key_file = state / "keys" / f"{SERIAL}.key"
    key = LinkKey.from_text(key_file.read_text(encoding="utf-8"), str(key_file))
    try:
        with ProgrammerClient.connect_tcp("127.0.0.1", port, key) as wand:
            program = wand.interrogate().program
            assert program is not None
            wand.program(replace(program, patient_bolus=PatientBolusSpec(Fraction(25), 3600,
                                                                         2)))
        yield port, key_file
    finally:
        stop_server(process)


def _patient_with_pump(db: ClinicDB, web: Web, port: int, key_file: Path) -> int:
    pid = web.patient("PB-1", "Pat Bolus")
    with db.session() as s:
        s.add(Implant(patient_id=pid, pump_serial=SERIAL, pump_model="synchromed-ii-20",
                      implanted_on=date(2026, 1, 5), pump_host="127.0.0.1", pump_port=port,
                      key_file=str(key_file), created_at=NOW))
        s.add(Prescription(patient_id=pid, drug="baclofen", strength_mcg_per_ml=Decimal(500),
                           daily_dose_mcg=Decimal(300), program={"mode": "simple"},
                           patient_bolus_mcg=Decimal(25), patient_bolus_lockout_min=60,
                           patient_bolus_max_per_day=2, started_on=date(2026, 1, 5),
                           created_at=NOW))
    return pid


def test_the_pump_grants_the_patient_bolus_then_refuses_one_right_after(
        clinic_db: ClinicDB, served_pump: tuple[int, Path]) -> None:
    port, key_file = served_pump
    web = Web(clinic_db)
    pid = _patient_with_pump(clinic_db, web, port, key_file)
    me = web.logged_in(web.user("patient", patient_mrn="PB-1"))
    page = me.get("/me").text
    assert "Ask the pump for my bolus" in page
    first = me.post("/me/bolus", data={"csrf_token": token_of(me, "/me")})
    assert first.status_code == 200, first.text
    assert "The pump is giving your bolus of 25 mcg" in first.text
    # right after, the pump refuses: its patient-session cooldown (issue 17.5) or lockout
    second = me.post("/me/bolus", data={"csrf_token": token_of(me, "/me")})
    assert "giving your bolus" not in second.text and "refused" in second.text
    with clinic_db.session() as s:
        acts = s.scalars(select(SessionAct).where(SessionAct.patient_id == pid)
                         .order_by(SessionAct.id)).all()
    outcomes = [a.outcome for a in acts]
    assert len(outcomes) == 2 and outcomes[0] == "granted"
    assert outcomes[1] in ("refused", "failed")
    assert all(a.kind == "patient_bolus" for a in acts)


def test_without_a_reachable_pump_the_portal_says_so_and_nothing_is_claimed(
        clinic_db: ClinicDB, tmp_path: Path) -> None:
    web = Web(clinic_db)
    _patient_with_pump(clinic_db, web, 1, tmp_path / "missing.key")
    me = web.logged_in(web.user("patient", patient_mrn="PB-1"))
    answer = me.post("/me/bolus", data={"csrf_token": token_of(me, "/me")})
    assert answer.status_code == 200 and "giving your bolus" not in answer.text
    with clinic_db.session() as s:
        assert s.scalars(select(SessionAct)).one().outcome == "failed"
