"""Alembic's entry point: run the revisions on the connection `ClinicDB.migrate` passes in
(or, for the `alembic` command line during development, on `sqlalchemy.url`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from itb.clinic.models import Base

config = context.config


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata,  # type: ignore[arg-type]
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


given = config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()
