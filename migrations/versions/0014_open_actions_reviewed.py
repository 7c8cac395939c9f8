"""Open actions from the last visit reviewed with the ward: a tick on the pre-visit brief, for
the board pack's revisit figure (who ticked it is in the audit trail).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from walkabout.db_types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("walkabout", sa.Column("open_actions_reviewed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("walkabout", "open_actions_reviewed_at")
