"""Server-side session records, password reset links, and passwords that must be changed.

The per-user session token goes: each signed-in device has a `user_session` row
instead, so upgrading signs everyone out once.

Revision ID: 0003_sessions
Revises: 0002
Create Date: 2026-12-01 09:31:51.284879
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import walkabout.db_types

revision: str = "0003_sessions"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _drop_user_column(name: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite >= 3.35 drops it in place: a batch rebuild of "user" would trip the
        # foreign keys of every table that points at users.
        op.execute(f'ALTER TABLE "user" DROP COLUMN {name}')
    else:
        op.drop_column("user", name)


def upgrade() -> None:
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", walkabout.db_types.UTCDateTime(), nullable=False),
        sa.Column("used_at", walkabout.db_types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_password_reset_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", walkabout.db_types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", walkabout.db_types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", walkabout.db_types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    op.add_column(
        "user", sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    _drop_user_column("session_token")


def downgrade() -> None:
    # No old token matches this: everyone signs in again.
    op.add_column(
        "user",
        sa.Column("session_token", sa.VARCHAR(length=64), nullable=False, server_default="signed-out"),
    )
    _drop_user_column("must_change_password")

    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))
    op.drop_table("user_session")
    with op.batch_alter_table("password_reset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_password_reset_user_id"))
    op.drop_table("password_reset")
