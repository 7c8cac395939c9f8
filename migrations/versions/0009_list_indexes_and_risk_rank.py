"""Indexes that serve the action lists and the dashboard, and a stored risk rank (issue 21).

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-01 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# models.action_risk_rank in SQL: highest band first, every closed action after every open one.
BANDS = ("extreme", "high", "moderate", "low")
BACKFILL = (
    "UPDATE action SET risk_rank = CASE priority "
    + " ".join(f"WHEN '{band}' THEN {rank}" for rank, band in enumerate(BANDS))
    + f" ELSE 0 END + CASE WHEN status IN ('completed', 'verified') THEN {len(BANDS)} ELSE 0 END"
)


def upgrade() -> None:
    op.add_column("action", sa.Column("risk_rank", sa.Integer(), nullable=False, server_default="0"))
    op.execute(BACKFILL)
    op.drop_index("ix_action_status_due", table_name="action")
    op.create_index("ix_action_status_due", "action", ["status", "due_date", "deleted_at", "concern_id"])
    op.create_index("ix_action_owner_status_due", "action", ["owner_id", "status", "due_date"])
    op.create_index("ix_action_risk_rank_due", "action", ["risk_rank", "due_date", "id"])
    op.create_index("ix_action_completed_at", "action", ["completed_at"])
    op.create_index("ix_action_verified_at", "action", ["verified_at"])
    op.create_index("ix_concern_deleted_at", "concern", ["deleted_at"])


def downgrade() -> None:
    op.drop_index("ix_concern_deleted_at", table_name="concern")
    op.drop_index("ix_action_verified_at", table_name="action")
    op.drop_index("ix_action_completed_at", table_name="action")
    op.drop_index("ix_action_risk_rank_due", table_name="action")
    op.drop_index("ix_action_owner_status_due", table_name="action")
    op.drop_index("ix_action_status_due", table_name="action")
    op.create_index("ix_action_status_due", "action", ["status", "due_date"])
    # SQLite >= 3.35 drops it in place: a batch rebuild of "action" would trip the foreign keys.
    op.drop_column("action", "risk_rank")
