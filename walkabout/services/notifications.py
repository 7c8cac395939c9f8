"""The notification queue: each message is a row, sent once (by `notify.dispatch`).

`enqueue` adds a row unless one with the same `dedupe_key` exists, so planning
the same message twice is harmless. Also each person's preferences and inbox.
"""

import logging
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, or_, select

from ..db_types import utcnow
from ..models import NotificationPreference, NotificationStatus, SentNotification, User
from . import audit
from . import notification_kinds as kinds

log = logging.getLogger(__name__)


def enqueue(
    session: Session,
    *,
    kind: kinds.Kind,
    recipient_id: int,
    dedupe_key: str,
    due_at: datetime,
    subject_type: str | None = None,
    subject_id: int | None = None,
) -> None:
    """Queue a message once: a row with the same key already queued or sent wins."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(SentNotification)
        .values(
            dedupe_key=dedupe_key,
            kind=kind.key,
            recipient_id=recipient_id,
            due_at=due_at,
            subject_type=subject_type,
            subject_id=subject_id,
            status=NotificationStatus.PENDING.value,
            attempts=0,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[SentNotification.dedupe_key])
    )


# --- preferences and the in-app list ---------------------------------------------


def wants(session: Session, user_id: int, kind: kinds.Kind) -> bool:
    if not kind.optional:
        return True
    row = session.get(NotificationPreference, (user_id, kind.key))
    return row.enabled if row is not None else True


def preferences(session: Session, user_id: int) -> dict[str, bool]:
    rows = session.exec(select(NotificationPreference).where(NotificationPreference.user_id == user_id)).all()
    chosen = {row.kind: row.enabled for row in rows}
    return {kind.key: chosen.get(kind.key, True) for kind in kinds.OPTIONAL}


def set_preferences(session: Session, user: User, enabled: set[str]) -> None:
    current = preferences(session, user.id)
    changes = {}
    for kind in kinds.OPTIONAL:
        wanted = kind.key in enabled
        if current[kind.key] != wanted:
            changes[kind.key] = [current[kind.key], wanted]
            row = session.get(NotificationPreference, (user.id, kind.key))
            if row is None:
                session.add(NotificationPreference(user_id=user.id, kind=kind.key, enabled=wanted))
            else:
                row.enabled = wanted
    if changes:
        audit.record(session, user, user, "notification_preferences", changes)


def inbox(session: Session, user_id: int, limit: int = 50) -> list[SentNotification]:
    return list(
        session.exec(
            select(SentNotification)
            .where(
                SentNotification.recipient_id == user_id, SentNotification.status == NotificationStatus.SENT
            )
            .order_by(col(SentNotification.sent_at).desc(), col(SentNotification.id).desc())
            .limit(limit)
        ).all()
    )


def unread_count(session: Session, user_id: int) -> int:
    return session.exec(
        select(func.count())
        .select_from(SentNotification)
        .where(SentNotification.recipient_id == user_id, SentNotification.status == NotificationStatus.SENT)
        .where(col(SentNotification.read_at).is_(None))
    ).one()


def mark_all_read(session: Session, user_id: int, now: datetime) -> None:
    for note in session.exec(
        select(SentNotification)
        .where(SentNotification.recipient_id == user_id, SentNotification.status == NotificationStatus.SENT)
        .where(col(SentNotification.read_at).is_(None))
    ).all():
        note.read_at = now


def problems(session: Session, limit: int = 100) -> list[SentNotification]:
    """Failed messages and ones waiting to be retried, for the admin page."""
    return list(
        session.exec(
            select(SentNotification)
            .where(
                or_(
                    SentNotification.status == NotificationStatus.FAILED,
                    (SentNotification.status == NotificationStatus.PENDING) & (SentNotification.attempts > 0),
                )
            )
            .order_by(col(SentNotification.id).desc())
            .limit(limit)
        ).all()
    )
