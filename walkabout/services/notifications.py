"""The notification queue: each message is a row, sent once (by `notify.dispatch`).

`enqueue` adds a row unless one with the same `dedupe_key` exists, so planning
the same message twice is harmless. Also each person's preferences and inbox.
"""

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
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


# --- new actions in the daily digest (issue 16) -------------------------------------

DIGEST_CHOICE = "new_action_digest"  # a NotificationPreference row: new actions go in the digest
DIGEST_DEFAULT_OPEN_ACTIONS = 10  # ward managers owning this many open actions get them folded by default
FOLDED = "the owner gets new actions in the daily digest"


def folds_new_actions(session: Session, user: User) -> bool:
    """Whether new-action notices for `user` wait for the daily digest instead of coming one by one."""
    from ..models import Action, ActionStatus, Role

    if not wants(session, user.id, kinds.NEW_ACTION) or not wants(session, user.id, kinds.OVERDUE_DIGEST):
        return False
    row = session.get(NotificationPreference, (user.id, DIGEST_CHOICE))
    if row is not None:
        return row.enabled
    if not user.has_role(Role.WARD_MANAGER):
        return False
    open_statuses = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.REOPENED)
    owned = session.exec(
        select(func.count())
        .select_from(Action)
        .where(Action.owner_id == user.id, col(Action.status).in_(open_statuses))
        .where(col(Action.deleted_at).is_(None))
    ).one()
    return owned >= DIGEST_DEFAULT_OPEN_ACTIONS


def digest_window(day, zone) -> tuple[datetime, datetime]:
    """The new-action notices a day's digest carries: those due from the previous digest time to this one."""
    from datetime import datetime as dt

    end = dt.combine(day, kinds.DIGEST_TIME, tzinfo=zone)
    return end - timedelta(days=1), end


def folded_rows(session: Session, day, zone, user_id: int | None = None) -> list[SentNotification]:
    start, end = digest_window(day, zone)
    query = select(SentNotification).where(
        SentNotification.kind == kinds.NEW_ACTION.key,
        SentNotification.status == NotificationStatus.SKIPPED,
        SentNotification.last_error == FOLDED,
        SentNotification.due_at >= start,
        SentNotification.due_at < end,
    )
    if user_id is not None:
        query = query.where(SentNotification.recipient_id == user_id)
    return list(session.exec(query).all())


def folded_new_actions(session: Session, user: User, day, zone) -> list:
    """The still-open actions whose notice was folded into this day's digest for `user`."""
    from sqlalchemy.orm import selectinload

    from ..models import Action, ActionStatus, Concern, Walkabout

    ids = [row.subject_id for row in folded_rows(session, day, zone, user.id)]
    if not ids:
        return []
    open_statuses = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.REOPENED)
    return list(
        session.exec(
            select(Action)
            .where(col(Action.id).in_(ids), Action.owner_id == user.id, col(Action.deleted_at).is_(None))
            .where(col(Action.status).in_(open_statuses))
            .options(
                selectinload(Action.concern).selectinload(Concern.walkabout).selectinload(Walkabout.ward)
            )
            .order_by(Action.due_date, Action.id)
        ).all()
    )


def digest_choice(session: Session, user: User) -> bool:
    return folds_new_actions(session, user)


def set_digest_choice(session: Session, user: User, wanted: bool) -> None:
    from . import audit

    if digest_choice(session, user) == wanted:
        return
    row = session.get(NotificationPreference, (user.id, DIGEST_CHOICE))
    if row is None:
        session.add(NotificationPreference(user_id=user.id, kind=DIGEST_CHOICE, enabled=wanted))
    else:
        row.enabled = wanted
    audit.record(session, user, user, "new_actions_in_digest", {"enabled": wanted})


def unsubscribe(session: Session, user: User, kind: kinds.Kind) -> bool:
    """Turn one kind off (the one-click link in its emails); False when it was off already."""
    from . import audit

    if not kind.optional or not wants(session, user.id, kind):
        return False
    row = session.get(NotificationPreference, (user.id, kind.key))
    if row is None:
        session.add(NotificationPreference(user_id=user.id, kind=kind.key, enabled=False))
    else:
        row.enabled = False
    audit.record(session, user, user, "unsubscribed", {"kind": kind.key})
    return True


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


def unread_count_query(recipient_id) -> sa.Select:
    """How many messages `recipient_id` (a value or a column) has not read."""
    return (
        select(func.count())
        .select_from(SentNotification)
        .where(
            SentNotification.recipient_id == recipient_id, SentNotification.status == NotificationStatus.SENT
        )
        .where(col(SentNotification.read_at).is_(None))
    )


def unread_count(session: Session, user_id: int) -> int:
    return session.exec(unread_count_query(user_id)).one()


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
