"""The web app's settings, in one place: read from the environment when the app is made.

- `ITB_CLINIC_SECRET` (or `ITB_CLINIC_SECRET_FILE`): the key that signs the login cookie.
  Without one a random key is made per process: logins end when the server restarts.
- `ITB_CLINIC_HTTPS_ONLY`: `1` marks the cookie Secure (served behind TLS); default off,
  since `itb clinic serve` listens on the loopback over plain HTTP.
- `ITB_CLINIC_IDLE_MINUTES`: a login left idle this long is ended (default 15,
  *unconfirmed*: a site sets its own policy; decimals allowed, e.g. 0.05 for a test).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from itb.clinic.errors import InvalidRecord

DEFAULT_IDLE_MINUTES = Decimal(15)  # *unconfirmed*: itb's default
IDLE_MINUTES = (Decimal("0.01"), Decimal(24 * 60))  # what the setting accepts
# a login lasts at most a working day, however active (*unconfirmed*: itb's default)
MAX_LOGIN = timedelta(hours=12)


@dataclass(frozen=True)
class WebSettings:
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    https_only: bool = False
    idle: timedelta = timedelta(minutes=int(DEFAULT_IDLE_MINUTES))
    cookie: str = "itb_clinic"

    @staticmethod
    def from_env(env: dict[str, str] | None = None) -> WebSettings:
        env = dict(os.environ) if env is None else env
        secret = env.get("ITB_CLINIC_SECRET") or ""
        if not secret and env.get("ITB_CLINIC_SECRET_FILE"):
            secret = Path(env["ITB_CLINIC_SECRET_FILE"]).read_text(encoding="utf-8").strip()
        https = env.get("ITB_CLINIC_HTTPS_ONLY", "0").strip().lower()
        if https not in ("0", "1", "true", "false", ""):
            raise InvalidRecord("ITB_CLINIC_HTTPS_ONLY", https, "1 or 0")
        text = env.get("ITB_CLINIC_IDLE_MINUTES", str(DEFAULT_IDLE_MINUTES))
        try:
            minutes = Decimal(text)
        except InvalidOperation:
            minutes = Decimal("NaN")
        if not minutes.is_finite() or not IDLE_MINUTES[0] <= minutes <= IDLE_MINUTES[1]:
            raise InvalidRecord("ITB_CLINIC_IDLE_MINUTES", text,
                                f"{IDLE_MINUTES[0]} to {IDLE_MINUTES[1]} minutes")
        made = WebSettings(https_only=https in ("1", "true"),
                           idle=timedelta(seconds=int(minutes * 60)) or timedelta(seconds=1))
        return made if not secret else WebSettings(secret=secret, https_only=made.https_only,
                                                   idle=made.idle)
