"""Programme fidelity and the loop's figures: small functions, one query or two each.

Definitions (also printed in the board pack):
- feedback within 14 days: of the concerns raised in the period, the share whose
  walkabout has a "you said, we did" delivery (FeedbackDelivery) within 14 days of
  the concern being raised; median days to the first delivery, over those fed back.
- no action after 7 days: concerns raised in the period, still open at its end, with no
  action created within 7 days of being raised (concerns less than 7 days old are
  not counted yet).
- reschedules: walkabouts of the period moved at least once; held within 14
  days: those held no more than 14 days after their original date.
- out of hours: walkabouts held in the period whose actual start (trust time)
  was before the working day began, after it ended, or at a weekend.
- executives against an even share: walkabouts held in the period by each
  executive against the even share (walkabouts held divided by active executives).
- revisits reviewed: walkabouts held in the period on a ward with actions from its
  earlier visits still open at the visit's start (created before it, not completed
  by then: what the pre-visit brief lists); reviewed, those whose brief was ticked
  "open actions from the last visit reviewed with the ward".
"""

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from statistics import median

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ..models import (
    Action,
    Concern,
    ConcernKind,
    ConcernStatus,
    FeedbackDelivery,
    Role,
    User,
    UserRole,
    Walkabout,
    WalkaboutReschedule,
    WalkaboutStatus,
)
from ..periods import Period
from ..services import status_history
from .figures import cutoff

FEEDBACK_DAYS = 14
NO_ACTION_DAYS = 7
RESCHEDULE_HELD_DAYS = 14


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _concerns_raised(period: Period):
    return (
        Concern.kind == ConcernKind.CONCERN,
        col(Concern.deleted_at).is_(None),
        Concern.created_at >= period.start_utc,
        Concern.created_at < period.end_utc,
    )


def feedback_within(session: Session, period: Period, days: int = FEEDBACK_DAYS) -> dict:
    """Concerns of the period fed back within `days` (share %) and median days to feedback."""
    return feedback_within_each(session, [period], days)[0]


def feedback_within_each(session: Session, periods: list[Period], days: int = FEEDBACK_DAYS) -> list[dict]:
    """feedback_within for each of `periods` (in order, not overlapping), from one statement."""
    if not periods:
        return []
    # The first delivery on the concern's walkabout since it was raised: one probe of the
    # walkabout's deliveries per concern (an index), not a join and grouping over all of them.
    first = (
        select(sa.func.min(FeedbackDelivery.delivered_at))
        .where(
            FeedbackDelivery.walkabout_id == Concern.walkabout_id,
            FeedbackDelivery.delivered_at >= Concern.created_at,
        )
        .correlate(Concern)
        .scalar_subquery()
    )
    span = Period(periods[0].start, periods[-1].end, periods[0].zone)
    rows = session.exec(select(Concern.created_at, first).where(*_concerns_raised(span))).all()
    starts = [period.start_utc for period in periods]
    raised_in = [0] * len(periods)
    waits: list[list[float]] = [[] for _ in periods]
    for raised, delivered in rows:
        raised = _aware(raised)
        index = bisect_right(starts, raised) - 1
        if index < 0 or raised >= periods[index].end_utc:
            continue  # between two periods
        raised_in[index] += 1
        if delivered is not None:
            waits[index].append((_aware(delivered) - raised).total_seconds() / 86400)
    return [_feedback_figures(number, waited, days) for number, waited in zip(raised_in, waits, strict=True)]


def _feedback_figures(raised: int, waits: list[float], days: int) -> dict:
    within = sum(1 for wait in waits if wait <= days)
    return {
        "concerns": raised,
        "within": within,
        "fed_back": len(waits),
        "share": round(100 * within / raised) if raised else None,
        "median_days": round(median(waits), 1) if waits else None,
    }


def no_action_after(session: Session, period: Period, days: int = NO_ACTION_DAYS) -> dict:
    """Concerns of the period still open at its end with no action within `days` of being raised.

    While the period runs its end is now, so a concern's status is its status then; for a
    past period the status history says what it was (a concern closed later still counts)."""
    moment = cutoff(period)
    in_progress = moment < period.end_utc
    rows = session.exec(
        select(
            Concern.id, Concern.status, Concern.created_at, Concern.updated_at, sa.func.min(Action.created_at)
        )
        .outerjoin(Action, sa.and_(Action.concern_id == Concern.id, col(Action.deleted_at).is_(None)))
        .where(
            *_concerns_raised(period),
            Concern.created_at < moment - timedelta(days=days),
            *([Concern.status == ConcernStatus.OPEN] if in_progress else []),
        )
        .group_by(Concern.id, Concern.status, Concern.created_at, Concern.updated_at)
    ).all()
    at_end = {}
    if not in_progress:
        records = [
            (ident, ConcernStatus(status).value, made, updated) for ident, status, made, updated, _ in rows
        ]
        at_end = status_history.statuses_at(session, status_history.CONCERN, records, moment)
    open_then = [
        (raised, first_action)
        for ident, status, raised, _updated, first_action in rows
        if (at_end.get(ident) or ConcernStatus(status).value) == ConcernStatus.OPEN.value
    ]
    waiting = [
        raised
        for raised, first_action in open_then
        if first_action is None or _aware(first_action) - _aware(raised) > timedelta(days=days)
    ]
    return {"counted": len(open_then), "without_action": len(waiting)}


# Built once: the dashboard asks on every request, so its statement is not rebuilt each time.
_NEWEST_RAISED = (
    select(Concern.created_at)
    .where(
        Concern.kind == ConcernKind.CONCERN,
        col(Concern.deleted_at).is_(None),
        Concern.created_at >= sa.bindparam("start"),
        Concern.created_at < sa.bindparam("before"),
    )
    .order_by(col(Concern.created_at).desc())  # from the range's end back to the first match
    .limit(1)
)


def no_action_horizon(session: Session, period: Period, days: int = NO_ACTION_DAYS):
    """When the newest of the period's concerns old enough for no_action_after was raised:
    with the data unchanged, that figure moves only when time brings another concern past
    `days`, which moves this (one index probe; a cache key's part)."""
    before = cutoff(period) - timedelta(days=days)  # before the period's end, too
    return session.exec(_NEWEST_RAISED, params={"start": period.start_utc, "before": before}).first()


def reschedules(session: Session, period: Period, days: int = RESCHEDULE_HELD_DAYS) -> dict:
    """Walkabouts of the period moved at least once, and those held within `days` of the original date."""
    original = (
        select(
            WalkaboutReschedule.walkabout_id, sa.func.min(WalkaboutReschedule.from_start).label("original")
        )
        .group_by(WalkaboutReschedule.walkabout_id)
        .subquery()
    )
    rows = session.exec(
        select(Walkabout.status, Walkabout.scheduled_start, Walkabout.started_at, original.c.original)
        .join(original, original.c.walkabout_id == Walkabout.id)
        .where(Walkabout.scheduled_start >= period.start_utc, Walkabout.scheduled_start < period.end_utc)
    ).all()
    held_soon = sum(
        1
        for status, scheduled, started, first in rows
        if status == WalkaboutStatus.COMPLETED
        and _aware(started or scheduled) - _aware(first) <= timedelta(days=days)
    )
    return {"rescheduled": len(rows), "held_within": held_soon}


def out_of_hours(session: Session, period: Period, hours: tuple[int, int]) -> dict:
    """Walkabouts held in the period whose actual start was outside `hours` (trust time) or at a weekend."""
    starts = session.exec(
        select(sa.func.coalesce(Walkabout.started_at, Walkabout.scheduled_start)).where(
            Walkabout.status == WalkaboutStatus.COMPLETED,
            Walkabout.scheduled_start >= period.start_utc,
            Walkabout.scheduled_start < period.end_utc,
        )
    ).all()
    opening, closing = hours
    local = [_aware(start).astimezone(period.zone) for start in starts]
    outside = sum(1 for t in local if t.weekday() >= 5 or not opening <= t.hour < closing)
    return {
        "held": len(local),
        "out_of_hours": outside,
        "share": round(100 * outside / len(local)) if local else None,
    }


def executive_shares(session: Session, period: Period) -> dict:
    """Walkabouts held by each active executive in the period, against the even share."""
    held = sa.func.count(Walkabout.id)
    rows = session.exec(
        select(User.name, User.job_title, held)
        .join(UserRole, sa.and_(UserRole.user_id == User.id, UserRole.role == Role.EXECUTIVE))
        .outerjoin(
            Walkabout,
            sa.and_(
                Walkabout.lead_id == User.id,
                Walkabout.status == WalkaboutStatus.COMPLETED,
                Walkabout.scheduled_start >= period.start_utc,
                Walkabout.scheduled_start < period.end_utc,
            ),
        )
        .where(User.active.is_(True))
        .group_by(User.id, User.name, User.job_title)
        .order_by(held.desc(), User.name)
    ).all()
    total = sum(number for _name, _title, number in rows)
    even = round(total / len(rows), 1) if rows else None
    return {
        "even_share": even,
        "executives": [{"name": name, "job_title": title, "held": number} for name, title, number in rows],
    }


def coverage_share(session: Session, period: Period, days: int) -> dict:
    """Active wards with a walkabout held in the `days` before the period's end (share %)."""
    return coverage_shares(session, [period], days)[0]


def coverage_shares(session: Session, periods: list[Period], days: int) -> list[dict]:
    """coverage_share for each of `periods`, from one statement (a column per period)."""
    from ..models import Ward

    def visited(period: Period):
        return sa.exists().where(
            Walkabout.ward_id == Ward.id,
            Walkabout.status == WalkaboutStatus.COMPLETED,
            Walkabout.scheduled_start >= period.end_utc - timedelta(days=days),
            Walkabout.scheduled_start < period.end_utc,
        )

    active, *covered = session.exec(
        select(
            sa.func.count(),
            *[sa.func.coalesce(sa.func.sum(sa.case((visited(period), 1), else_=0)), 0) for period in periods],
        ).where(Ward.active.is_(True))
    ).one()
    return [
        {
            "active": int(active),
            "visited": int(number),
            "share": round(100 * int(number) / int(active)) if active else None,
        }
        for number in covered
    ]


def _open_at_start(query):
    """`query` narrowed to the actions from the ward's earlier visits that were open when the
    outer `Walkabout` started (created before its start, not completed by then)."""
    earlier = aliased(Walkabout)
    start = sa.func.coalesce(Walkabout.started_at, Walkabout.scheduled_start)
    return (
        query.join(Concern, Concern.id == Action.concern_id)
        .join(earlier, earlier.id == Concern.walkabout_id)
        .where(
            earlier.ward_id == Walkabout.ward_id,
            earlier.id != Walkabout.id,
            earlier.scheduled_start < Walkabout.scheduled_start,
            col(Action.deleted_at).is_(None),
            col(Concern.deleted_at).is_(None),
            Action.created_at < start,
            sa.or_(col(Action.completed_at).is_(None), col(Action.completed_at) >= start),
        )
        .correlate(Walkabout)
    )


def open_actions_at_start() -> sa.ScalarSelect:
    """How many actions from the ward's earlier visits were open when `Walkabout` started
    (correlated to the outer Walkabout; the exports' column)."""
    return _open_at_start(select(sa.func.count(Action.id))).scalar_subquery()


def had_open_actions() -> sa.ColumnElement:
    """Whether any were (stops at the first one found: the dashboard's figure)."""
    return _open_at_start(select(Action.id)).exists()


def revisits_reviewed(session: Session, period: Period) -> dict:
    """Walkabouts held in the period with earlier visits' actions open at their start, and how
    many of those had the brief's "open actions reviewed with the ward" tick (share %)."""
    revisits, reviewed = session.exec(
        select(
            sa.func.count(),
            sa.func.coalesce(
                sa.func.sum(sa.case((col(Walkabout.open_actions_reviewed_at).is_not(None), 1), else_=0)), 0
            ),
        ).where(
            Walkabout.status == WalkaboutStatus.COMPLETED,
            Walkabout.scheduled_start >= period.start_utc,
            Walkabout.scheduled_start < period.end_utc,
            had_open_actions(),
        )
    ).one()
    revisits, reviewed = int(revisits), int(reviewed)
    return {
        "revisits": revisits,
        "reviewed": reviewed,
        "share": round(100 * reviewed / revisits) if revisits else None,
    }
