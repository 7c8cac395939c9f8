"""Staff-confirmed fixes over an index range (issue 21): the dashboard's and the pack's
"Did this fix it?" counts read answers of a period, which scanned every answer ever given.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 20:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_fix_answer_answered", "fix_answer", ["answered_at", "fixed"])


def downgrade() -> None:
    op.drop_index("ix_fix_answer_answered", table_name="fix_answer")
