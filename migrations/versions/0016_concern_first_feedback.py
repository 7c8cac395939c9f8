"""Home's follow-up lists over index ranges (issue 21): a stored "first feedback at" on each
concern, so "feedback overdue" need not look for updates concern by concern, and indexes that
serve "no action yet" and "feedback overdue" per walkabout.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from walkabout.db_types import UTCDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = (
    "UPDATE concern SET first_feedback_at = (SELECT min(feedback_update.created_at) "
    "FROM feedback_update WHERE feedback_update.concern_id = concern.id) "
    "WHERE EXISTS (SELECT 1 FROM feedback_update WHERE feedback_update.concern_id = concern.id)"
)


def upgrade() -> None:
    op.add_column("concern", sa.Column("first_feedback_at", UTCDateTime(), nullable=True))
    op.execute(BACKFILL)
    op.create_index(
        "ix_concern_walkabout_status", "concern", ["walkabout_id", "status", "kind", "deleted_at"]
    )
    op.create_index(
        "ix_concern_walkabout_feedback",
        "concern",
        ["walkabout_id", "first_feedback_at", "feedback_due_on", "kind", "deleted_at"],
    )
    op.create_index("ix_action_concern_live", "action", ["concern_id", "deleted_at"])


def downgrade() -> None:
    op.drop_index("ix_action_concern_live", table_name="action")
    op.drop_index("ix_concern_walkabout_feedback", table_name="concern")
    op.drop_index("ix_concern_walkabout_status", table_name="concern")
    # SQLite >= 3.35 drops it in place: a batch rebuild of "concern" would trip the foreign keys.
    op.drop_column("concern", "first_feedback_at")
