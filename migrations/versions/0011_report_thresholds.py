"""RAG thresholds of the board pack's headline figures, set by an administrator (issue 19).

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-01 12:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from walkabout.db_types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_threshold",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("figure", sa.String(length=40), nullable=False, unique=True),
        sa.Column("green", sa.Integer(), nullable=False),
        sa.Column("amber", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_report_threshold_updated_by_id", "report_threshold", ["updated_by_id"])


def downgrade() -> None:
    op.drop_index("ix_report_threshold_updated_by_id", table_name="report_threshold")
    op.drop_table("report_threshold")
