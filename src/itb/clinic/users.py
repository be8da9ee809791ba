"""Users, passwords (argon2) and the programmer's API tokens (only a hash is stored)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit
from itb.clinic.access import Actor
from itb.clinic.errors import DuplicateRecord, InvalidRecord, NotAuthenticated
from itb.clinic.models import ROLES, ApiToken, Patient, User

_HASHER = PasswordHasher()
MIN_PASSWORD = 8  # itb's floor for a demo clinic (*unconfirmed*: a real site sets its policy)
SYSTEM = Actor(user_id=None, username="itb-clinic-cli", role="admin")


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role,
                 patient_id=user.patient_id)


def add_user(session: Session, username: str, role: str, password: str, *, now: datetime,
             patient_mrn: str | None = None, by: Actor = SYSTEM) -> User:
    name = username.strip()
    if not (1 <= len(name) <= 64) or not name.replace("-", "").replace(".", "").replace(
            "_", "").isalnum():
        raise InvalidRecord("username", username, "1 to 64 letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise InvalidRecord("role", role, "one of: " + ", ".join(ROLES))
    if len(password) < MIN_PASSWORD:
        raise InvalidRecord("password", "(hidden)", f"at least {MIN_PASSWORD} characters")
    patient_id = None
    if role == "patient":
        if not patient_mrn:
            raise InvalidRecord("--patient", None, "the record number of the patient this "
                                "login belongs to (role patient)")
        found = session.scalars(select(Patient).where(Patient.mrn == patient_mrn,
                                                      Patient.deleted_at.is_(None))).first()
        if found is None:
            raise InvalidRecord("--patient", patient_mrn, "the record number of a patient")
        patient_id = found.id
    elif patient_mrn:
        raise InvalidRecord("--patient", patient_mrn, "nothing unless the role is patient")
    if session.scalars(select(User).where(User.username == name)).first() is not None:
        raise DuplicateRecord(f"The username {name!r} is taken.")
    user = User(username=name, role=role, password_hash=_HASHER.hash(password),
                patient_id=patient_id, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, by, "create", "users", now=now, entity_id=user.id,
                 patient_id=patient_id, after=audit.snapshot(user))
    return user


def check_password(user: User, password: str) -> bool:
    try:
        return _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash("itb: no such user")


def check_no_user(password: str) -> bool:
    """The work of a password check for a username that does not exist (always False),
    so a wrong username takes as long as a wrong password and tells nothing."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _HASHER.verify(_dummy_hash(), password + "\0")
    return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, *, now: datetime, name: str = "",
                 by: Actor = SYSTEM, expires_at: datetime | None = None) -> str:
    """A new API token for `username`; the token itself is shown once, only its hash kept.
    A login's token ends at `expires_at`; a programmer's (no `expires_at`) until revoked."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise InvalidRecord("--username", username, "an existing, active user")
    token = "itb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), name=name,
                         created_at=now, expires_at=expires_at))
    audit.record(session, by, "create", "api_tokens", now=now, entity_id=user.id,
                 detail=f"token for {user.username}")
    return token


def token_record(session: Session, token: str, *, now: datetime | None = None) -> ApiToken:
    """The live token: known, not revoked, not expired (at `now`), of an active user."""
    found = session.scalars(select(ApiToken).where(
        ApiToken.token_sha256 == token_digest(token), ApiToken.revoked_at.is_(None))).first()
    if found is None or not found.user.active:
        raise NotAuthenticated("The API token is not valid (unknown or revoked).")
    if found.expires_at is not None and (now is None or now >= found.expires_at):
        raise NotAuthenticated("The login has expired.")
    return found


def user_for_token(session: Session, token: str, *, now: datetime | None = None) -> User:
    return token_record(session, token, now=now).user


def revoke_tokens(session: Session, username: str, *, now: datetime,
                  by: Actor = SYSTEM) -> int:
    """Revoke every live token of `username` (a lost programmer, a user leaving)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise InvalidRecord("--username", username, "an existing user")
    live = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                  ApiToken.revoked_at.is_(None))).all()
    for token in live:
        token.revoked_at = now
    audit.record(session, by, "update", "api_tokens", now=now, entity_id=user.id,
                 detail=f"{len(live)} tokens of {user.username} revoked")
    return len(live)
