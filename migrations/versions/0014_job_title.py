"""Board pack (issue 19): the tick "open actions from the last visit reviewed with the ward"
on a walkabout, for the revisit figure
(who ticked it is in the audit trail). (Job titles already had a column: user.job_title.)

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from walkabout.db_types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("walkabout", sa.Column("open_actions_reviewed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("walkabout", "open_actions_reviewed_at")
