"""`itb clinic user add` and `itb clinic token create | revoke`: logins and API tokens.

A password is read from standard input only (`--password-stdin`), never from the command
line (it would stay in the shell's history and in the process list). A token is written
to a file only its owner can read (mode 0600) and is shown nowhere else.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from itb.cli_errors import RefusingGroup, refuse
from itb.clinic import users
from itb.clinic.commands.clinic_db import DB_HELP, clinic_session
from itb.clinic.models import ROLES

user_app = typer.Typer(name="user", cls=RefusingGroup, no_args_is_help=True,
                       help="The clinic's logins (care team, admins, patients).")
token_app = typer.Typer(name="token", cls=RefusingGroup, no_args_is_help=True,
                        help="API tokens for the programmer and scripts.")


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


@user_app.command("add")
def add_user(
    username: str = typer.Option(..., "--username", help="1 to 64 letters, digits, . - _"),
    role: str = typer.Option(..., "--role", help="One of: " + ", ".join(ROLES) + "."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input."),
    patient: str | None = typer.Option(None, "--patient", metavar="MRN",
                                       help="Role patient: the record number of their record."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Add a login; the password is read from standard input (--password-stdin)."""
    if not password_stdin:
        raise refuse("--password-stdin is missing: a password is never given on the "
                     "command line.", "Pipe it in: `printf '%s\\n' \"$PW\" | itb clinic "
                     "user add ... --password-stdin`.")
    password = _password_from_stdin()
    with clinic_session(db) as session:
        user = users.add_user(session, username, role, password, now=datetime.now(UTC),
                              patient_mrn=patient)
        name, role_given = user.username, user.role
    typer.echo(f"User {name} added (role {role_given}).")


def _write_private(path: Path, text: str) -> Path:
    """`text` in a new file next to `path`, readable by its owner only (0600)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise refuse(f"--out = {path} cannot be written ({error.strerror}).",
                     "Give --out as a file in a folder you can write.") from None
    return temporary


@token_app.command("create")
def create_token(
    username: str = typer.Option(..., "--username", help="The user the token acts as."),
    out: Path = typer.Option(..., "--out", help="Write the token here (mode 0600)."),
    name: str = typer.Option("", "--name", help="What the token is for (shown in the audit)."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Create an API token for a user and write it to a file only you can read."""
    if len(name) > 128:
        raise refuse(f"--name is {len(name)} characters long: allowed is up to 128.",
                     "Give a shorter --name.")
    if out.is_dir():
        raise refuse(f"--out = {out} is a folder.", "Give --out as a file name.")
    written: Path | None = None
    try:
        with clinic_session(db) as session:
            token = users.create_token(session, username, now=datetime.now(UTC), name=name)
            # on disk before the commit: a token is never valid without its file
            written = _write_private(out, token + "\n")
        written.replace(out)
    except BaseException:
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    typer.echo(f"Token for {username} written to {out} (mode 0600). Send it as "
               "'Authorization: Bearer TOKEN'.")


@token_app.command("revoke")
def revoke_tokens(
    username: str = typer.Option(..., "--username", help="Revoke every token of this user."),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Revoke every API and login token of a user."""
    with clinic_session(db) as session:
        count = users.revoke_tokens(session, username, now=datetime.now(UTC))
    typer.echo(f"{count} token{'s' if count != 1 else ''} of {username} revoked.")


def register(app: typer.Typer) -> None:
    """Add `user` and `token` to `app`."""
    app.add_typer(user_app)
    app.add_typer(token_app)
