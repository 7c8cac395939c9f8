"""Staff voice (issue 18): ward staff answer "did this fix it?" on their ward page,
anonymously (a random device cookie, no sign-in, no free text), one answer per item per
device, the last one standing."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from .. import rules
from ..db_types import utcnow
from ..models import (
    Action,
    ActionStatus,
    Concern,
    ConcernKind,
    FeedbackKind,
    FeedbackUpdate,
    FixAnswer,
    Walkabout,
    Ward,
)
from . import NotFound, ServiceError, notifications, throttle
from . import notification_kinds as kinds
from .feedback import ward_by_token

DEVICE_BYTES = 16  # 22 URL-safe characters
DEVICE_LENGTH = 22
ANSWER_WINDOW = timedelta(hours=1)


class TooManyAnswers(ServiceError):
    """The ward link has had too many answers from one address this hour."""


def new_device() -> str:
    return secrets.token_urlsafe(DEVICE_BYTES)


def valid_device(value: str | None) -> bool:
    """A device cookie this app could have set (anything else gets a new one)."""
    return (
        bool(value)
        and len(value) == DEVICE_LENGTH
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    )


def answerable(session: Session, ward: Ward, concern_id: int) -> Concern:
    """A live concern of `ward` with final feedback, or NotFound."""
    concern = session.exec(
        select(Concern)
        .join(Walkabout, Walkabout.id == Concern.walkabout_id)
        .where(
            Concern.id == concern_id,
            Walkabout.ward_id == ward.id,
            Concern.kind == ConcernKind.CONCERN,
            col(Concern.deleted_at).is_(None),
        )
    ).first()
    has_final = (
        concern is not None
        and session.exec(
            select(FeedbackUpdate.id).where(
                FeedbackUpdate.concern_id == concern.id, FeedbackUpdate.kind == FeedbackKind.FINAL
            )
        ).first()
    )
    if not has_final:
        raise NotFound("That item is not on this ward's page.")
    return concern


def answer(
    session: Session, token: str, concern_id: int, device: str, fixed: bool, address: str | None
) -> bool:
    """Record this device's answer (replacing its earlier one); returns whether it is new
    news: a "not yet" that was not this device's answer before notifies the executives who
    verified the concern's actions (once a day per action)."""
    ward = ward_by_token(session, token)
    concern = answerable(session, ward, concern_id)
    if not valid_device(device):
        raise ServiceError("This device has no answer cookie.")
    key = f"fix_answers:{ward.id}:{(address or 'unknown')[:100]}"
    if not throttle.within_rate(session, key, rules.FIX_ANSWERS_PER_HOUR, ANSWER_WINDOW):
        raise TooManyAnswers(
            "Too many answers from this network in the last hour. Thank you: try again later."
        )
    before = session.exec(
        select(FixAnswer.fixed).where(FixAnswer.concern_id == concern.id, FixAnswer.device == device)
    ).first()
    now = utcnow()
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(FixAnswer).values(concern_id=concern.id, device=device, fixed=fixed, answered_at=now)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[FixAnswer.concern_id, FixAnswer.device], set_={"fixed": fixed, "answered_at": now}
        )
    )
    news = not fixed and before is not False
    if news:
        _notify_verifiers(session, concern, now)
    return news


def _notify_verifiers(session: Session, concern: Concern, now) -> None:
    for action in session.exec(
        select(Action).where(
            Action.concern_id == concern.id,
            Action.status == ActionStatus.VERIFIED,
            col(Action.verified_by_id).is_not(None),
            col(Action.deleted_at).is_(None),
        )
    ).all():
        notifications.enqueue(
            session,
            kind=kinds.FIX_NOT_YET,
            recipient_id=action.verified_by_id,
            dedupe_key=f"{kinds.FIX_NOT_YET.key}:{action.id}:{now.date().isoformat()}",
            due_at=now,
            subject_type="action",
            subject_id=action.id,
        )


@dataclass(frozen=True)
class FixCounts:
    """Staff's answers on one concern: how many devices say fixed and not yet."""

    yes: int = 0
    not_yet: int = 0


def counts(session: Session, concern_ids: list[int]) -> dict[int, FixCounts]:
    """Each concern's answers (concerns without any are left out)."""
    found: dict[int, dict[bool, int]] = {}
    if concern_ids:
        for concern_id, fixed, number in session.exec(
            select(FixAnswer.concern_id, FixAnswer.fixed, func.count(FixAnswer.id))
            .where(col(FixAnswer.concern_id).in_(concern_ids))
            .group_by(FixAnswer.concern_id, FixAnswer.fixed)
        ).all():
            found.setdefault(concern_id, {})[fixed] = number
    return {cid: FixCounts(yes=by.get(True, 0), not_yet=by.get(False, 0)) for cid, by in found.items()}


def device_answers(session: Session, device: str | None, concern_ids: list[int]) -> dict[int, bool]:
    """This device's own answers (fixed?) on `concern_ids`."""
    if not valid_device(device) or not concern_ids:
        return {}
    return dict(
        session.exec(
            select(FixAnswer.concern_id, FixAnswer.fixed).where(
                FixAnswer.device == device, col(FixAnswer.concern_id).in_(concern_ids)
            )
        ).all()
    )
