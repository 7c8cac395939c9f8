"""Feedback to staff is one timed record (issue 15): every concern gets a feedback due
date and its "you said, we did" updates; the walkabout-level "feedback given" flags
become feedback deliveries, the record the ward page and the board pack read.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 12:10:00
"""

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

import walkabout.db_types
from walkabout.rules import FEEDBACK_DAYS

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _setting(name: str, default: str) -> str:
    return (os.environ.get(name) or "").strip() or default


def upgrade() -> None:
    op.create_table(
        "feedback_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("interim", "final", name="feedbackkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", walkabout.db_types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["concern_id"], ["concern.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_update_concern_id", "feedback_update", ["concern_id"], unique=False)
    op.create_index("ix_feedback_update_author_id", "feedback_update", ["author_id"], unique=False)
    op.add_column("concern", sa.Column("feedback_due_on", sa.Date(), nullable=True))
    op.create_index("ix_concern_feedback_due_on", "concern", ["feedback_due_on"], unique=False)

    bind = op.get_bind()
    zone = ZoneInfo(_setting("WALKABOUT_TIMEZONE", "Europe/London"))
    days = int(_setting("WALKABOUT_FEEDBACK_DAYS", str(FEEDBACK_DAYS)))
    walkabouts = sa.table(
        "walkabout",
        sa.column("id"),
        sa.column("ward_id"),
        sa.column("lead_id"),
        sa.column("status"),
        sa.column("scheduled_start", walkabout.db_types.UTCDateTime()),
        sa.column("started_at", walkabout.db_types.UTCDateTime()),
        sa.column("completed_at", walkabout.db_types.UTCDateTime()),
        sa.column("feedback_given"),
        sa.column("feedback_given_at", walkabout.db_types.UTCDateTime()),
        sa.column("feedback_notes"),
    )
    concerns = sa.table("concern", sa.column("walkabout_id"), sa.column("feedback_due_on", sa.Date()))
    deliveries = sa.table(
        "feedback_delivery",
        sa.column("ward_id"),
        sa.column("walkabout_id"),
        sa.column("delivered_at", walkabout.db_types.UTCDateTime()),
        sa.column("method"),
        sa.column("notes"),
        sa.column("delivered_by_id"),
        sa.column("created_at", walkabout.db_types.UTCDateTime()),
    )
    now = datetime.now(UTC)
    rows = bind.execute(
        sa.select(walkabouts).where(walkabouts.c.status == "completed").order_by(walkabouts.c.id)
    ).all()
    for row in rows:
        visited = (row.started_at or row.scheduled_start).astimezone(zone).date()
        bind.execute(
            concerns.update()
            .where(concerns.c.walkabout_id == row.id)
            .values(feedback_due_on=visited + timedelta(days=days))
        )
        already = bind.execute(
            sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.walkabout_id == row.id)
        ).scalar()
        if row.feedback_given and not already:
            bind.execute(
                deliveries.insert().values(
                    ward_id=row.ward_id,
                    walkabout_id=row.id,
                    delivered_at=row.feedback_given_at or row.completed_at or row.scheduled_start,
                    method="At the walkabout",
                    notes=row.feedback_notes,
                    delivered_by_id=row.lead_id,
                    created_at=now,
                )
            )
    # SQLite >= 3.35 drops columns in place (a batch rebuild would trip the foreign keys).
    op.drop_column("walkabout", "feedback_notes")
    op.drop_column("walkabout", "feedback_given_at")
    op.drop_column("walkabout", "feedback_given")


def downgrade() -> None:
    op.add_column("walkabout", sa.Column("feedback_given", sa.Boolean(), nullable=True))
    op.add_column(
        "walkabout", sa.Column("feedback_given_at", walkabout.db_types.UTCDateTime(), nullable=True)
    )
    op.add_column(
        "walkabout", sa.Column("feedback_notes", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
    )
    op.execute(
        "UPDATE walkabout SET feedback_given = TRUE, feedback_given_at = "
        "(SELECT MIN(delivered_at) FROM feedback_delivery "
        "WHERE feedback_delivery.walkabout_id = walkabout.id) "
        "WHERE id IN (SELECT walkabout_id FROM feedback_delivery WHERE walkabout_id IS NOT NULL)"
    )
    op.drop_index("ix_concern_feedback_due_on", table_name="concern")
    op.drop_column("concern", "feedback_due_on")
    op.drop_index("ix_feedback_update_author_id", table_name="feedback_update")
    op.drop_index("ix_feedback_update_concern_id", table_name="feedback_update")
    op.drop_table("feedback_update")
