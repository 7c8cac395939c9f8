"""Staff voice (issue 18): the two or three concerns staff care most about, marked at read-back,
ward staff's anonymous "did this fix it?" answers and their quarterly ward pulse; replaced
ward page links (for old posters).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from walkabout.db_types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("concern", sa.Column("priority", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "fix_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("concern_id", sa.Integer(), sa.ForeignKey("concern.id"), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("fixed", sa.Boolean(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("concern_id", "device", name="uq_fix_answer_device"),
    )
    op.create_index("ix_fix_answer_concern_id", "fix_answer", ["concern_id"])
    op.create_table(
        "pulse_response",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("ward.id"), nullable=False),
        sa.Column("statement_id", sa.Integer(), sa.ForeignKey("pulse_statement.id"), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("ward_id", "quarter", "device", "statement_id", name="uq_pulse_response_device"),
    )
    op.create_index("ix_pulse_response_ward_id", "pulse_response", ["ward_id"])
    op.create_table(
        "replaced_link",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("ward.id"), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_replaced_link_ward_id", "replaced_link", ["ward_id"])
    op.create_index("ix_pulse_response_statement_id", "pulse_response", ["statement_id"])


def downgrade() -> None:
    op.drop_index("ix_replaced_link_ward_id", table_name="replaced_link")
    op.drop_table("replaced_link")
    op.drop_index("ix_pulse_response_statement_id", table_name="pulse_response")
    op.drop_index("ix_pulse_response_ward_id", table_name="pulse_response")
    op.drop_table("pulse_response")
    op.drop_index("ix_fix_answer_concern_id", table_name="fix_answer")
    op.drop_table("fix_answer")
    op.drop_column("concern", "priority")
