"""Ward coverage figures, ICS output parsed back with icalendar, and the rota helper."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import selectinload
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import Role, User, Walkabout, WalkaboutStatus, Ward
from walkabout.services import ServiceError
from walkabout.services.calendar import build_calendar, walkabout_uid
from walkabout.services.coverage import ward_coverage
from walkabout.services.rota import RotaRequest, accept_rota, propose_rota

from .conftest import login
from .mailcheck import parse_calendar

LONDON = ZoneInfo("Europe/London")


def test_coverage_figures_on_seeded_data(app, factory):
    executive = factory.user(Role.EXECUTIVE)
    site = factory.site("North Site")
    recent = factory.ward(site, "Recent Ward")
    stale = factory.ward(site, "Stale Ward")
    factory.ward(factory.site("South Site"), "Never Ward")
    closed = factory.ward(site, "Closed Ward")
    # Noon in London: "N days ago" is N calendar days whatever the hour and the clock change.
    today = utcnow().astimezone(LONDON).date()
    now = datetime.combine(today, time(12), LONDON).astimezone(UTC)
    for days in (10, 100, 200, 400):
        factory.walkabout(
            recent, executive, start=now - timedelta(days=days), status=WalkaboutStatus.COMPLETED
        )
    factory.walkabout(recent, executive, start=now - timedelta(days=5), status=WalkaboutStatus.CANCELLED)
    factory.walkabout(stale, executive, start=now - timedelta(days=120), status=WalkaboutStatus.COMPLETED)
    next_visit = factory.walkabout(stale, executive, start=now + timedelta(days=3))
    factory.walkabout(stale, executive, start=now + timedelta(days=30))
    with app.app_context(), session_scope(app) as session:
        session.get(Ward, closed.id).active = False
    with app.test_request_context(), session_scope(app) as session:
        user = session.exec(
            select(User).where(User.id == executive.id).options(selectinload(User.role_rows))
        ).one()
        rows = {row.ward.name: row for row in ward_coverage(session, user, today, 90)}
        assert set(rows) == {"Recent Ward", "Stale Ward", "Never Ward"}  # deactivated wards left out
        assert (rows["Recent Ward"].days_since, rows["Recent Ward"].visits_12_months) == (10, 3)
        assert not rows["Recent Ward"].neglected and rows["Recent Ward"].next_visit is None
        assert rows["Stale Ward"].days_since == 120 and rows["Stale Ward"].neglected
        assert rows["Stale Ward"].next_visit == next_visit.scheduled_start
        assert rows["Never Ward"].last_visit is None and rows["Never Ward"].neglected
        by_days = [row.ward.name for row in ward_coverage(session, user, today, 90, sort="days")]
        assert by_days == ["Never Ward", "Stale Ward", "Recent Ward"]
        assert [
            r.ward.name for r in ward_coverage(session, user, today, 150, site_id=site.id, sort="ward")
        ] == ["Recent Ward", "Stale Ward"]
        assert not any(r.neglected for r in ward_coverage(session, user, today, 150, site_id=site.id))


def test_coverage_page_highlights_and_filters(client, factory, count_queries):
    executive = factory.user(Role.EXECUTIVE)
    site = factory.site("North Site")
    factory.ward(site, "Never Ward")
    login(client, executive.email)
    with count_queries() as few:
        body = client.get("/coverage").get_data(as_text=True)
    assert "Never visited" in body and "is-neglected" in body
    assert "/walkabouts/new?ward=" in body  # schedule a neglected ward from here
    for i in range(5):
        ward = factory.ward(site, f"Extra {i}")
        factory.walkabout(
            ward, executive, start=utcnow() - timedelta(days=i + 1), status=WalkaboutStatus.COMPLETED
        )
    with count_queries() as many:
        body = client.get(f"/coverage?site={site.id}&sort=count&days=30").get_data(as_text=True)
    assert many() == few()
    assert "1 not visited in 30 days" in body.replace("<strong>", "").replace("</strong>", "").replace(
        '<strong class="overdue">', ""
    )
    fragment = client.get("/coverage?sort=nonsense&days=abc", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)


def _loaded(session, walkabout_id):
    return session.exec(
        select(Walkabout)
        .where(Walkabout.id == walkabout_id)
        .options(
            selectinload(Walkabout.ward).selectinload(Ward.site),
            selectinload(Walkabout.lead),
            selectinload(Walkabout.attendees),
        )
    ).one()


def test_ics_parses_back_with_attendees_location_alarm_and_cancellation(app, factory):
    lead = factory.user(Role.EXECUTIVE, name="Sarah Lead", email="sarah@example.org")
    guest = factory.user(Role.WARD_MANAGER, name="Wendy Manager", email="wendy@example.org")
    ward = factory.ward(factory.site("Riverside"), "Beech Ward")
    start = utcnow().replace(microsecond=0) + timedelta(days=4)
    walkabout = factory.walkabout(ward, lead, start=start, focus="Falls; and, commas", duration_minutes=45)
    with app.app_context(), session_scope(app) as session:
        row = _loaded(session, walkabout.id)
        row.attendees = [session.get(User, guest.id)]
        session.flush()
        data = build_calendar([row], "Test")
        calendar, other = parse_calendar(data)  # icalendar and vobject
        assert other.vevent.location.value == "Beech Ward, Riverside"
        event = calendar.walk("VEVENT")[0]
        assert str(event["uid"]) == walkabout_uid(row) == f"walkabout-{row.id}@localhost"
        assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(minutes=45)
        assert str(event["location"]) == "Beech Ward, Riverside"
        assert str(event["status"]) == "CONFIRMED" and int(event["sequence"]) == 0
        assert "Falls; and, commas" in str(event["description"])
        attendees = sorted(str(a) for a in event["attendee"])
        assert attendees == ["mailto:sarah@example.org", "mailto:wendy@example.org"]
        assert str(event["organizer"]) == "mailto:walkabout@localhost"  # the configured mailbox
        assert str(event["url"]) == f"{app.config['BASE_URL']}/walkabouts/{row.id}"
        assert not event.walk("VALARM")  # alarms only for people who chose them

        row.status, row.calendar_sequence, row.cancel_reason = WalkaboutStatus.CANCELLED, 2, "Incident"
        event = parse_calendar(build_calendar([row], "Test"))[0].walk("VEVENT")[0]
        assert str(event["status"]) == "CANCELLED" and int(event["sequence"]) == 2
        assert str(event["uid"]) == f"walkabout-{row.id}@localhost"  # same event, replaced in calendars


def _rota_request(today: date, **overrides):
    values = dict(
        first_day=today + timedelta(days=1), visits_per_ward=4, at=time(14), weekdays=[0, 1, 2, 3, 4]
    )
    values.update(overrides)
    return RotaRequest(**values)


def test_rota_visits_every_ward_n_times_spread_across_executives(app, factory):
    leads = [factory.user(Role.EXECUTIVE, name=f"Exec {i}") for i in range(3)]
    wards = [factory.ward(name=f"Ward {i}") for i in range(6)]
    factory.walkabout(wards[0], leads[0], start=utcnow() + timedelta(days=1))  # worked around
    with app.app_context(), session_scope(app) as session:
        today = factory.today()
        slots = propose_rota(session, _rota_request(today), today)
        assert len(slots) == 24
        per_ward = {ward.id: 0 for ward in wards}
        for slot in slots:
            per_ward[slot.ward.id] += 1
            assert slot.start.astimezone(LONDON).weekday() < 5
        assert set(per_ward.values()) == {4}
        loads = {lead.id: sum(1 for s in slots if s.lead.id == lead.id) for lead in leads}
        assert max(loads.values()) - min(loads.values()) <= 1
        days_by_lead = [(s.lead.id, s.start.date()) for s in slots]
        assert len(days_by_lead) == len(set(days_by_lead))  # nobody leads two on one day
        actor = session.get(User, leads[0].id)
        created = accept_rota(session, actor, _rota_request(today), today)
        assert len(created) == 24
    with app.app_context(), session_scope(app) as session:
        assert session.exec(select(func.count()).select_from(Walkabout)).one() == 25


def test_rota_refuses_bad_requests(app, factory):
    factory.user(Role.EXECUTIVE)
    factory.ward()
    with app.app_context(), session_scope(app) as session:
        today = factory.today()
        for request, message in [
            (_rota_request(today, first_day=today - timedelta(days=1)), "past"),
            (_rota_request(today, weekdays=[]), "day of the week"),
            (_rota_request(today, visits_per_ward=0), "between 1 and 52"),
            (_rota_request(today, executive_ids=[999999]), "does not exist"),
        ]:
            with pytest.raises(ServiceError, match=message):
                propose_rota(session, request, today)


def test_feed_holds_the_users_walkabouts_from_a_year_ago_on(app, factory):
    lead = factory.user(Role.EXECUTIVE)
    attendee = factory.user(Role.EXECUTIVE)
    manager = factory.user(Role.WARD_MANAGER)
    stranger = factory.user(Role.EXECUTIVE)
    ward = factory.ward(managers=(manager,))
    recent = factory.walkabout(
        ward, lead, start=utcnow() - timedelta(days=30), status=WalkaboutStatus.COMPLETED
    )
    factory.walkabout(ward, lead, start=utcnow() - timedelta(days=400), status=WalkaboutStatus.COMPLETED)
    upcoming = factory.walkabout(ward, lead, status=WalkaboutStatus.CANCELLED)
    from walkabout.services.calendar import feed_walkabouts

    with app.app_context(), session_scope(app) as session:
        session.get(Walkabout, upcoming.id).attendees = [session.get(User, attendee.id)]
    with app.app_context(), session_scope(app) as session:
        ids = {
            name: [w.id for w in feed_walkabouts(session, session.get(User, person.id))]
            for name, person in (
                ("lead", lead),
                ("attendee", attendee),
                ("manager", manager),
                ("stranger", stranger),
            )
        }
    assert ids == {
        "lead": [recent.id, upcoming.id],
        "attendee": [upcoming.id],
        "manager": [recent.id, upcoming.id],
        "stranger": [],
    }
