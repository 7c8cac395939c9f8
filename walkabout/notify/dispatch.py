"""Sending what is due from the notification queue.

`dispatch_due` sends what is due, one row per transaction: the row is locked
(PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write lock of BEGIN IMMEDIATE),
checked to be still pending, sent and marked sent before the commit. Two
dispatchers running at once therefore never send the same row twice.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import Flask
from sqlmodel import Session, col, or_, select

from ..db import session_scope
from ..models import NotificationStatus, SentNotification, User
from ..services import notification_kinds as kinds
from ..services.notifications import wants
from .backends import SendError
from .compose import compose
from .parts import Skip

log = logging.getLogger(__name__)


@dataclass
class DispatchResult:
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def dispatch_due(app: Flask, backend, now: datetime, limit: int = 200) -> DispatchResult:
    """Send every due message (at most `limit`); never raises for one bad message."""
    with app.app_context():
        return _dispatch(app, backend, now, limit)


def _dispatch(app: Flask, backend, now: datetime, limit: int) -> DispatchResult:
    result = DispatchResult()
    with session_scope(app, write=False) as session:
        due_ids = session.exec(
            select(SentNotification.id)
            .where(SentNotification.status == NotificationStatus.PENDING)
            .where(SentNotification.due_at <= now)
            .where(
                or_(col(SentNotification.next_attempt_at).is_(None), SentNotification.next_attempt_at <= now)
            )
            .order_by(SentNotification.due_at, SentNotification.id)
            .limit(limit)
        ).all()
    for note_id in due_ids:
        try:
            with session_scope(app) as session:
                note = session.exec(
                    select(SentNotification)
                    .where(
                        SentNotification.id == note_id, SentNotification.status == NotificationStatus.PENDING
                    )
                    .with_for_update(skip_locked=True)
                ).first()
                if note is not None:
                    _deliver(app, session, note, backend, now, result)
        except Exception as error:  # one broken message must not stop the others or the scheduler
            log.exception("notification %s could not be processed", note_id)
            result.errors.append(f"{note_id}: {error}")
            _record_failure(app, note_id, now, f"{type(error).__name__}: {error}")
            result.retried += 1
    return result


def _deliver(
    app: Flask, session: Session, note: SentNotification, backend, now: datetime, result: DispatchResult
) -> None:
    recipient = session.get(User, note.recipient_id) if note.recipient_id else None
    reason = _skip_reason(session, note, recipient)
    message = None
    if reason is None:
        try:
            message = compose(session, note, recipient, app.config, now)
        except Skip as skip:
            reason = str(skip)
    if reason is not None:
        note.status, note.last_error = NotificationStatus.SKIPPED, reason
        result.skipped += 1
        return
    note.title = str(message["Subject"])
    note.attempts += 1
    try:
        backend.send(message)
    except SendError as error:
        _schedule_retry(app, note, now, str(error))
        log.warning("sending notification %s failed (attempt %s): %s", note.id, note.attempts, error)
        if note.status == NotificationStatus.FAILED:
            result.failed += 1
        else:
            result.retried += 1
        return
    note.status, note.sent_at, note.last_error = NotificationStatus.SENT, now, None
    result.sent += 1


def _skip_reason(session: Session, note: SentNotification, recipient: User | None) -> str | None:
    if recipient is None or not recipient.active:
        return "recipient is no longer active"
    kind = kinds.BY_KEY.get(note.kind)
    if kind is None:
        return f"unknown kind {note.kind}"
    if kind.optional and not wants(session, recipient.id, kind):
        return "recipient opted out"
    try:
        validate_email(recipient.email, check_deliverability=False)
    except EmailNotValidError:
        return f"recipient email {recipient.email!r} is not valid"
    return None


def _schedule_retry(app: Flask, note: SentNotification, now: datetime, error: str) -> None:
    note.last_error = error[:2000]
    if note.attempts >= app.config["NOTIFY_MAX_ATTEMPTS"]:
        note.status = NotificationStatus.FAILED
    else:
        note.next_attempt_at = now + timedelta(minutes=2**note.attempts)  # 2, 4, 8, 16 minutes


def _record_failure(app: Flask, note_id: int, now: datetime, error: str) -> None:
    with session_scope(app) as session:
        note = session.get(SentNotification, note_id)
        if note is not None and note.status == NotificationStatus.PENDING:
            note.attempts += 1
            _schedule_retry(app, note, now, error)
