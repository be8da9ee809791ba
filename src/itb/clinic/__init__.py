"""The clinic: the care team's system of record for a whole ITB program.

Layers, inwards to outwards (docs/clinic.md):

- `models` (with `columns`): the records as SQLAlchemy 2 tables. Exact quantities are
  integers of the smallest unit (nL, 1e-6 mcg) behind `ExactDecimal`; times are UTC.
- `db`: engines (SQLite in a file with WAL by default, PostgreSQL by URL), sessions and
  the schema's migrations (Alembic, `itb/clinic/migrations`).
- `access` and `audit`: who may do what (roles), and the append-only audit trail that
  every write and every read of a patient's record goes through.
- services (`patients`, `recording`, `worklist`, `fhir`, ...): the clinic's acts as
  functions of a session and an actor; no HTTP, no HTML, no clock of their own.
- shells: `api` (FastAPI, JSON), `web` (Jinja2 + htmx pages), `cli` (`itb clinic ...`).
  They translate requests into service calls and errors into status codes and sentences.

Clinical rules are not made here: worklist dates come from the pump's own projection as
interrogated (itb.programmer.view), doses and limits from itb.therapy.
"""
