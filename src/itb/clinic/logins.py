"""Logging in with a username and password: a short-lived token, failures rate-limited
per username (in the database: it holds across restarts) and per client address (in the
serving process), every attempt audited.

After `max_failures` failures in a row a username is locked for `lockout`; so is a client
address after `max_failures` failures within `lockout`, whatever usernames it tried. While
locked, no password is checked (429). The figures are itb's defaults (*unconfirmed*: a site
sets its own policy) and can be changed (`LoginPolicy`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.clinic import audit, users
from itb.clinic.access import Actor
from itb.clinic.errors import ClinicError, NotAuthenticated
from itb.clinic.models import User


class LoginThrottled(ClinicError):
    """429: too many failed logins for this username or from this address."""

    status = 429
    next_step = "Wait until the time given, or ask an admin to check the account."

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5  # *unconfirmed*: itb's default
    lockout: timedelta = timedelta(minutes=15)  # *unconfirmed*: itb's default
    token_life: timedelta = timedelta(minutes=30)  # *unconfirmed*: a login's token
    max_addresses: int = 10_000  # addresses remembered (memory stays bounded)


@dataclass
class AddressThrottle:
    """Failures per client address within the lockout window (one serving process)."""

    policy: LoginPolicy
    _seen: OrderedDict[str, tuple[int, datetime, datetime | None]] = field(
        default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_until(self, address: str, now: datetime) -> datetime | None:
        with self._lock:
            _count, _first, until = self._seen.get(address, (0, now, None))
            return until if until is not None and until > now else None

    def failed(self, address: str, now: datetime) -> None:
        with self._lock:
            count, first, until = self._seen.pop(address, (0, now, None))
            if now - first > self.policy.lockout or (until is not None and until <= now):
                count, first, until = 0, now, None
            count += 1
            if count >= self.policy.max_failures:
                until = now + self.policy.lockout
            self._seen[address] = (count, first, until)
            while len(self._seen) > self.policy.max_addresses:
                self._seen.popitem(last=False)  # the address not seen for longest

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._seen.pop(address, None)


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    actor: Actor


def _refuse_locked(session: Session, who: Actor, until: datetime, what: str,
                   now: datetime) -> LoginThrottled:
    audit.record(session, who, "denied", "users", now=now, entity_id=who.user_id,
                 detail=f"login refused: {what} locked until {until.isoformat()}")
    session.commit()  # the refusal is kept although the request fails
    return LoginThrottled(f"Too many failed logins {what}: try again after "
                          f"{until:%Y-%m-%d %H:%M} UTC.", until)


def check_credentials(session: Session, username: str, password: str, *, address: str,
                      now: datetime, policy: LoginPolicy, throttle: AddressThrottle) -> User:
    """The user of a right username and password; 401 otherwise, 429 while locked (the
    API's login and the web app's login form both check here)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    who = users.actor_of(user) if user is not None else Actor(
        user_id=None, username=username[:64], role="anonymous")
    address_lock = throttle.locked_until(address, now)
    if address_lock is not None:
        raise _refuse_locked(session, who, address_lock, f"from {address}", now)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        raise _refuse_locked(session, who, user.locked_until, f"for {user.username}", now)
    if user is None or not user.active:
        right = users.check_no_user(password)
    else:
        right = users.check_password(user, password)
    if not right:
        throttle.failed(address, now)
        detail = "login failed"
        if user is not None:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= policy.max_failures:
                user.locked_until, user.failed_logins = now + policy.lockout, 0
                detail += f"; locked until {user.locked_until.isoformat()}"
        audit.record(session, who, "login", "users", now=now, entity_id=who.user_id,
                     detail=f"{detail} (from {address})")
        session.commit()  # the failure counts although the request fails
        raise NotAuthenticated("The username or password is wrong.",
                               "Check both and try again; after "
                               f"{policy.max_failures} failures logins are paused.")
    assert user is not None
    user.failed_logins, user.locked_until = 0, None
    throttle.succeeded(address)
    return user


def log_in(session: Session, username: str, password: str, *, address: str, now: datetime,
           policy: LoginPolicy, throttle: AddressThrottle) -> Login:
    """A token for a right username and password; 401 otherwise, 429 while locked."""
    user = check_credentials(session, username, password, address=address, now=now,
                             policy=policy, throttle=throttle)
    who = users.actor_of(user)
    expires = now + policy.token_life
    token = users.create_token(session, user.username, now=now, name="login", by=who,
                               expires_at=expires)
    audit.record(session, who, "login", "users", now=now, entity_id=user.id,
                 detail=f"login ok (from {address})")
    return Login(token=token, expires_at=expires, actor=who)


def log_out(session: Session, token: str, *, now: datetime) -> None:
    """Revoke the token this request came with."""
    record = users.token_record(session, token, now=now)
    record.revoked_at = now
    audit.record(session, users.actor_of(record.user), "update", "api_tokens", now=now,
                 entity_id=record.user_id, detail="logged out: token revoked")
