"""The data version: a counter per scope ("records", "choices") that commits changing the trust's
data move on, so every process's caches see a change made anywhere at once.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("scope", sa.String(length=20), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("data_version")
