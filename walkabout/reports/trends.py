"""Series over time buckets, one SQL aggregate per table (a CASE column per bucket)."""

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ..models import Action, Concern, ConcernKind, Walkabout, WalkaboutStatus
from ..periods import Period, bucket_label
from .figures import CLOSED, count_if, cutoff, fed_back, overdue_condition, overdue_day


def _in(column, bucket: Period):
    return sa.and_(column.is_not(None), column >= bucket.start_utc, column < bucket.end_utc)


def series(session: Session, buckets: list[Period]) -> dict:
    """Labels and per-bucket counts: walkabouts, concerns by band, actions opened/closed/overdue."""
    start, end = buckets[0].start_utc, buckets[-1].end_utc
    held = col(Walkabout.status) == WalkaboutStatus.COMPLETED
    walkabout_row = session.exec(
        select(
            *[count_if(_in(col(Walkabout.scheduled_start), b)) for b in buckets],
            *[count_if(sa.and_(held, _in(col(Walkabout.scheduled_start), b))) for b in buckets],
            *[count_if(sa.and_(held, fed_back(), _in(col(Walkabout.scheduled_start), b))) for b in buckets],
        ).where(Walkabout.scheduled_start >= start, Walkabout.scheduled_start < end)
    ).one()
    n = len(buckets)
    planned, held_counts, feedback = (list(map(int, walkabout_row[i * n : (i + 1) * n])) for i in range(3))

    score = col(Concern.risk_score)
    concern_columns = []
    for low, high in ((0, 6), (7, 12), (13, 25)):
        concern_columns += [
            count_if(sa.and_(score >= low, score <= high, _in(col(Concern.created_at), b))) for b in buckets
        ]
    concern_row = session.exec(
        select(*concern_columns).where(
            Concern.created_at >= start,
            Concern.created_at < end,
            col(Concern.deleted_at).is_(None),
            Concern.kind == ConcernKind.CONCERN,
        )
    ).one()
    low_moderate, high_band, extreme = (list(map(int, concern_row[i * n : (i + 1) * n])) for i in range(3))

    closed_at = sa.func.coalesce(Action.verified_at, Action.completed_at)
    closed = sa.and_(col(Action.status).in_(CLOSED), closed_at >= sa.literal(start))
    action_row = session.exec(
        select(
            *[count_if(_in(col(Action.created_at), b)) for b in buckets],
            *[count_if(sa.and_(closed, _in(closed_at, b))) for b in buckets],
            *[count_if(overdue_condition(cutoff(b), overdue_day(b))) for b in buckets],
        ).where(col(Action.deleted_at).is_(None), Action.created_at < end)
    ).one()
    opened, closed_counts, overdue = (list(map(int, action_row[i * n : (i + 1) * n])) for i in range(3))
    return {
        "labels": [bucket_label(b) for b in buckets],
        "planned": planned,
        "held": held_counts,
        "feedback_share": [
            round(100 * f / h) if h else None for f, h in zip(feedback, held_counts, strict=False)
        ],
        "concerns_low_moderate": low_moderate,
        "concerns_high": high_band,
        "concerns_extreme": extreme,
        "actions_opened": opened,
        "actions_closed": closed_counts,
        "actions_overdue": overdue,
    }
