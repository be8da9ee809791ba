"""Issue 17.8: a damaged or edited state file was replaced silently.

As filed: with the current state file damaged the server started from the previous copy with
nothing in any log; and since the sha256 header is a checksum anyone can recompute, an edit
of the dose and the hard limit went unnoticed. Reproduced on a served pump.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import subprocess
from pathlib import Path

import pytest

from itb.errors import InvalidInput
from itb.telemetry.io.client import ProgrammerClient
from itb.telemetry.io.store import StateStore, StateUnreadable, read_state_key
from itb.telemetry.io.transport import TcpTransport

from .served import CLINIC_KEY, ITB, SERIAL, make_state, served_in_process


def edit_dose(path: Path, daily_dose: str) -> None:
    """What a writer of the state folder can do: change the dose and the hard limit and
    recompute the sha256 header."""
    _header, body = path.read_bytes().split(b"\n", 1)
    document = json.loads(body)
    program = document["pump"]["program"]
    program["therapy"]["daily_dose_mcg"] = daily_dose
    program["limits"]["max_daily_dose_mcg"] = daily_dose
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(f"itb-pump-state 1 sha256={hashlib.sha256(body).hexdigest()}\n".encode()
                     + body)


def saved_twice(store: StateStore) -> Path:
    """Save once more so that a previous copy exists; returns the current file."""
    store.save(SERIAL, store.load(SERIAL))
    return store.path(SERIAL)


def test_a_fallback_to_the_previous_copy_is_logged_and_raises_a_pump_alarm(
        tmp_path: Path) -> None:
    store = make_state(tmp_path)
    current = saved_twice(store)
    current.write_bytes(current.read_bytes()[:-10])  # a torn write
    with served_in_process(tmp_path, store=StateStore(tmp_path)) as served, \
            ProgrammerClient(TcpTransport("127.0.0.1", served.port), CLINIC_KEY) as wand:
        report = wand.interrogate()
        audit = wand.read_security_log(0)
    assert any("previous copy" in line and SERIAL in line for line in served.log)
    assert "memory_error" in [alarm.code for alarm in report.alarms]
    assert "state_restored" in [e.kind for e in audit.entries]


def test_without_a_state_key_an_edit_with_a_recomputed_checksum_is_not_detected(
        tmp_path: Path) -> None:
    """What the threat model now says: the checksum detects damage, not tampering."""
    store = make_state(tmp_path)
    edit_dose(store.path(SERIAL), "900")
    assert StateStore(tmp_path).load(SERIAL)["pump"]["program"]["therapy"][
        "daily_dose_mcg"] == "900"


def test_with_a_state_key_an_edited_file_is_refused_and_the_signed_copy_used(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    key_file = tmp_path / "state.key"
    key_file.write_text(secrets.token_hex(32))
    key = read_state_key(key_file, state)
    signed = StateStore(state, key)
    signed.save(SERIAL, make_state(tmp_path / "plain").load(SERIAL))
    current = saved_twice(signed)
    edit_dose(current, "900")
    with served_in_process(state, store=StateStore(state, key)) as served, \
            ProgrammerClient(TcpTransport("127.0.0.1", served.port), CLINIC_KEY) as wand:
        report = wand.interrogate()
    assert report.program is not None and str(report.program.therapy.daily_dose_mcg) != "900"
    assert "memory_error" in [alarm.code for alarm in report.alarms]
    assert any("not signed with the state key" in line for line in served.log)
    edit_dose(current.with_name(current.name + ".prev"), "900")
    edit_dose(current, "900")
    with pytest.raises(StateUnreadable, match="not signed"):
        StateStore(state, key).load(SERIAL)


def test_the_state_key_must_live_outside_the_state_folder(tmp_path: Path) -> None:
    inside = tmp_path / "keys" / "state.key"
    inside.parent.mkdir()
    inside.write_text(secrets.token_hex(32))
    with pytest.raises(InvalidInput) as refused:
        read_state_key(inside, tmp_path)
    assert refused.value.field == "state_key"


def test_itb_pump_new_and_serve_take_a_state_key(tmp_path: Path) -> None:
    state = tmp_path / "state"
    key_file = tmp_path / "state.key"
    key_file.write_text(secrets.token_hex(32))
    done = subprocess.run([ITB, "pump", "new", "--state", str(state), "--model",
                           "synchromed-ii-20", "--serial", "ITB-8801", "--state-key",
                           str(key_file)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert b"hmac-sha256=" in (state / "pumps" / "ITB-8801.state").read_bytes()[:80]
    refused = subprocess.run([ITB, "pump", "serve", "--state", str(state), "--port", "0"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--state-key" in refused.stderr
