"""The clinic's schema history as Alembic revisions (`ClinicDB.migrate` runs them).

Shipped in the package, so no alembic.ini is needed: `itb.clinic.db.alembic_config` points
Alembic at this folder and hands it the connection. A change to `models.py` needs a new
revision in `versions/`, chained after the newest; `tests/clinic/test_migrations.py` fails
while the migrated schema and the models differ.
"""
