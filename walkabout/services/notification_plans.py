"""What is due to be sent: each planner looks at the data and queues messages.

Planners are idempotent (every message has a dedupe key) and catch up after
downtime: the scheduler runs them every few minutes, and each one works out
from the clock what should have been queued by now, so a missed run is made
good by the next one and nothing is queued twice.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select

from ..models import (
    Action,
    Role,
    SentNotification,
    User,
    UserRole,
    Walkabout,
    WalkaboutStatus,
    WardManager,
)
from . import follow_up
from . import notification_kinds as kinds
from .action_queries import overdue_actions
from .actions import OPEN_STATUSES
from .notifications import enqueue, folded_rows

RECENT = timedelta(days=2)  # how far back event messages (summaries, new actions) are picked up
DIGEST_TIME = kinds.DIGEST_TIME
ESCALATION_OVERDUE_DAYS = 14


def _team(walkabout: Walkabout) -> set[int]:
    return {walkabout.lead_id, *(user.id for user in walkabout.attendees)}


def _ward_managers(session: Session, ward_ids: set[int]) -> dict[int, list[int]]:
    managers: dict[int, list[int]] = {}
    for ward_id, user_id in session.exec(
        select(WardManager.ward_id, WardManager.user_id).where(col(WardManager.ward_id).in_(ward_ids))
    ).all():
        managers.setdefault(ward_id, []).append(user_id)
    return managers


def plan_events(session: Session, now: datetime) -> None:
    """Summaries and new-action notices. (Invitations are planned by the change itself:
    services/invitations.py.)"""
    completed = session.exec(
        select(Walkabout).where(
            Walkabout.completed_at >= now - RECENT, Walkabout.status == WalkaboutStatus.COMPLETED
        )
    ).all()
    managers = _ward_managers(session, {w.ward_id for w in completed})
    for walkabout in completed:
        for user_id in managers.get(walkabout.ward_id, []):
            enqueue(
                session,
                kind=kinds.SUMMARY,
                recipient_id=user_id,
                due_at=now,
                dedupe_key=f"summary:{walkabout.id}:{user_id}",
                subject_type="walkabout",
                subject_id=walkabout.id,
            )

    for action in session.exec(
        select(Action).where(
            Action.created_at >= now - RECENT,
            col(Action.deleted_at).is_(None),
            col(Action.status).in_(OPEN_STATUSES),
        )
    ).all():
        if action.owner_id != action.created_by_id:  # nobody needs telling what they assigned themselves
            enqueue(
                session,
                kind=kinds.NEW_ACTION,
                recipient_id=action.owner_id,
                due_at=now,
                dedupe_key=f"new_action:{action.id}:{action.owner_id}",
                subject_type="action",
                subject_id=action.id,
            )


def plan_reminders(session: Session, now: datetime) -> None:
    """The ward's managers a week before, the team the day before."""
    upcoming = session.exec(
        select(Walkabout)
        .where(
            Walkabout.status == WalkaboutStatus.PLANNED,
            Walkabout.scheduled_start > now,
            Walkabout.scheduled_start <= now + timedelta(days=8),
        )
        .options(selectinload(Walkabout.attendees))
    ).all()
    managers = _ward_managers(session, {w.ward_id for w in upcoming})
    for walkabout in upcoming:
        stamp = int(walkabout.scheduled_start.timestamp())
        for user_id in managers.get(walkabout.ward_id, []):
            enqueue(
                session,
                kind=kinds.REMINDER_WARD,
                recipient_id=user_id,
                due_at=walkabout.scheduled_start - timedelta(days=7),
                dedupe_key=f"reminder_ward:{walkabout.id}:{user_id}:{stamp}",
                subject_type="walkabout",
                subject_id=walkabout.id,
            )
        for user_id in _team(walkabout):
            enqueue(
                session,
                kind=kinds.REMINDER_TEAM,
                recipient_id=user_id,
                due_at=walkabout.scheduled_start - timedelta(days=1),
                dedupe_key=f"reminder_team:{walkabout.id}:{user_id}:{stamp}",
                subject_type="walkabout",
                subject_id=walkabout.id,
            )


def plan_digests(session: Session, now: datetime, zone: ZoneInfo) -> None:
    """From 08:00 each day: one digest to each owner with overdue actions, or with new actions
    that wait for the digest (their choice)."""

    local = now.astimezone(zone)
    if local.time() < DIGEST_TIME:
        return
    owners = {action.owner_id for action in overdue_actions(session, local.date())}
    owners |= {row.recipient_id for row in folded_rows(session, local.date(), zone)}
    owners |= follow_up.digest_recipients(session, local.date(), zone)  # issue 15
    for owner_id in owners:
        enqueue(
            session,
            kind=kinds.OVERDUE_DIGEST,
            recipient_id=owner_id,
            due_at=now,
            dedupe_key=f"overdue_digest:{owner_id}:{local.date().isoformat()}",
        )


def plan_escalations(session: Session, now: datetime, zone: ZoneInfo) -> None:
    """From Monday 08:00 each week: each lead executive's actions overdue by more than 14 days."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    if local.weekday() == 0 and local.time() < DIGEST_TIME:
        return
    year, week, _ = monday.isocalendar()
    leads = {
        action.concern.walkabout.lead_id
        for action in overdue_actions(session, local.date(), older_than_days=ESCALATION_OVERDUE_DAYS)
    }
    for lead_id in leads:
        enqueue(
            session,
            kind=kinds.ESCALATION,
            recipient_id=lead_id,
            due_at=now,
            dedupe_key=f"escalation:{lead_id}:{year}-W{week:02d}",
        )


def board_secretaries(session: Session) -> list[int]:
    return list(
        session.exec(
            select(User.id).join(UserRole).where(UserRole.role == Role.BOARD_SECRETARY, User.active)
        ).all()
    )


def previous_month(now: datetime, zone: ZoneInfo) -> str | None:
    """Last month as YYYY-MM once the 1st of this month 07:00 (trust time) has passed, else None."""
    local = now.astimezone(zone)
    first = datetime.combine(local.date().replace(day=1), time(7, 0), tzinfo=zone)
    if local < first:
        return None
    last_month = local.date().replace(day=1) - timedelta(days=1)
    return f"{last_month:%Y-%m}"


def board_pack_queued(session: Session, month: str) -> bool:
    """True when `month`'s board pack has already been queued to the board secretaries."""
    return (
        session.exec(
            select(SentNotification.id).where(
                col(SentNotification.dedupe_key).startswith(f"board_pack:{month}:")
            )
        ).first()
        is not None
    )


def plan_board_pack(session: Session, month: str, now: datetime) -> None:
    """Queue `month`'s board pack (once it is ready) to every active board secretary."""
    for user_id in board_secretaries(session):
        enqueue(
            session,
            kind=kinds.BOARD_PACK,
            recipient_id=user_id,
            due_at=now,
            dedupe_key=f"board_pack:{month}:{user_id}",
            subject_type="board_pack",
        )
