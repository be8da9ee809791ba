"""`itb clinic book`, `itb clinic reminders send` and `itb clinic no-shows`: the shell over
itb.clinic.appointments, reminders and escalations. It acts as the local operator (role
admin, audited); refusals are `Error:`/`Next:` sentences with exit code 2."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from itb.cli_errors import RefusingGroup, refuse, refuse_error
from itb.clinic.commands.clinic_db import DB_HELP, clinic_session, local_operator
from itb.clinic.errors import ClinicError

KIND_HELP = "refill, titration, replacement, catheter_check or follow_up."
reminders_app = typer.Typer(name="reminders", cls=RefusingGroup, no_args_is_help=True,
                            help="The reminder outbox: send what is due.")


def _at(value: str | None, option: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise refuse(f"{option} {value!r} is not an ISO-8601 time with a UTC offset",
                     f"Give {option} as e.g. 2026-12-01T09:00+00:00.")
    return moment.astimezone(UTC)


def book_command(
        patient: str = typer.Option(..., "--patient", help="The patient's record number."),
        kind: str = typer.Option(..., "--kind", help=KIND_HELP),
        at: str = typer.Option(..., "--at", help="The start: ISO-8601 with a UTC offset, or "
                               "a local time in the patient's time zone."),
        clinician: str = typer.Option(..., "--clinician", help="The clinician's username."),
        place: str = typer.Option("", "--place", help="Where (room, site)."),
        override_reason: str | None = typer.Option(
            None, "--override-reason", help="Why, when booking outside the safe window."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Book a visit, checked against the pump's last interrogation (a refill no later than
    its refill-by date without a reason, never after its low-reservoir alarm date)."""
    from itb.clinic import appointments, records
    from itb.clinic.booking_window import local

    with clinic_session(db) as session:
        record = records.patient_by_mrn(session, patient.strip())
        booked = appointments.book(session, local_operator(), record.id, appointments.Booking(
            kind=kind, starts_at=at, clinician=clinician, place=place,
            override_reason=override_reason), now=datetime.now(UTC))
        when, zone = local(booked.starts_at, record.time_zone), record.time_zone
        queued = len(booked_reminders(session, booked.id))
    typer.echo(f"Booked {booked.kind} {booked.id} for {record.mrn} at {when} ({zone}; "
               f"{booked.starts_at:%Y-%m-%d %H:%M} UTC) with {clinician}; "
               f"{queued} reminder(s) queued.")
    typer.echo(f"Window: {booked.window}")


def booked_reminders(session: Session, appointment_id: int) -> list[int]:
    from itb.clinic.models import Reminder

    return list(session.scalars(select(Reminder.id).where(
        Reminder.appointment_id == appointment_id)))


@reminders_app.command("send")
def send_command(
        outbox_dir: Path = typer.Option(..., "--outbox-dir",
                                        help="Folder the file sender writes messages to."),
        at: str | None = typer.Option(None, "--at", help="Send what is due by this time "
                                      "(ISO-8601 with offset; default now)."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Send every reminder due (each exactly once: a retry never doubles a message)."""
    from itb.clinic import reminders
    from itb.clinic.db import ClinicDB, database_url

    now = _at(at, "--at")
    if outbox_dir.exists() and not outbox_dir.is_dir():
        raise refuse(f"--outbox-dir {str(outbox_dir)!r} is a file",
                     "Give --outbox-dir as a folder (it is made if missing).")
    with clinic_session(db):
        pass  # the same checks of --db as every clinic command
    clinic = ClinicDB(database_url(db))
    try:
        report = reminders.send_due(clinic, reminders.FileSender(outbox_dir), now=now)
    except ClinicError as error:
        raise refuse_error(error, error.next_step) from None
    finally:
        clinic.dispose()
    typer.echo(f"Sent {report.sent} reminder(s) to {outbox_dir}; {report.failed} failed "
               "(kept, tried again next run).")
    if report.failed:
        raise typer.Exit(1)


def no_shows_command(
        at: str | None = typer.Option(None, "--at", help="As of this time (ISO-8601 with "
                                      "offset; default now)."),
        grace: int = typer.Option(60, "--grace-minutes", help="Minutes after a visit's end "
                                  "before it counts as missed (0-1440)."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
) -> None:
    """Mark missed every booked visit not attended, and list the open escalations."""
    from itb.clinic import appointments, escalations

    now = _at(at, "--at")
    with clinic_session(db) as session:
        missed = appointments.sweep_missed(session, local_operator(), now=now,
                                           grace_minutes=grace)
        found = escalations.open_escalations(session, local_operator(), now=now)
        lines = [f"[{o.urgency}] {o.patient.mrn} {o.patient.name}: {o.escalation.reason} "
                 f"Now: {o.left}." for o in found]
    typer.echo(f"Marked {len(missed)} visit(s) missed; {len(lines)} open escalation(s).")
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""
    app.command("book")(book_command)
    app.command("no-shows")(no_shows_command)
    app.add_typer(reminders_app)
