"""Walkabout series get a version, so a stale edit of a series is refused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:39:29.084804
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing series start at version 1. A plain ADD COLUMN: a batch rebuild of the table
    # trips the foreign keys of the walkabouts that belong to a series (SQLite).
    op.add_column("walkabout_series", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite >= 3.35 drops it in place (no rebuild, for the same reason).
        op.execute("ALTER TABLE walkabout_series DROP COLUMN version")
    else:
        op.drop_column("walkabout_series", "version")
