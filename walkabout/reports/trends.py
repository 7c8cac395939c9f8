"""Series over time buckets: one SQL aggregate per table (a CASE column per bucket), and for
the actions overdue at each bucket's end a second statement, counted here (see `overdue_counts`)."""

from bisect import bisect_right
from datetime import date, datetime
from functools import lru_cache
from itertools import groupby
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ..models import Action, Concern, ConcernKind, StatusChange, Walkabout, WalkaboutStatus
from ..periods import Period, bucket_label
from ..services.status_history import ACTION
from .figures import (
    CLOSED,
    CLOSED_VALUES,
    closed_without_history,
    count_if,
    cutoff,
    fed_back,
    history_exists,
    last_change_before,
    overdue_day,
)


def series(session: Session, buckets: list[Period]) -> dict:
    """Labels and per-bucket counts: walkabouts, concerns by band, actions opened/closed/overdue."""
    n = len(buckets)
    bounds = {f"start_{i}": b.start_utc for i, b in enumerate(buckets)}
    bounds |= {f"end_{i}": b.end_utc for i, b in enumerate(buckets)}
    walkabouts, concerns, actions = _statements(n)
    walkabout_row = session.exec(walkabouts, params=bounds).one()
    planned, held_counts, feedback = (list(map(int, walkabout_row[i * n : (i + 1) * n])) for i in range(3))
    concern_row = session.exec(concerns, params=bounds).one()
    low_moderate, high_band, extreme = (list(map(int, concern_row[i * n : (i + 1) * n])) for i in range(3))
    action_row = session.exec(actions, params=bounds).one()
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


@lru_cache(maxsize=32)
def _statements(n: int) -> tuple[sa.Select, sa.Select, sa.Select]:
    """The walkabout, concern and action aggregates for `n` buckets, built once per `n` (building
    a hundred CASE columns costs more than running them); bounds are start_i and end_i."""
    starts = [sa.bindparam(f"start_{i}") for i in range(n)]
    ends = [sa.bindparam(f"end_{i}") for i in range(n)]
    start, end = starts[0], ends[-1]

    def within(column, i: int):
        return sa.and_(column.is_not(None), column >= starts[i], column < ends[i])

    held = col(Walkabout.status) == WalkaboutStatus.COMPLETED
    scheduled = col(Walkabout.scheduled_start)
    walkabouts = select(
        *[count_if(within(scheduled, i)) for i in range(n)],
        *[count_if(sa.and_(held, within(scheduled, i))) for i in range(n)],
        *[count_if(sa.and_(held, fed_back(), within(scheduled, i))) for i in range(n)],
    ).where(scheduled >= start, scheduled < end)

    score, made = col(Concern.risk_score), col(Concern.created_at)
    concerns = select(
        *[
            count_if(sa.and_(score >= low, score <= high, within(made, i)))
            for low, high in ((0, 6), (7, 12), (13, 25))
            for i in range(n)
        ]
    ).where(made >= start, made < end, col(Concern.deleted_at).is_(None), Concern.kind == ConcernKind.CONCERN)

    closed_at = sa.func.coalesce(Action.verified_at, Action.completed_at)
    closed = sa.and_(col(Action.status).in_(CLOSED), closed_at >= start)
    actions = select(
        *[count_if(within(col(Action.created_at), i)) for i in range(n)],
        *[count_if(sa.and_(closed, within(closed_at, i))) for i in range(n)],
    ).where(
        col(Action.deleted_at).is_(None),
        col(Action.created_at) < end,
        col(Action.id).in_(_made_or_closed_since(start)),
    )
    return walkabouts, concerns, actions


def _made_or_closed_since(start) -> sa.CompoundSelect:
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
    bounds = {f"moment_{i}": moment for i, moment in enumerate(moments)}
    bounds |= {f"day_{i}": day for i, day in enumerate(days)}
    rows = session.exec(_candidates(len(moments), len(days)), params=bounds).all()
    wanted = [(moments.index(moment), days.index(day)) for moment, day in points]
    counts = [0] * len(points)
    for _ident, group in groupby(rows, key=itemgetter(0)):
        group = list(group)
        _id, made, due, closed_rank, _change, _closes, has_history = group[0]
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


@lru_cache(maxsize=32)
def _candidates(n_moments: int, n_days: int) -> sa.Select:
    """Actions that may be overdue at one of the sorted moments moment_i (and days day_i), each
    with its status changes before the last (a row per change, in order; one row with none)."""
    moments = [sa.bindparam(f"moment_{i}") for i in range(n_moments)]
    days = [sa.bindparam(f"day_{i}") for i in range(n_days)]
    first, last = moments[0], moments[-1]
    last_change = last_change_before(
        last, sa.or_(col(StatusChange.changed_at) >= first, col(StatusChange.to_status).not_in(CLOSED_VALUES))
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
            sa.and_(moves.entity_type == ACTION, moves.entity_id == Action.id, moves.changed_at < last),
        )
        .where(
            col(Action.deleted_at).is_(None),
            Action.created_at < last,
            Action.due_date < days[-1],
            may_be_open,
        )
        .order_by(Action.id, moves.changed_at, moves.id)
    )
