"""Single-line text loses its control characters (each becomes a space, runs collapse).

A line break in a ward, site or user name (or a walkabout's focus or guests) broke
email headers and calendar files; forms now refuse them, and this cleans rows
stored before. Names stay unique: a cleaned name that now equals another gets
" (2)", " (3)"... Versioned rows get a new version and an audit entry.

Revision ID: 0004
Revises: 0003_sessions
Create Date: 2026-12-01 10:00:00
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same characters walkabout/forms/single_line.py refuses (copied: a migration is frozen).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
SPACES = re.compile(" {2,}")

# table -> (single-line columns, columns a name must be unique within, or None; versioned?)
COLUMNS = {
    "site": (("name",), (), False),
    "ward": (("name", "specialty"), ("site_id",), False),
    "user": (("name", "job_title"), None, False),
    "category": (("name",), (), False),
    "walkabout": (("focus", "guests"), None, True),
    "walkabout_series": (("focus",), None, True),
    "concern": (("raised_by_role",), None, True),
    "sent_notification": (("title",), None, False),
}


def clean(value: str) -> str:
    return SPACES.sub(" ", CONTROL_CHARACTERS.sub(" ", value)).strip()


def upgrade() -> None:
    connection = op.get_bind()
    audit = sa.table(
        "audit_event",
        sa.column("actor_id", sa.Integer),
        sa.column("entity_type", sa.String),
        sa.column("entity_id", sa.Integer),
        sa.column("verb", sa.String),
        sa.column("changes", sa.JSON),
        sa.column("created_at", sa.DateTime),
    )
    for name, (columns, unique_within, versioned) in COLUMNS.items():
        extra = [sa.column(c) for c in (unique_within or ())]
        table = sa.table(name, sa.column("id"), *[sa.column(c) for c in columns], *extra)
        if versioned:
            table.append_column(sa.column("version"))
        rows = connection.execute(sa.select(table)).mappings().all()
        for row in rows:
            changes = {}
            for column in columns:
                value = row[column]
                if value is None or not CONTROL_CHARACTERS.search(value):
                    continue
                new = clean(value) or None
                if column == "name" and unique_within is not None:
                    new = _unique(connection, table, row, new or "Unnamed", unique_within)
                changes[column] = [value, new]
            if not changes:
                continue
            values = {column: new for column, (_, new) in changes.items()}
            if versioned:
                values["version"] = row["version"] + 1
            connection.execute(sa.update(table).where(table.c.id == row["id"]).values(**values))
            if versioned:
                connection.execute(
                    audit.insert().values(
                        actor_id=None,
                        entity_type=name,
                        entity_id=row["id"],
                        verb="control_characters_removed",
                        changes=changes,
                        created_at=datetime.now(UTC).replace(tzinfo=None),
                    )
                )


def _unique(connection, table, row, name: str, within: tuple[str, ...]) -> str:
    """`name`, or `name (2)`, `name (3)`... so it stays unique (case-insensitively) where it must."""
    taken = connection.execute(
        sa.select(sa.func.lower(table.c.name)).where(
            table.c.id != row["id"], *[table.c[c] == row[c] for c in within]
        )
    ).scalars()
    taken = set(taken)
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{name} ({number})"
    return candidate


def downgrade() -> None:
    pass  # the control characters are not put back
