"""Headline figures for a period, each from one SQL aggregate.

Definitions (also printed in the board pack):
- planned: walkabouts scheduled in the period, whatever happened to them;
  held: those completed; cancelled: those cancelled; rescheduled: those moved at least once.
- wards covered: wards with a walkabout held in the period; not visited: active
  wards with no walkabout held in the 90 days before the period's end.
- concerns: logged in the period (good practice counted apart), by category and risk band.
- actions opened / completed / verified: created / completed / verified in the period;
  overdue: at the period's end (or now, for a period not yet over), not completed
  then (by the status history, where the action has one) and due before that day.
- median days to close: from an action's creation to its verification (or its
  completion when it was closed without verification), for actions closed in the period.
- feedback: share of walkabouts held in the period whose staff were told what happened.
"""

from datetime import datetime, timedelta
from statistics import median

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ..db_types import utcnow
from ..models import (
    Action,
    ActionStatus,
    Category,
    Concern,
    ConcernKind,
    FeedbackDelivery,
    Site,
    StatusChange,
    Walkabout,
    WalkaboutReschedule,
    WalkaboutStatus,
    Ward,
)
from ..periods import Period
from ..rules import RISK_BANDS
from ..services.status_history import ACTION

BANDS = [band for _top, band in RISK_BANDS]
CLOSED = (ActionStatus.COMPLETED, ActionStatus.VERIFIED)
CLOSED_VALUES = tuple(status.value for status in CLOSED)
NOT_CLOSED = tuple(status for status in ActionStatus if status not in CLOSED)
NOT_VISITED_DAYS = 90


def count_if(condition) -> sa.ColumnElement:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def band_case(score_column) -> sa.ColumnElement:
    """The NHS 5x5 risk band of a score, in SQL (the same bands as models.risk_band)."""
    *lower, (_top, highest) = RISK_BANDS
    return sa.case(
        *[(score_column <= top, band) for top, band in lower],
        (score_column.is_not(None), highest),
        else_=None,
    )


def cutoff(period: Period) -> datetime:
    """The moment a period's "still open" figures are taken: its end, or now if sooner."""
    return min(period.end_utc, utcnow())


def history_exists() -> sa.ColumnElement:
    """The action has a status history (kept by the services; rebuilt for older actions)."""
    return sa.exists().where(StatusChange.entity_type == ACTION, StatusChange.entity_id == Action.id)


def last_change_before(moment, value) -> sa.ScalarSelect:
    """`value` (an expression of a StatusChange) of the action's last status change before `moment`."""
    return (
        select(value)
        .where(
            StatusChange.entity_type == ACTION,
            StatusChange.entity_id == Action.id,
            StatusChange.changed_at < moment,
        )
        .order_by(col(StatusChange.changed_at).desc(), col(StatusChange.id).desc())
        .limit(1)
        .scalar_subquery()
    )


def closed_without_history(moment: datetime) -> sa.ColumnElement:
    """For an action without a status history: closed, and completed before `moment`."""
    return sa.and_(
        col(Action.status).in_(CLOSED),
        col(Action.completed_at).is_not(None),
        col(Action.completed_at) < moment,
    )


def closed_at(moment: datetime) -> sa.ColumnElement:
    """The action was closed at `moment`: by its last status change before then (so an action
    reopened later still counts as closed then), or, with no history, by its completion time.
    One index probe per action; the history is only asked again when nothing came before `moment`."""
    return sa.func.coalesce(
        last_change_before(moment, col(StatusChange.to_status).in_(CLOSED_VALUES)),
        sa.and_(sa.not_(history_exists()), closed_without_history(moment)),
    )


def overdue_condition(moment: datetime, local_day):
    """An action overdue at `moment`: created before it, due before `local_day`, not closed by then
    (from its status history, so an action reopened later still counts as closed then)."""
    return sa.and_(
        col(Action.deleted_at).is_(None),
        col(Action.created_at) < moment,
        col(Action.due_date) < local_day,
        sa.not_(closed_at(moment)),
    )


def overdue_day(period: Period):
    moment = cutoff(period)
    return moment.astimezone(period.zone).date() if moment < period.end_utc else period.end


def fed_back():
    """The walkabout has a feedback delivery: the one record of feedback given (issue 15)."""
    return sa.exists().where(FeedbackDelivery.walkabout_id == Walkabout.id)


def headline(session: Session, period: Period, overdue: int | None = None) -> dict:
    """Every headline figure of `period` as plain JSON-able values; `overdue`, when given, is the
    count of actions overdue at its end already counted by the caller (the board pack's trend)."""
    figures = {
        "period": {
            "start": period.start.isoformat(),
            "end": period.last_day.isoformat(),
            "label": period.label,
        }
    }
    figures["walkabouts"] = _walkabouts(session, period)
    figures["wards"] = _wards(session, period, figures["walkabouts"].pop("wards_covered"))
    figures["concerns"] = _concerns(session, period)
    figures["actions"] = _actions(session, period, overdue)
    figures["feedback_deliveries"] = session.exec(
        select(sa.func.count())
        .select_from(FeedbackDelivery)
        .where(
            FeedbackDelivery.delivered_at >= period.start_utc, FeedbackDelivery.delivered_at < period.end_utc
        )
    ).one()
    figures["has_data"] = bool(
        figures["walkabouts"]["planned"]
        or figures["concerns"]["raised"]
        or figures["concerns"]["good_practice"]
        or figures["actions"]["opened"]
    )
    return figures


def _walkabouts(session: Session, period: Period) -> dict:
    held = col(Walkabout.status) == WalkaboutStatus.COMPLETED
    moved = sa.exists().where(WalkaboutReschedule.walkabout_id == Walkabout.id)
    row = session.exec(
        select(
            sa.func.count(),
            count_if(held),
            count_if(col(Walkabout.status) == WalkaboutStatus.CANCELLED),
            count_if(moved),
            count_if(sa.and_(held, fed_back())),
            sa.func.count(sa.distinct(sa.case((held, Walkabout.ward_id), else_=None))),
        ).where(Walkabout.scheduled_start >= period.start_utc, Walkabout.scheduled_start < period.end_utc)
    ).one()
    planned, held_count, cancelled, rescheduled, feedback, wards_covered = (int(value) for value in row)
    return {
        "planned": planned,
        "held": held_count,
        "cancelled": cancelled,
        "rescheduled": rescheduled,
        "feedback_given": feedback,
        "feedback_share": round(100 * feedback / held_count) if held_count else None,
        "wards_covered": wards_covered,
    }


def _wards(session: Session, period: Period, covered: int) -> dict:
    since = period.end_utc - timedelta(days=NOT_VISITED_DAYS)
    visited = sa.exists().where(
        Walkabout.ward_id == Ward.id,
        Walkabout.status == WalkaboutStatus.COMPLETED,
        Walkabout.scheduled_start >= since,
        Walkabout.scheduled_start < period.end_utc,
    )
    rows = session.exec(
        select(Ward.name, Site.name)
        .join(Site, Site.id == Ward.site_id)
        .where(Ward.active.is_(True), sa.not_(visited))
        .order_by(Site.name, Ward.name)
    ).all()
    active = session.exec(select(sa.func.count()).select_from(Ward).where(Ward.active.is_(True))).one()
    return {
        "active": active,
        "covered": covered,
        "not_visited_90": len(rows),
        "not_visited": [{"ward": ward, "site": site} for ward, site in rows],
    }


def _concerns(session: Session, period: Period) -> dict:
    band = band_case(col(Concern.risk_score))
    rows = session.exec(
        select(Category.name, Concern.kind, band, sa.func.count())
        .select_from(Concern)
        .outerjoin(Category, Category.id == Concern.category_id)
        .where(
            Concern.created_at >= period.start_utc,
            Concern.created_at < period.end_utc,
            col(Concern.deleted_at).is_(None),
        )
        .group_by(Category.name, Concern.kind, band)
    ).all()
    by_category: dict[str, dict] = {}
    by_band = dict.fromkeys([*BANDS, "unscored"], 0)
    good_practice = 0
    for category, kind, band_value, number in rows:
        category = category or "Uncategorised"
        if kind == ConcernKind.GOOD_PRACTICE.value:
            good_practice += number
            continue
        entry = by_category.setdefault(category, dict.fromkeys([*BANDS, "unscored"], 0) | {"total": 0})
        entry[band_value or "unscored"] += number
        entry["total"] += number
        by_band[band_value or "unscored"] += number
    ordered = sorted(by_category.items(), key=lambda item: (-item[1]["total"], item[0]))
    return {
        "raised": sum(by_band.values()),
        "good_practice": good_practice,
        "by_band": by_band,
        "by_category": [{"name": name, **counts} for name, counts in ordered],
    }


def _actions(session: Session, period: Period, known_overdue: int | None = None) -> dict:
    """Each figure counts one index range (created, completed, verified, status and due date), so
    the cost follows the period's actions, not every action the trust ever had."""
    start, end = period.start_utc, period.end_utc
    moment = cutoff(period)
    day = overdue_day(period)
    live = col(Action.deleted_at).is_(None)

    def counted(*conditions) -> sa.ScalarSelect:
        return select(sa.func.count()).select_from(Action).where(live, *conditions).scalar_subquery()

    def within(column):
        return sa.and_(column >= start, column < end)

    # For a period not over, `moment` is now: every action was made before it.
    made_by_then = [col(Action.created_at) < moment] if moment == end else []
    still_open = [col(Action.status).in_(NOT_CLOSED), col(Action.due_date) < day, *made_by_then]
    # overdue_condition, split so each half reads an index: open now, or closed only after `moment`
    # (a closed action always has completed_at, and reopening clears it: the status is implied).
    closed_later = [
        col(Action.completed_at) >= moment,
        col(Action.due_date) < day,
        col(Action.created_at) < moment,
    ]
    if known_overdue is not None:
        overdue_counts = [sa.literal(known_overdue), sa.literal(0)]
    elif moment < period.end_utc:  # the month is not over: nothing has changed since `moment` (now)
        overdue_counts = [counted(*still_open), counted(*closed_later)]
    else:  # a past month: an action reopened since counts as it stood then, from its status history
        overdue_counts = [counted(overdue_condition(moment, day)), sa.literal(0)]
    row = session.exec(
        select(
            counted(within(col(Action.created_at))),
            counted(within(col(Action.completed_at))),
            counted(within(col(Action.verified_at))),
            *overdue_counts,
        )
    ).one()
    opened, completed, verified, overdue_open, overdue_closed_later = (int(value) for value in row)
    closed_at = sa.func.coalesce(Action.verified_at, Action.completed_at)
    days = session.exec(
        select(_days_between(session, col(Action.created_at), closed_at)).where(
            live,
            col(Action.status).in_(CLOSED),
            sa.or_(within(col(Action.verified_at)), within(col(Action.completed_at))),  # two index ranges
            closed_at >= start,
            closed_at < end,
        )
    ).all()
    days = [float(value) for value in days]
    return {
        "opened": opened,
        "completed": completed,
        "verified": verified,
        "overdue": overdue_open + overdue_closed_later,
        "closed": len(days),
        "median_days_to_close": round(median(days), 1) if days else None,
    }


def _days_between(session: Session, start, end) -> sa.ColumnElement:
    """Days from `start` to `end`, computed by the database (no datetimes to convert per row)."""
    if session.get_bind().dialect.name == "sqlite":
        return sa.func.julianday(end) - sa.func.julianday(start)
    return sa.extract("epoch", end - start) / 86400
