"""Series over time buckets: one SQL aggregate per table (a CASE column per bucket), and for
the actions overdue at each bucket's end a second statement, counted here (see `overdue_counts`)."""

from bisect import bisect_right
from datetime import date, datetime
from itertools import groupby
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ..models import Action, Concern, ConcernKind, StatusChange, Walkabout, WalkaboutStatus
from ..periods import Period, bucket_label
from .figures import (
    CLOSED,
    CLOSED_VALUES,
    closed_without_history,
    count_if,
    cutoff,
    fed_back,
    history_exists,
    overdue_day,
)


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
        ).where(
            col(Action.deleted_at).is_(None),
            Action.created_at < end,
            col(Action.id).in_(_made_or_closed_since(start)),
        )
    ).one()
    opened, closed_counts = (list(map(int, action_row[i * n : (i + 1) * n])) for i in range(2))
    overdue = overdue_counts(session, [(cutoff(b), overdue_day(b)) for b in buckets])
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


def _made_or_closed_since(start: datetime) -> sa.CompoundSelect:
    """Actions made, completed or verified since `start`: three index ranges (an OR of the three
    reads every action made before the window's end instead)."""
    since = aliased(Action)
    return sa.union(
        *(
            select(since.id).where(column >= start)
            for column in (since.created_at, since.completed_at, since.verified_at)
        )
    )


def _rank(column, edges: list) -> sa.ColumnElement:
    """How many of the sorted `edges` are at or before `column` (None for NULL), so that
    column < edges[j] exactly when the rank is at most j: dates compared by the database."""
    return sa.case(
        (column.is_(None), None),
        *[(column < edge, index) for index, edge in enumerate(edges)],
        else_=len(edges),
    )


def overdue_counts(session: Session, points: list[tuple[datetime, date]]) -> list[int]:
    """How many actions were overdue at each (moment, local day), by figures.overdue_condition.

    One statement, whatever the number of points: an action closed just before the first moment
    (by its last status change before the last moment, or, with no history, completed before
    the first moment) stays closed at every point and is left out by one index probe. The rest
    come with their status changes, each time as its rank among the moments, and are counted here.
    """
    if not points:
        return []
    moments = sorted({moment for moment, _day in points})
    days = sorted({day for _moment, day in points})
    rows = session.exec(_candidates(moments, days)).all()
    wanted = [(moments.index(moment), days.index(day)) for moment, day in points]
    counts = [0] * len(points)
    for _ident, group in groupby(rows, key=itemgetter(0)):
        group = list(group)
        _id, made, due, closed_rank, _rank, _closed, has_history = group[0]
        # the ranks of its changes before the last moment, in order, and whether each closed it
        ranks = [row[4] for row in group if row[4] is not None]
        closed = [row[5] for row in group if row[4] is not None]
        for index, (j, k) in enumerate(wanted):  # x < moments[j] exactly when rank(x) <= j
            if made > j or due > k:
                continue
            if has_history:
                before = bisect_right(ranks, j)  # its changes before moments[j]
                closed_then = before > 0 and closed[before - 1]
            else:
                closed_then = closed_rank is not None and closed_rank <= j
            if not closed_then:
                counts[index] += 1
    return counts


def _candidates(moments: list[datetime], days: list[date]) -> sa.Select:
    """Actions that may be overdue at one of the moments, each with its status changes before the
    last (one row per change, in order; one row with no change)."""
    first, last = moments[0], moments[-1]
    last_change = (
        select(
            sa.or_(col(StatusChange.changed_at) >= first, col(StatusChange.to_status).not_in(CLOSED_VALUES))
        )
        .where(
            StatusChange.entity_type == "action",
            StatusChange.entity_id == Action.id,
            StatusChange.changed_at < last,
        )
        .order_by(col(StatusChange.changed_at).desc(), col(StatusChange.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    # no change before the last moment: with a history (all of it later) it is open throughout
    may_be_open = sa.func.coalesce(
        last_change, sa.not_(sa.and_(sa.not_(history_exists()), closed_without_history(first)))
    )
    moves = aliased(StatusChange)  # the changes listed; the probes above read status_change itself
    return (
        select(
            Action.id,
            _rank(col(Action.created_at), moments),
            _rank(col(Action.due_date), days),
            sa.case((col(Action.status).in_(CLOSED), _rank(col(Action.completed_at), moments)), else_=None),
            _rank(col(moves.changed_at), moments),
            col(moves.to_status).in_(CLOSED_VALUES),
            sa.case((col(moves.id).is_(None), history_exists()), else_=True),
        )
        .select_from(Action)
        .outerjoin(
            moves,
            sa.and_(moves.entity_type == "action", moves.entity_id == Action.id, moves.changed_at < last),
        )
        .where(
            col(Action.deleted_at).is_(None),
            Action.created_at < last,
            Action.due_date < days[-1],
            may_be_open,
        )
        .order_by(Action.id, moves.changed_at, moves.id)
    )
