"""Board pack (issue 19): RAG thresholds set by an administrator, and the status history of
concerns and actions, rebuilt here from the actions' timelines and the audit trail.

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-01 12:15:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from walkabout.db_types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
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
    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=40), nullable=True),
        sa.Column("to_status", sa.String(length=40), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
    )
    op.create_index("ix_status_change_changed_at", "status_change", ["changed_at"])
    op.create_index("ix_status_change_entity", "status_change", ["entity_type", "entity_id", "changed_at"])
    _rebuild_history()


def _rebuild_history() -> None:
    """What happened before the history was kept: the same as services/status_history.rebuild."""
    bind = op.get_bind()
    meta = sa.MetaData()
    update = sa.Table("action_update", meta, autoload_with=bind)
    audit = sa.Table("audit_event", meta, autoload_with=bind)
    change = sa.Table("status_change", meta, autoload_with=bind)
    rows = [
        {"entity_type": "action", "entity_id": a, "from_status": f, "to_status": t, "changed_at": at}
        for a, f, t, at in bind.execute(
            sa.select(update.c.action_id, update.c.from_status, update.c.to_status, update.c.created_at)
            .where(update.c.to_status.is_not(None))
            .order_by(update.c.created_at, update.c.id)
        )
    ]
    for ident, changes, at in bind.execute(
        sa.select(audit.c.entity_id, audit.c.changes, audit.c.created_at)
        .where(audit.c.entity_type == "concern", audit.c.entity_id.is_not(None))
        .order_by(audit.c.created_at, audit.c.id)
    ):
        if isinstance(changes, str):
            changes = json.loads(changes)
        moved = (changes or {}).get("status")
        if isinstance(moved, list) and len(moved) == 2:
            rows.append(
                {
                    "entity_type": "concern",
                    "entity_id": ident,
                    "from_status": moved[0],
                    "to_status": moved[1],
                    "changed_at": at,
                }
            )
    for row in rows:
        for key in ("from_status", "to_status"):
            row[key] = None if row[key] is None else str(row[key])
        row["source"] = "rebuilt"
    if rows:
        bind.execute(change.insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_status_change_entity", table_name="status_change")
    op.drop_index("ix_status_change_changed_at", table_name="status_change")
    op.drop_table("status_change")
    op.drop_index("ix_report_threshold_updated_by_id", table_name="report_threshold")
    op.drop_table("report_threshold")
