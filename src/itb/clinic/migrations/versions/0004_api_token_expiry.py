"""API tokens' expiry (`api_tokens.expires_at`): the column the API slice added to the models
after 0001 was written, without a revision of its own (main failed its migration test:
the migrated schema must equal the models). If the API slice brings its own revision for
it, keep one of the two.
"""

from __future__ import annotations

import sqlalchemy as sa

from itb.clinic.migrations.shared import UTC_TIME, add_columns, drop_columns

revision = "0004"
down_revision = "0003"


def _columns() -> list[sa.Column[object]]:
    return [sa.Column("expires_at", UTC_TIME(), nullable=True)]


def upgrade() -> None:
    add_columns("api_tokens", _columns)


def downgrade() -> None:
    drop_columns("api_tokens", _columns)
