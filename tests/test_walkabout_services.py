"""Walkabout services: scheduling rules, recurrence edge cases, reschedule history, cancel, series edits."""

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import (
    AuditEvent,
    Role,
    User,
    Walkabout,
    WalkaboutReschedule,
    WalkaboutSeries,
    WalkaboutStatus,
)
from walkabout.services import Conflict, ServiceError
from walkabout.services.series import Recurrence, create_series, occurrences, update_series
from walkabout.services.walkabouts import (
    ClashWarning,
    WalkaboutDetails,
    cancel_walkabout,
    local_start,
    reschedule_walkabout,
    schedule_walkabout,
)

LONDON = ZoneInfo("Europe/London")
NEXT_YEAR = datetime.now(LONDON).year + 1  # in the trust's zone (the test config's)


def at_london(day: date, hour: int = 14, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def people(factory):
    lead = factory.user(Role.EXECUTIVE, name="Lead Exec")
    other = factory.user(Role.EXECUTIVE, name="Other Exec")
    ward = factory.ward(name="Beech Ward")
    return lead, other, ward


def details(ward, lead, start, **kwargs) -> WalkaboutDetails:
    return WalkaboutDetails(ward_id=ward.id, lead_id=lead.id, start=start, **kwargs)


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# --- recurrence --------------------------------------------------------------


def test_second_tuesday_each_month_at_1400_local_across_clock_changes(app):
    with app.app_context():
        starts = occurrences(
            Recurrence(
                pattern="monthly_weekday",
                first_day=date(NEXT_YEAR, 1, 1),
                at=time(14),
                weekday=1,
                ordinal=2,
                count=12,
            )
        )
    local = [start.astimezone(LONDON) for start in starts]
    assert len(starts) == 12
    assert all(moment.weekday() == 1 and 8 <= moment.day <= 14 for moment in local)
    assert all(moment.hour == 14 and moment.minute == 0 for moment in local)  # wall clock kept
    january, july = starts[0], starts[6]
    assert (january.hour, july.hour) == (14, 13)  # UTC moves with British Summer Time


def test_weekly_series_over_the_spring_clock_change(app):
    with app.app_context():
        starts = occurrences(
            Recurrence(
                pattern="weekly",
                first_day=date(NEXT_YEAR, 3, 15),
                at=time(9, 30),
                weekday=3,
                until=date(NEXT_YEAR, 4, 15),
            )
        )
    assert [s.astimezone(LONDON).strftime("%H:%M") for s in starts] == ["09:30"] * len(starts)
    offsets = {s.astimezone(LONDON).utcoffset() for s in starts}
    assert offsets == {timedelta(0), timedelta(hours=1)}
    assert all(s.astimezone(LONDON).weekday() == 3 for s in starts)


def test_monthly_on_the_31st_falls_on_the_last_day_of_short_months(app):
    with app.app_context():
        starts = occurrences(
            Recurrence(
                pattern="monthly_date", first_day=date(NEXT_YEAR, 1, 31), at=time(10), month_day=31, count=6
            )
        )
    days = [s.astimezone(LONDON).date() for s in starts]
    february_end = 29 if NEXT_YEAR % 4 == 0 else 28
    assert days == [
        date(NEXT_YEAR, 1, 31),
        date(NEXT_YEAR, 2, february_end),
        date(NEXT_YEAR, 3, 31),
        date(NEXT_YEAR, 4, 30),
        date(NEXT_YEAR, 5, 31),
        date(NEXT_YEAR, 6, 30),
    ]


def test_last_friday_and_every_second_week(app):
    with app.app_context():
        last_fridays = occurrences(
            Recurrence(
                pattern="monthly_weekday",
                first_day=date(NEXT_YEAR, 1, 1),
                at=time(11),
                weekday=4,
                ordinal=-1,
                count=3,
            )
        )
        fortnightly = occurrences(
            Recurrence(
                pattern="weekly", first_day=date(NEXT_YEAR, 1, 4), at=time(11), weekday=0, interval=2, count=3
            )
        )
    for start in last_fridays:
        local = start.astimezone(LONDON).date()
        assert local.weekday() == 4 and (local + timedelta(days=7)).month != local.month
    gaps = {(b - a).days for a, b in itertools.pairwise(fortnightly)}
    assert gaps == {14}


@pytest.mark.parametrize(
    "recurrence, message",
    [
        (dict(count=None, until=None), "needs an end"),
        (dict(count=401), "more than 400"),
        (dict(count=None, until=date(NEXT_YEAR + 9, 1, 1)), "more than 400"),
        (dict(count=0), "at least one"),
        (dict(count=None, until=date(NEXT_YEAR - 1, 1, 1)), "before the first date"),
        (dict(count=3, weekday=None), "day of the week"),
    ],
)
def test_series_refuses_no_end_too_many_or_nonsense(app, recurrence, message):
    values = dict(pattern="weekly", first_day=date(NEXT_YEAR, 1, 1), at=time(14), weekday=2)
    values.update(recurrence)
    with app.app_context(), pytest.raises(ServiceError, match=message):
        occurrences(Recurrence(**values))


def test_a_time_skipped_by_the_clocks_is_refused_for_one_walkabout(app):
    spring = max(date(NEXT_YEAR, 3, day) for day in range(25, 32) if date(NEXT_YEAR, 3, day).weekday() == 6)
    with app.app_context():
        with pytest.raises(ServiceError, match="does not exist"):
            local_start(spring, time(1, 30))
        assert local_start(spring, time(14)).hour == 13


# --- scheduling ----------------------------------------------------------------


def test_schedule_validates_ward_lead_attendees_and_time(app, factory, people):
    lead, _other, ward = people
    manager = factory.user(Role.WARD_MANAGER, name="Manager Only")
    gone = factory.user(Role.EXECUTIVE, name="Gone Exec", active=False)
    closed = factory.ward(name="Closed Ward")
    with app.app_context(), session_scope(app) as session:
        from walkabout.models import Ward

        session.get(Ward, closed.id).active = False
    future = utcnow() + timedelta(days=3)
    cases = [
        (details(ward, lead, utcnow() - timedelta(days=1)), "in the past"),
        (WalkaboutDetails(ward_id=None, lead_id=lead.id, start=future), "Choose a ward"),
        (WalkaboutDetails(ward_id=999999, lead_id=lead.id, start=future), "ward does not exist"),
        (details(closed, lead, future), "deactivated"),
        (details(ward, manager, future), "not an executive"),
        (details(ward, gone, future), "no longer active"),
        (details(ward, lead, future, attendee_ids=[gone.id]), "Gone Exec is no longer active"),
        (details(ward, lead, future, attendee_ids=[999999]), "#999999 does not exist"),
        (details(ward, lead, future, duration_minutes=5), "duration"),
    ]
    with app.app_context(), session_scope(app) as session:
        actor = session.get(User, lead.id)
        for given, message in cases:
            with pytest.raises(ServiceError, match=message):
                schedule_walkabout(session, actor, given)
        assert count(session, Walkabout) == 0


def test_schedule_records_team_and_audit(app, people, factory):
    lead, other, ward = people
    start = utcnow() + timedelta(days=2)
    with app.app_context(), session_scope(app) as session:
        walkabout = schedule_walkabout(
            session,
            session.get(User, lead.id),
            details(ward, lead, start, attendee_ids=[other.id, lead.id], guests="Patient rep", focus="Falls"),
        )
        session.flush()
        assert [user.id for user in walkabout.attendees] == [other.id]  # the lead is not listed twice
        event = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "walkabout")).one()
        assert event.verb == "scheduled" and event.changes["attendee_ids"] == [other.id]


def test_clashes_warn_unless_confirmed(app, people, factory):
    lead, other, ward = people
    second_ward = factory.ward(name="Cedar Ward")
    start = at_london(factory.today() + timedelta(days=10), 14)
    factory.walkabout(ward, lead, start=start)
    with app.app_context(), session_scope(app) as session:
        actor = session.get(User, lead.id)
        with pytest.raises(ClashWarning) as same_lead:
            schedule_walkabout(session, actor, details(second_ward, lead, start + timedelta(minutes=30)))
        assert "lead is already on a walkabout" in same_lead.value.clashes[0]
        with pytest.raises(ClashWarning) as same_ward:
            schedule_walkabout(session, actor, details(ward, other, start + timedelta(hours=4)))
        assert "Beech Ward already has a walkabout" in same_ward.value.clashes[0]
        # Not a clash: another ward two hours later.
        schedule_walkabout(session, actor, details(second_ward, lead, start + timedelta(hours=2)))
        schedule_walkabout(
            session, actor, details(ward, other, start + timedelta(hours=4)), confirm_clashes=True
        )
        assert count(session, Walkabout) == 3


def test_series_is_all_or_nothing_and_checks_every_clash_at_once(app, people, factory, count_queries):
    lead, other, ward = people
    recurrence = Recurrence(
        pattern="weekly",
        first_day=factory.today() + timedelta(days=1),
        at=time(14),
        weekday=(factory.today() + timedelta(days=8)).weekday(),
        count=20,
    )
    with app.app_context():
        eighth = occurrences(recurrence)[7]
    factory.walkabout(ward, other, start=eighth)
    with app.app_context(), session_scope(app) as session:
        with pytest.raises(ClashWarning):
            create_series(session, session.get(User, lead.id), details(ward, lead, eighth), recurrence)
        assert count(session, WalkaboutSeries) == 0 and count(session, Walkabout) == 1
    with app.app_context(), session_scope(app) as session:
        with count_queries() as counted:
            series, made = create_series(
                session,
                session.get(User, lead.id),
                details(ward, lead, eighth),
                recurrence,
                confirm_clashes=True,
            )
            session.flush()
        assert len(made) == 20 and all(one.series_id == series.id for one in made)
        assert series.rule.startswith("FREQ=WEEKLY") and "COUNT=20" in series.rule
    assert counted() < 80  # bulk insert, no per-occurrence lookups


def test_reschedule_keeps_history_and_bumps_sequence_and_version(app, people, factory):
    lead, other, ward = people
    old_start = utcnow() + timedelta(days=5)
    walkabout = factory.walkabout(ward, lead, start=old_start)
    new_start = old_start + timedelta(days=1)
    with app.app_context(), session_scope(app) as session:
        row = session.get(Walkabout, walkabout.id)
        actor = session.get(User, other.id)
        with pytest.raises(ServiceError, match="reason"):
            reschedule_walkabout(session, actor, row, details(ward, lead, new_start), expected_version=1)
        reschedule_walkabout(
            session,
            actor,
            row,
            details(ward, lead, new_start, focus="Night staffing"),
            expected_version=1,
            reason="Board meeting moved",
        )
    with app.app_context(), session_scope(app) as session:
        row = session.get(Walkabout, walkabout.id)
        assert (row.version, row.calendar_sequence, row.focus) == (2, 1, "Night staffing")
        entry = session.exec(select(WalkaboutReschedule)).one()
        assert (entry.from_start, entry.to_start, entry.reason, entry.by_id) == (
            row.scheduled_start - timedelta(days=1),
            new_start,
            "Board meeting moved",
            other.id,
        )
        with pytest.raises(Conflict, match="changed by someone else"):
            reschedule_walkabout(
                session, session.get(User, lead.id), row, details(ward, lead, new_start), expected_version=1
            )


def test_cancel_needs_a_reason_and_only_planned_walkabouts_change(app, people, factory):
    lead, _other, ward = people
    walkabout = factory.walkabout(ward, lead)
    done = factory.walkabout(ward, lead, start=utcnow() - timedelta(days=3), status=WalkaboutStatus.COMPLETED)
    with app.app_context(), session_scope(app) as session:
        actor = session.get(User, lead.id)
        row = session.get(Walkabout, walkabout.id)
        with pytest.raises(ServiceError, match="reason"):
            cancel_walkabout(session, actor, row, reason="  ", expected_version=1)
        cancel_walkabout(session, actor, row, reason="Major incident declared", expected_version=1)
        assert row.status == WalkaboutStatus.CANCELLED and row.calendar_sequence == 1
        with pytest.raises(ServiceError, match="changed by someone else"):
            cancel_walkabout(session, actor, row, reason="Again", expected_version=1)
        with pytest.raises(ServiceError, match="Only planned"):
            cancel_walkabout(session, actor, session.get(Walkabout, done.id), reason="x", expected_version=1)


def test_series_edit_changes_future_occurrences_only(app, people, factory):
    lead, other, ward = people
    recurrence = Recurrence(
        pattern="monthly_date",
        first_day=factory.today() + timedelta(days=1),
        at=time(14),
        month_day=(factory.today() + timedelta(days=1)).day,
        count=4,
    )
    with app.app_context(), session_scope(app) as session:
        series, made = create_series(
            session, session.get(User, lead.id), details(ward, lead, utcnow()), recurrence
        )
        session.flush()
        series_id, ids = series.id, [one.id for one in made]
        # One already held (moved into the past by the test), one edited on its own.
        made[0].scheduled_start = utcnow() - timedelta(days=1)
        made[0].status = WalkaboutStatus.COMPLETED
    with app.app_context(), session_scope(app) as session:
        series = session.get(WalkaboutSeries, series_id)
        with pytest.raises(ServiceError, match="reason"):
            update_series(
                session,
                session.get(User, lead.id),
                series,
                lead_id=other.id,
                at=time(9),
                duration_minutes=90,
                focus="Medicines",
                reason=None,
                expected_version=1,
            )
        changed = update_series(
            session,
            session.get(User, lead.id),
            series,
            lead_id=other.id,
            at=time(9),
            duration_minutes=90,
            focus="Medicines",
            reason="New rota",
            expected_version=1,
        )
        assert changed == 3 and series.version == 2
        with pytest.raises(Conflict, match="changed by someone else"):
            update_series(
                session,
                session.get(User, lead.id),
                series,
                lead_id=lead.id,
                at=time(10),
                duration_minutes=60,
                focus=None,
                reason="Stale form",
                expected_version=1,
            )
    with app.app_context(), session_scope(app) as session:
        rows = [session.get(Walkabout, i) for i in ids]
        assert rows[0].lead_id == lead.id and rows[0].duration_minutes == 60
        for row in rows[1:]:
            local = row.scheduled_start.astimezone(LONDON)
            assert (row.lead_id, local.hour, row.duration_minutes, row.focus) == (
                other.id,
                9,
                90,
                "Medicines",
            )
            assert row.calendar_sequence == 1
        assert count(session, WalkaboutReschedule) == 3
