"""Keys of the wand link: the pump key, role keys and session keys.

- Each pump gets its own random 32-byte *pump key* when it is implanted. The pump
  keeps it in its memory and the clinic keeps a copy; it is never sent on the link.
- A *role key* is derived from the pump key for each role. The clinic's programmer
  derives the clinician key; a patient's handheld is given only the patient key,
  from which the clinician key cannot be computed (HKDF is one-way), so a stolen
  handheld can never act as a clinician.
- *Session keys* come from the role key and a fresh nonce from each side (HKDF), one
  key per direction so a frame can never be reflected back to its sender.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from itb.errors import InvalidInput
from itb.telemetry.errors import KeyFileError

KEY_BYTES = 32
NONCE_BYTES = 16
SERIAL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,31}$")
_LABEL = b"itb-telemetry/1 "


class Role(IntEnum):
    """Who is at the other end of the wand. The role is proven by which key they hold."""

    CLINICIAN = 1
    PATIENT = 2


def check_serial(serial: str) -> str:
    if not isinstance(serial, str) or not SERIAL_PATTERN.match(serial):
        raise InvalidInput("serial", serial,
                           "1 to 32 capital letters, digits and '-', not starting with '-'")
    return serial


def _hkdf(ikm: bytes, salt: bytes | None, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def role_key(pump_key: bytes, serial: str, role: Role) -> bytes:
    """The key that proves `role` for this pump (serial bound in, so keys never cross pumps)."""
    return _hkdf(pump_key, None, _LABEL + b"role " + role.name.encode() + b" " + serial.encode(),
                 KEY_BYTES)


@dataclass(frozen=True, slots=True)
class SessionKeys:
    programmer_to_pump: bytes
    pump_to_programmer: bytes


def session_keys(key_for_role: bytes, nonce_programmer: bytes, nonce_pump: bytes,
                 transcript: bytes) -> SessionKeys:
    """Per-session, per-direction keys; fresh because both nonces are fresh."""
    okm = _hkdf(key_for_role, nonce_programmer + nonce_pump,
                _LABEL + b"session " + transcript_hash(transcript), 2 * KEY_BYTES)
    return SessionKeys(okm[:KEY_BYTES], okm[KEY_BYTES:])


def transcript_hash(transcript: bytes) -> bytes:
    return hashlib.sha256(transcript).digest()


@dataclass(frozen=True, slots=True)
class LinkKey:
    """What a programmer or handheld holds: a key for one pump, and what it may do.

    `scope` is "clinic" for the pump key itself (the clinic's copy, from which every
    role key follows) or "patient" for a handheld's patient-role key.
    """

    serial: str
    scope: str
    secret: bytes

    def __post_init__(self) -> None:
        check_serial(self.serial)
        if self.scope not in ("clinic", "patient"):
            raise InvalidInput("key scope", self.scope, "one of: clinic, patient")
        if len(self.secret) != KEY_BYTES:
            raise InvalidInput("key length", len(self.secret), f"{KEY_BYTES} bytes")

    def key_for(self, role: Role) -> bytes:
        if self.scope == "clinic":
            return role_key(self.secret, self.serial, role)
        if role is Role.PATIENT:
            return self.secret
        raise InvalidInput("role", role.name.lower(), "patient (this is a patient handheld key)")

    @property
    def roles(self) -> tuple[Role, ...]:
        return (Role.CLINICIAN, Role.PATIENT) if self.scope == "clinic" else (Role.PATIENT,)

    def patient_key(self) -> LinkKey:
        """The key to load into this patient's handheld (only from the clinic's key)."""
        return LinkKey(self.serial, "patient", self.key_for(Role.PATIENT))

    def to_text(self) -> str:
        return (f"itb-telemetry-key 1 serial={self.serial} scope={self.scope} "
                f"key={self.secret.hex()}\n")

    @classmethod
    def from_text(cls, text: str, where: str = "key file") -> LinkKey:
        allowed = "one line 'itb-telemetry-key 1 serial=S scope=clinic|patient key=<64 hex digits>'"
        parts = text.strip().split()
        if len(parts) != 5 or parts[0] != "itb-telemetry-key" or parts[1] != "1":
            raise KeyFileError(where, allowed)
        fields = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        if set(fields) != {"serial", "scope", "key"}:
            raise KeyFileError(where, allowed)
        try:
            secret = bytes.fromhex(fields["key"])
        except ValueError:
            raise KeyFileError(where, allowed, "the key is not hexadecimal") from None
        try:
            return cls(fields["serial"], fields["scope"], secret)
        except InvalidInput as exc:
            raise KeyFileError(where, allowed, str(exc)) from None
