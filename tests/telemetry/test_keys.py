from __future__ import annotations

from pathlib import Path

import pytest

from itb.errors import InvalidInput
from itb.telemetry.errors import KeyFileError
from itb.telemetry.io.client import read_key_file
from itb.telemetry.protocol.keys import LinkKey, Role, check_serial, role_key

from .linkkit import CLINIC_KEY, PUMP_KEY, SERIAL


def test_key_file_text_round_trips() -> None:
    assert LinkKey.from_text(CLINIC_KEY.to_text()) == CLINIC_KEY
    patient = CLINIC_KEY.patient_key()
    assert LinkKey.from_text(patient.to_text()) == patient


def test_clinic_key_derives_both_roles_and_a_patient_key_only_one() -> None:
    assert CLINIC_KEY.roles == (Role.CLINICIAN, Role.PATIENT)
    patient = CLINIC_KEY.patient_key()
    assert patient.roles == (Role.PATIENT,)
    assert patient.key_for(Role.PATIENT) == CLINIC_KEY.key_for(Role.PATIENT)
    assert CLINIC_KEY.key_for(Role.CLINICIAN) == role_key(PUMP_KEY, SERIAL, Role.CLINICIAN)
    assert CLINIC_KEY.key_for(Role.CLINICIAN) != CLINIC_KEY.key_for(Role.PATIENT)


@pytest.mark.parametrize("text", [
    "", "itb-telemetry-key 2 serial=A scope=clinic key=00",
    f"itb-telemetry-key 1 serial={SERIAL} scope=clinic key=zz",
    f"itb-telemetry-key 1 serial={SERIAL} scope=root key={'00' * 32}",
    f"itb-telemetry-key 1 serial={SERIAL} scope=clinic key={'00' * 31}",
    f"itb-telemetry-key 1 serial=bad/serial scope=clinic key={'00' * 32}",
])
def test_bad_key_files_are_refused_clearly(text: str) -> None:
    with pytest.raises(KeyFileError) as caught:
        LinkKey.from_text(text, "k.key")
    assert "k.key" in str(caught.value)


def test_serial_format() -> None:
    assert check_serial("ITB-0001") == "ITB-0001"
    for bad in ("", "-A", "a1", "A" * 33, "A B"):
        with pytest.raises(InvalidInput):
            check_serial(bad)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00junk", b"", b"itb-key v1\n", "\u0660".encode()])
def test_reading_a_junk_key_file_is_a_key_file_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.key"
    path.write_bytes(content)
    with pytest.raises(KeyFileError) as refused:
        read_key_file(path)
    assert str(path) in str(refused.value)
