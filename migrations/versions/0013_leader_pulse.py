"""The perception gap (issue 18 part 4): executives' answers to the ward pulse statements,
as they believe the ward's staff would answer, given when they complete a walkabout.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from walkabout.db_types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leader_pulse_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("walkabout_id", sa.Integer(), sa.ForeignKey("walkabout.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("ward.id"), nullable=False),
        sa.Column("statement_id", sa.Integer(), sa.ForeignKey("pulse_statement.id"), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("walkabout_id", "user_id", "statement_id", name="uq_leader_pulse_answer"),
    )
    op.create_index("ix_leader_pulse_answer_walkabout_id", "leader_pulse_answer", ["walkabout_id"])
    op.create_index("ix_leader_pulse_answer_user_id", "leader_pulse_answer", ["user_id"])
    op.create_index("ix_leader_pulse_answer_statement_id", "leader_pulse_answer", ["statement_id"])
    op.create_index("ix_leader_pulse_answer_ward_quarter", "leader_pulse_answer", ["ward_id", "quarter"])


def downgrade() -> None:
    op.drop_index("ix_leader_pulse_answer_ward_quarter", table_name="leader_pulse_answer")
    op.drop_index("ix_leader_pulse_answer_statement_id", table_name="leader_pulse_answer")
    op.drop_index("ix_leader_pulse_answer_user_id", table_name="leader_pulse_answer")
    op.drop_index("ix_leader_pulse_answer_walkabout_id", table_name="leader_pulse_answer")
    op.drop_table("leader_pulse_answer")
