"""The board pack's "at month end" figures read from the status history, for the cases the
fast paths (trends.overdue_counts, details.open_high_risks) leave out or keep: an action closed
before the twelve months and reopened inside them, one closed without a history, one reopened
after them, one whose history disagrees with its status, and concerns settled before the moment."""

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from walkabout.db import session_scope
from walkabout.models import Action, ActionStatus, Concern, ConcernStatus, Role
from walkabout.periods import Period, add_months, month_buckets
from walkabout.reports import details, figures, trends
from walkabout.services import status_history

from .report_data import ZONE, local


def _history(app, entity_type: str, ident: int, *moves) -> None:
    with app.app_context(), session_scope(app) as session:
        for from_status, to_status, at in moves:
            status_history.record(session, entity_type, ident, from_status, to_status, at=at)


def _by_definition(session, buckets: list[Period]) -> list[int]:
    """Each bucket's overdue count straight from figures.overdue_condition (one probe per action)."""
    return [
        session.exec(
            select(sa.func.count())
            .select_from(Action)
            .where(figures.overdue_condition(figures.cutoff(b), figures.overdue_day(b)))
        ).one()
        for b in buckets
    ]


def test_actions_overdue_at_each_month_end_follow_the_history_before_during_and_after(app, factory):
    today = factory.today()
    last_month = Period(add_months(today, -1), add_months(today, 0), ZONE)
    buckets = month_buckets(last_month)

    def month(i: int, day: int = 10):
        """A moment on `day` of bucket `i` (negative: before the twelve months; 12: this month)."""
        return local(add_months(today, i - 12).replace(day=day))

    owner = factory.user(Role.WARD_MANAGER)
    concern = factory.concern(factory.walkabout(factory.ward(), factory.user(Role.EXECUTIVE)))
    long_ago, due_long_ago = month(-8), month(-8).date() + timedelta(days=7)

    def action(status=ActionStatus.OPEN, created=long_ago, due=due_long_ago, **fields) -> int:
        return factory.action(concern, owner, due=due, status=status, created_at=created, **fields).id

    # Closed a year and a half ago, reopened in the sixth month: overdue from then on.
    reopened_inside = action(ActionStatus.REOPENED)
    _history(
        app,
        "action",
        reopened_inside,
        (None, "open", long_ago),
        ("open", "completed", month(-6)),
        ("completed", "reopened", month(5, 12)),
    )
    # Completed before the twelve months and kept no history: never overdue in them.
    action(ActionStatus.VERIFIED, completed_at=month(-6), verified_at=month(-5))
    # Reopened this month, after the last month end: closed at every month end.
    reopened_after = action(ActionStatus.REOPENED)
    _history(
        app,
        "action",
        reopened_after,
        (None, "open", long_ago),
        ("open", "completed", month(-6)),
        ("completed", "reopened", min(month(12, 1) + timedelta(hours=1), local(today, 0))),
    )
    # No history, completed in the fourth month: overdue in the first three.
    action(ActionStatus.COMPLETED, completed_at=month(3, 20))
    # No history and still open: overdue in all twelve.
    action()
    # Completed without a trace: its history stops at "in progress", so it counts as open.
    untraced = action(ActionStatus.COMPLETED, completed_at=month(-6))
    _history(app, "action", untraced, (None, "open", long_ago), ("open", "in_progress", month(-7)))
    # Its only recorded move is this month's: open at every month end before it.
    late_history = action(ActionStatus.COMPLETED, completed_at=month(-6))
    _history(app, "action", late_history, ("open", "completed", local(today, 0)))
    # Made in the eighth month, due three days later, open: overdue from the eighth month end.
    action(created=month(7, 5), due=month(7, 8).date())
    # Deleted: never counted.
    action(deleted_at=month(2))

    with app.app_context(), session_scope(app, write=False) as session:
        series = trends.series(session, buckets)["actions_overdue"]
        expected = [
            3 + (i < 3) + (i >= 5) + (i >= 7)  # open, untraced, late history; and the three above
            for i in range(12)
        ]
        assert series == expected == _by_definition(session, buckets)
        # The month's headline and its list by ward and owner say the same as the chart.
        assert figures.headline(session, last_month)["actions"]["overdue"] == series[-1]
        rows, _groups = details.overdue_by_ward_and_owner(session, last_month)
        assert sum(row["count"] for row in rows) == series[-1]
        assert trends.overdue_counts(session, []) == []


def test_open_high_risks_leave_out_only_what_the_history_settles_before_the_moment(app, factory):
    today = factory.today()
    last_month = Period(add_months(today, -1), add_months(today, 0), ZONE)
    moment = last_month.end_utc
    visit = factory.walkabout(factory.ward(), factory.user(Role.EXECUTIVE))
    made = moment - timedelta(days=40)

    def risk(text: str, status=ConcernStatus.OPEN, *moves) -> int:
        ident = factory.concern(visit, text, 4, 4, status=status, created_at=made).id
        _history(app, "concern", ident, *moves)
        return ident

    risk(
        "Resolved before the month end",
        ConcernStatus.RESOLVED,
        ("open", "resolved", moment - timedelta(days=3)),
    )
    risk(
        "Resolved after the month end",
        ConcernStatus.RESOLVED,
        ("open", "resolved", moment + timedelta(hours=1)),
    )
    risk(
        "Reopened after the month end",
        ConcernStatus.OPEN,
        ("open", "resolved", moment - timedelta(days=3)),
        ("resolved", "open", moment + timedelta(hours=1)),
    )
    risk("Open throughout")
    risk(
        "Resolved, reopened and resolved again before the end",
        ConcernStatus.RESOLVED,
        ("open", "resolved", moment - timedelta(days=9)),
        ("resolved", "open", moment - timedelta(days=6)),
        ("open", "resolved", moment - timedelta(days=3)),
    )
    with app.app_context(), session_scope(app, write=False) as session:
        risks, total, available = details.open_high_risks(session, last_month)
    assert available
    assert sorted(r["text"] for r in risks) == ["Open throughout", "Resolved after the month end"]
    assert total == 2

    # Resolved without a trace (history says open at the end, the record says resolved): the
    # figure is not available, and the list shows the concerns open now.
    untraced = risk("Resolved without a trace", ConcernStatus.NO_ACTION_NEEDED, ("resolved", "open", made))
    with app.app_context(), session_scope(app) as session:
        session.get(Concern, untraced).updated_at = moment + timedelta(days=1)
    with app.app_context(), session_scope(app, write=False) as session:
        risks, total, available = details.open_high_risks(session, last_month)
    assert not available
    assert sorted(r["text"] for r in risks) == ["Open throughout", "Reopened after the month end"]
