"""Single sign-on links (issuer + subject) and the TOTP second factor with recovery codes (issue 23).

Revision ID: 0010
Revises: 0005
Create Date: 2026-12-01 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import walkabout.db_types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("email_at_link", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("linked_at", walkabout.db_types.UTCDateTime(), nullable=False),
        sa.Column("last_sign_in_at", walkabout.db_types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "subject", name="uq_external_identity_subject"),
        sa.UniqueConstraint("user_id", "issuer", name="uq_external_identity_user_issuer"),
    )
    op.create_index("ix_external_identity_user_id", "external_identity", ["user_id"], unique=False)
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("used_at", walkabout.db_types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"], unique=False)
    op.add_column(
        "user", sa.Column("totp_secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
    )
    op.add_column("user", sa.Column("totp_confirmed_at", walkabout.db_types.UTCDateTime(), nullable=True))
    op.add_column("user", sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops columns in place: a batch rebuild of "user" would trip the
    # foreign keys of every table that points at users.
    for column in ("totp_last_step", "totp_confirmed_at", "totp_secret"):
        op.drop_column("user", column)
    op.drop_index("ix_recovery_code_user_id", table_name="recovery_code")
    op.drop_table("recovery_code")
    op.drop_index("ix_external_identity_user_id", table_name="external_identity")
    op.drop_table("external_identity")
