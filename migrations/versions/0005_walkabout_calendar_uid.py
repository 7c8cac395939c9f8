"""Walkabouts keep the calendar UID they were invited with (issue 16).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("walkabout", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_uid", sa.String(length=255), nullable=True))
    # Every walkabout that exists now was sent (and fed) as walkabout-<id>@walkabout: people's
    # calendars hold it under that UID, so it keeps it and stays one event there.
    op.execute("UPDATE walkabout SET calendar_uid = 'walkabout-' || CAST(id AS VARCHAR(20)) || '@walkabout'")


def downgrade() -> None:
    # SQLite >= 3.35 drops it in place: a batch rebuild of "walkabout" would trip the
    # foreign keys that point at it.
    op.drop_column("walkabout", "calendar_uid")
